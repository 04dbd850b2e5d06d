//! `Federation.ListAlerts`, `WatchAlerts`, `AcknowledgeAlert`: the board's
//! view of the alerts its followers raise (`federation::alerts`), and the
//! client calls for them.

use tokio::sync::mpsc;
use tonic::Status;

use super::admission::StreamSlots;
use super::board::authorize;
use super::client::NodeClient;
use super::convert;
use super::status::from_status;
use super::transparency::send_or_cut_off;
use crate::auth::{Operation, Tokens};
use crate::error::{Error, Result};
use crate::federation::alerts::{Alert, Alerts, Happened, ALERTS_PAGE_MAX};
use crate::federation::Federation;
use crate::limits;
use crate::mirror::unix_now;
use crate::pb;

/// An alert on the wire.
pub(super) fn alert(alert: &Alert) -> pb::Alert {
    let (kind, discipline_kind, effective_on, ends_on, origin_index) = match &alert.happened {
        Happened::Discipline {
            kind,
            effective_on,
            ends_on,
            origin_index,
        } => (
            pb::AlertKind::Discipline,
            convert::discipline_kind(*kind),
            convert::date(*effective_on),
            ends_on.map(convert::date).unwrap_or_default(),
            *origin_index,
        ),
        Happened::Expired { expires_on } => (
            pb::AlertKind::Expired,
            pb::DisciplineKind::Unspecified,
            convert::date(*expires_on),
            String::new(),
            0,
        ),
    };
    let acknowledgement = alert.acknowledgement.clone();
    pb::Alert {
        alert_id: alert.id,
        origin_state: alert.origin_state.clone(),
        origin_credential_number: alert.origin_credential_number.clone(),
        credential_number: alert.credential_number.clone().unwrap_or_default(),
        kind: kind.into(),
        discipline_kind: discipline_kind.into(),
        effective_on,
        ends_on,
        origin_index,
        raised_at_unix: alert.raised_at_unix,
        acknowledged_at_unix: acknowledgement.as_ref().map_or(0, |a| a.at_unix),
        acknowledged_by: acknowledgement.as_ref().map(|a| a.by.clone()).unwrap_or_default(),
        note: acknowledgement.map(|a| a.note).unwrap_or_default(),
    }
}

/// `ListAlerts`: needs `view_alerts`.
pub(super) fn list(
    tokens: &Tokens,
    federation: &Federation,
    request: tonic::Request<pb::ListAlertsRequest>,
) -> Result<pb::ListAlertsResponse> {
    authorize(tokens, request.metadata(), Operation::ViewAlerts)?;
    let pb::ListAlertsRequest {
        include_acknowledged,
        after_id,
        limit,
    } = request.into_inner();
    let limit = match limit as usize {
        0 => ALERTS_PAGE_MAX,
        n if n > ALERTS_PAGE_MAX => {
            return Err(Error::InvalidArgument(format!(
                "limit {n} is more than {ALERTS_PAGE_MAX} alerts a page"
            )))
        }
        n => n,
    };
    let Some(alerts) = federation.alerts() else {
        return Ok(pb::ListAlertsResponse::default());
    };
    let page = alerts.list(after_id, limit, include_acknowledged);
    Ok(pb::ListAlertsResponse {
        alerts: page.alerts.iter().map(alert).collect(),
        next_after_id: page.next_after_id.unwrap_or(0),
        open_alerts: page.open,
    })
}

/// `AcknowledgeAlert`: needs `acknowledge_alerts`.
pub(super) fn acknowledge(
    tokens: &Tokens,
    federation: &Federation,
    request: tonic::Request<pb::AcknowledgeAlertRequest>,
) -> Result<pb::Alert> {
    let by = authorize(tokens, request.metadata(), Operation::AcknowledgeAlerts)?;
    let pb::AcknowledgeAlertRequest { alert_id, note } = request.into_inner();
    let alerts = federation
        .alerts()
        .ok_or_else(|| Error::NotFound(format!("no alert {alert_id}")))?;
    let closed = alerts.acknowledge(alert_id, &note, &by, unix_now())?;
    tracing::info!(token = %by, id = alert_id, "alert acknowledged");
    Ok(alert(&closed))
}

type AlertSender = mpsc::Sender<std::result::Result<pb::Alert, Status>>;

/// `WatchAlerts`: needs `view_alerts`. Checks the caller, takes a stream slot
/// and starts the stream.
pub(super) fn watch(
    tokens: &Tokens,
    federation: &Federation,
    slots: &StreamSlots,
    request: tonic::Request<pb::WatchAlertsRequest>,
) -> Result<mpsc::Receiver<std::result::Result<pb::Alert, Status>>> {
    authorize(tokens, request.metadata(), Operation::ViewAlerts)?;
    let remote = request.remote_addr();
    let after_id = request.into_inner().after_id;
    let slot = slots.acquire(remote)?;
    let (sender, receiver) = mpsc::channel(limits::WATCH_BUFFER_ENTRIES + 1);
    let alerts = federation.alerts().cloned();
    tokio::spawn(async move {
        let _slot = slot;
        if let Some(alerts) = alerts {
            run_watch(&alerts, after_id, &sender).await;
        } else {
            sender.closed().await;
        }
    });
    Ok(receiver)
}

/// Sends the open alerts after `after_id`, a page at a time, then each new
/// one as it is raised, until the client leaves or reads too slowly.
async fn run_watch(alerts: &Alerts, mut after_id: u64, sender: &AlertSender) {
    let mut raised = alerts.subscribe();
    loop {
        raised.borrow_and_update();
        let page = alerts.list(after_id, ALERTS_PAGE_MAX, false);
        for item in &page.alerts {
            if !send_or_cut_off(sender, Ok(alert(item))).await {
                return;
            }
            after_id = item.id;
        }
        if page.next_after_id.is_some() {
            continue;
        }
        tokio::select! {
            changed = raised.changed() => if changed.is_err() { return },
            () = sender.closed() => return,
        }
    }
}

impl NodeClient {
    /// The board's alerts (needs `view_alerts`), one page.
    pub async fn list_alerts(&self, request: pb::ListAlertsRequest) -> Result<pb::ListAlertsResponse> {
        let answer = self.federation().list_alerts(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    /// Closes an alert with a note (needs `acknowledge_alerts`).
    pub async fn acknowledge_alert(&self, alert_id: u64, note: String) -> Result<pb::Alert> {
        let request = pb::AcknowledgeAlertRequest { alert_id, note };
        let answer = self.federation().acknowledge_alert(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    /// Follows alerts after `after_id`, calling `on_alert` for each, until the
    /// stream ends (or fails: the error says why).
    pub async fn watch_alerts(&self, after_id: u64, mut on_alert: impl FnMut(pb::Alert)) -> Result<()> {
        let request = self.request(pb::WatchAlertsRequest { after_id })?;
        let mut stream = self
            .federation()
            .watch_alerts(request)
            .await
            .map_err(|s| from_status(&s))?
            .into_inner();
        while let Some(alert) = stream.message().await.map_err(|s| from_status(&s))? {
            on_alert(alert);
        }
        Ok(())
    }
}
