//! `peerreg alerts`: the board's alerts about origin credentials its grants
//! (or pending evaluations) stand on: list them, watch for new ones, or
//! acknowledge one with a note.

use clap::Args;

use super::Connection;
use crate::error::Result;
use crate::pb;

#[derive(Args, Debug)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Also list acknowledged alerts, with their notes.
    #[arg(long)]
    pub all: bool,
    /// Print the open alerts, then each new one as it is raised.
    #[arg(long, conflicts_with = "ack")]
    pub watch: bool,
    /// Acknowledge the alert with this id (needs --note).
    #[arg(long, requires = "note")]
    pub ack: Option<u64>,
    /// Why the alert is closed (what the board decided).
    #[arg(long, requires = "ack")]
    pub note: Option<String>,
}

pub async fn alerts(args: AlertsArgs) -> Result<String> {
    let client = args.connection.client(true).await?;
    if let (Some(id), Some(note)) = (args.ack, args.note) {
        let closed = client.acknowledge_alert(id, note).await?;
        return Ok(format!("acknowledged\n{}", line(&closed)));
    }
    if args.watch {
        client.watch_alerts(0, |alert| println!("{}", line(&alert))).await?;
        return Ok("the node ended the watch".into());
    }
    let mut lines = Vec::new();
    let mut after_id = 0;
    let open = loop {
        let page = client
            .list_alerts(pb::ListAlertsRequest {
                include_acknowledged: args.all,
                after_id,
                limit: 0,
            })
            .await?;
        lines.extend(page.alerts.iter().map(line));
        if page.next_after_id == 0 || page.next_after_id <= after_id {
            break page.open_alerts;
        }
        after_id = page.next_after_id;
    };
    lines.push(format!("{open} open alert(s)"));
    Ok(lines.join("\n"))
}

/// One alert, plainly: what happened to which origin credential, and what of this node's stands on it.
pub fn line(alert: &pb::Alert) -> String {
    let what = match pb::AlertKind::try_from(alert.kind) {
        Ok(pb::AlertKind::Expired) => format!("expired on {}", alert.effective_on),
        _ => {
            let kind = pb::DisciplineKind::try_from(alert.discipline_kind)
                .map_or("discipline", |k| k.as_str_name())
                .trim_start_matches("DISCIPLINE_KIND_")
                .to_lowercase();
            let until = if alert.ends_on.is_empty() {
                "open-ended".to_string()
            } else {
                format!("until {}", alert.ends_on)
            };
            format!(
                "{kind} effective {} ({until}) [{} log index {}]",
                alert.effective_on, alert.origin_state, alert.origin_index
            )
        }
    };
    let basis = if alert.credential_number.is_empty() {
        "a pending transfer evaluation".to_string()
    } else {
        format!("credential {}", alert.credential_number)
    };
    let mut text = format!(
        "alert {}: {} {} {what}; basis of {basis}; raised {}",
        alert.alert_id,
        alert.origin_state,
        alert.origin_credential_number,
        timestamp(alert.raised_at_unix)
    );
    if alert.acknowledged_at_unix != 0 {
        text.push_str(&format!(
            "\n  acknowledged {} by {}: {}",
            timestamp(alert.acknowledged_at_unix),
            alert.acknowledged_by,
            alert.note
        ));
    }
    text
}

fn timestamp(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map_or_else(|| unix.to_string(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
}
