//! `peerreg.v1.Reciprocity` (evidence for other states; transfer evaluation)
//! and `peerreg.v1.Federation` (what this node verified of other states' logs).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::admission::{Blocking, StreamSlots};
use super::board::{authorize, receipt};
use super::convert;
use super::requests::optional_date;
use super::rpc::federation_server::Federation as FederationRpc;
use super::rpc::reciprocity_server::Reciprocity;
use crate::auth::{Operation, Tokens};
use crate::domain::fact::identifier;
use crate::federation::{evaluate_transfer, Federation, FollowState, PartnerStatus, TransferRequest, TransferResult};
use crate::ledger::Ledger;
use crate::limits;
use crate::mirror::EquivocationProof;
use crate::pb;

pub struct ReciprocityService {
    ledger: Ledger,
    tokens: Arc<Tokens>,
    federation: Arc<Federation>,
    /// Builds evidence bundles off the async threads.
    blocking: Blocking,
}

impl ReciprocityService {
    pub fn new(ledger: Ledger, tokens: Arc<Tokens>, federation: Arc<Federation>) -> ReciprocityService {
        ReciprocityService {
            ledger,
            tokens,
            federation,
            blocking: Blocking::new(limits::BLOCKING_HANDLERS_MAX),
        }
    }
}

fn decision(ledger: &Ledger, result: &TransferResult) -> crate::error::Result<pb::TransferDecision> {
    let outcome = pb::TransferOutcome::from(result.decision.outcome);
    let today = ledger.today();
    let origin_record = result.origin.as_ref().map(|(holder, credential)| {
        // What the decision rests on, not the origin board's own bookkeeping.
        let mut record = convert::peer_record(holder, &[credential], today);
        record.consents.clear();
        record.disclosures.clear();
        record.voided.clear();
        record
    });
    Ok(pb::TransferDecision {
        outcome: outcome.into(),
        denials: result.decision.denials.clone(),
        gaps: result.decision.gap_messages(),
        origin_checkpoint: result.origin_checkpoint.clone(),
        holder_name: result.holder_name.clone(),
        origin_status: result
            .origin_status
            .map_or(pb::CredentialStatus::Unspecified, convert::status)
            .into(),
        receipt: Some(receipt(ledger, &result.receipt)?),
        waived: result.decision.waived_messages(),
        application_date: convert::date(result.application_date),
        policy: result
            .decision
            .policy
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        origin_record,
    })
}

#[tonic::async_trait]
impl Reciprocity for ReciprocityService {
    async fn get_evidence(
        &self,
        request: Request<pb::GetEvidenceRequest>,
    ) -> Result<Response<pb::EvidenceBundle>, Status> {
        let request = request.into_inner();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        // The key in force of the asking state: the one it pinned, or the
        // newest one its log introduced as far as this node has verified it.
        let pinned = |state: &str| {
            let partner = self.federation.partner(state).ok()?;
            Some(
                partner
                    .mirror()
                    .map_or_else(|| partner.verifier().clone(), |copy| copy.keys().current().clone()),
            )
        };
        let receiving = crate::evidence::authenticate(&request, self.ledger.state(), pinned, now)?;
        let number = identifier("credential_number", &request.credential_number)?;
        let _slot = self.blocking.slot().await?;
        let bundle = crate::evidence::disclose(&self.ledger, &number, &receiving).await?;
        tracing::info!(receiving_state = %receiving, "evidence disclosed with the holder's consent");
        Ok(Response::new(bundle))
    }

    async fn evaluate_transfer(
        &self,
        request: Request<pb::EvaluateTransferRequest>,
    ) -> Result<Response<pb::TransferDecision>, Status> {
        let token = authorize(&self.tokens, request.metadata(), Operation::EvaluateTransfer)?;
        let pb::EvaluateTransferRequest {
            origin_state,
            credential_number,
            local_peer_id,
            application_date,
        } = request.into_inner();
        let request = TransferRequest {
            origin_state,
            credential_number,
            local_peer_id: Some(local_peer_id),
            application_date: optional_date("application_date", &application_date)?,
        };
        let result = evaluate_transfer(&self.federation, &self.ledger, request).await?;
        tracing::info!(
            token = %token,
            outcome = result.decision.outcome.as_str(),
            index = result.receipt.index,
            "transfer evaluated"
        );
        Ok(Response::new(decision(&self.ledger, &result)?))
    }
}

pub struct FederationService {
    ledger: Ledger,
    federation: Arc<Federation>,
    /// For the board's alert calls.
    tokens: Arc<Tokens>,
    /// Bounds `WatchAlerts` streams, overall and per client address.
    alert_watchers: StreamSlots,
}

impl FederationService {
    pub fn new(ledger: Ledger, federation: Arc<Federation>, tokens: Arc<Tokens>) -> FederationService {
        let open = ledger.metrics().open_streams("alert_watch");
        FederationService {
            ledger,
            federation,
            tokens,
            alert_watchers: StreamSlots::new(
                "alert watch streams",
                limits::WATCH_STREAMS_MAX,
                limits::WATCH_STREAMS_PER_ADDRESS_MAX,
            )
            .counted(open),
        }
    }
}

#[tonic::async_trait]
impl FederationRpc for FederationService {
    async fn get_federation_status(
        &self,
        _: Request<pb::GetFederationStatusRequest>,
    ) -> Result<Response<pb::FederationStatus>, Status> {
        let states = self.federation.status()?.into_iter().map(trusted_state).collect();
        let open_alerts = self.federation.alerts().map_or(0, |a| a.open_count());
        Ok(Response::new(pb::FederationStatus { states, open_alerts }))
    }

    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        Ok(Response::new(super::alerts::list(
            &self.tokens,
            &self.federation,
            request,
        )?))
    }

    type WatchAlertsStream = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::Alert, Status>> + Send>>;

    async fn watch_alerts(
        &self,
        request: Request<pb::WatchAlertsRequest>,
    ) -> Result<Response<Self::WatchAlertsStream>, Status> {
        let receiver = super::alerts::watch(&self.tokens, &self.federation, &self.alert_watchers, request)?;
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(
            receiver,
        ))))
    }

    async fn acknowledge_alert(
        &self,
        request: Request<pb::AcknowledgeAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        Ok(Response::new(super::alerts::acknowledge(
            &self.tokens,
            &self.federation,
            request,
        )?))
    }

    async fn get_origin_status(
        &self,
        request: Request<pb::GetOriginStatusRequest>,
    ) -> Result<Response<pb::OriginStatus>, Status> {
        let pb::GetOriginStatusRequest {
            origin_state,
            credential_number,
        } = request.into_inner();
        let state = crate::domain::states::parse_state(&origin_state)?;
        let number = identifier("credential_number", &credential_number)?;
        let answer = self.federation.origin_status(&state, &number, self.ledger.today())?;
        Ok(Response::new(pb::OriginStatus {
            origin_state: answer.origin_state,
            credential_number: answer.credential_number,
            status: convert::status(answer.status).into(),
            expires_on: convert::date(answer.expires_on),
            verified_size: answer.verified_size,
        }))
    }
}

/// What this node verified of one trusted state, on the wire.
fn trusted_state(status: PartnerStatus) -> pb::TrustedState {
    let (follow_state, (verified, target)) = match status.follow {
        FollowState::NotYetFollowed => (pb::FollowState::NotYetFollowed, (0, 0)),
        FollowState::Following => (pb::FollowState::Following, (0, 0)),
        FollowState::CatchingUp { verified, target } => (pb::FollowState::CatchingUp, (verified, target)),
        FollowState::Suspect => (pb::FollowState::Suspect, (0, 0)),
        FollowState::Blocked => (pb::FollowState::Blocked, (0, 0)),
    };
    let equivocation = status.equivocation.map(|record| {
        let (held, offered) = record.checkpoints();
        let kind = match &record.proof {
            EquivocationProof::SameSize { .. } => "same_size",
            EquivocationProof::NotAPrefix { .. } => "not_a_prefix",
            EquivocationProof::TwoEntries { .. } => "two_entries",
        };
        pb::Equivocation {
            held_checkpoint: held.as_bytes().to_vec(),
            offered_checkpoint: offered.as_bytes().to_vec(),
            detail: record.detail,
            recorded_unix: record.recorded_unix,
            kind: kind.to_string(),
        }
    });
    pb::TrustedState {
        state: status.state,
        origin: status.origin,
        endpoint: status.endpoint,
        verifier_key: status.verifier_key,
        verified_size: status.verified.as_ref().map_or(0, |p| p.checkpoint.size),
        verified_checkpoint: status.verified.map(|p| p.note.to_vec()).unwrap_or_default(),
        last_followed_unix: status.last_followed_unix,
        last_error: status.last_error,
        equivocation,
        follow_state: follow_state.into(),
        suspect_rounds: status.suspect_rounds,
        catching_up_verified: verified,
        catching_up_target: target,
    }
}
