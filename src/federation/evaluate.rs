//! Evaluating a transfer: fetch the origin's evidence, verify it against the
//! pinned key and this node's verified copy of the origin's log, replay it,
//! decide with the reciprocity rules, and record the decision in this node's
//! log. Errors (nothing recorded) are reserved for what a person must fix
//! first: the origin unreachable (`UNAVAILABLE`), not trusted or equivocating
//! (`FAILED_PRECONDITION`), an unknown credential (`NOT_FOUND`). Evidence that
//! does not verify is a recorded `DENIED` with the reasons.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;

use super::{Federation, Partner};
use crate::domain::fact::{identifier, FINDINGS_MAX};
use crate::domain::reciprocity::{self, Dates, Decision, Transfer, Waiver};
use crate::domain::records::{Credential, Peer};
use crate::domain::states::parse_state;
use crate::domain::status::Status;
use crate::error::{Error, Result};
use crate::evidence::{self, VerifiedEvidence};
use crate::ledger::{Ledger, Receipt};
use crate::mirror;
use crate::pb;

/// What a board asks: evaluate `credential_number` of `origin_state`.
#[derive(Clone, Debug)]
pub struct TransferRequest {
    pub origin_state: String,
    pub credential_number: String,
    /// This board's own peer id for the person, if it has one.
    pub local_peer_id: Option<String>,
    /// The application date the rules judge the record as of (None: today).
    pub application_date: Option<NaiveDate>,
}

/// The decision, what it rests on, and where it is recorded.
#[derive(Clone, Debug)]
pub struct TransferResult {
    pub decision: Decision,
    /// The verified origin checkpoint note (empty if none could be verified).
    pub origin_checkpoint: Vec<u8>,
    pub holder_name: String,
    pub origin_status: Option<Status>,
    pub receipt: Receipt,
    /// The date the record was judged as of.
    pub application_date: NaiveDate,
    /// The verified origin record the decision rests on (None when the
    /// evidence did not verify): shown only to this board.
    pub origin: Option<(Peer, Credential)>,
}

/// Evaluates and records one transfer (see the module docs).
pub async fn evaluate_transfer(
    federation: &Federation,
    own: &Ledger,
    request: TransferRequest,
) -> Result<TransferResult> {
    let origin_state = parse_state(&request.origin_state)?;
    let number = identifier("credential_number", &request.credential_number)?;
    if origin_state == own.state() {
        return Err(Error::InvalidArgument(format!(
            "{origin_state} is this node's own state; a transfer comes from another state"
        )));
    }
    let local_peer_id = request
        .local_peer_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .map(|id| identifier("local_peer_id", id))
        .transpose()?;
    let local = match &local_peer_id {
        Some(id) => Some(
            own.registry()
                .peer(id)
                .cloned()
                .ok_or_else(|| Error::NotFound(format!("no peer {id:?} is enrolled in this registry")))?,
        ),
        None => None,
    };
    let dates = application_dates(own, request.application_date)?;
    let waivers = local.as_ref().map_or_else(Vec::new, |peer| {
        Waiver::for_transfer(&peer.extras.waivers, &origin_state, &number)
    });
    let partner = &*federation.partner(&origin_state)?;
    partner.ensure_not_blocked()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let signed = evidence::signed_request(own, &origin_state, &number, now)?;
    let bundle = partner.node().await?.evidence(signed).await?;
    let (decision, verified) = match evidence::verify(&bundle, partner.verifier(), &origin_state, &number) {
        Err(reasons) => (Decision::denied(reasons), None),
        Ok(verified) => {
            let decision = match check_against_copy(partner, &bundle, &verified).await? {
                Some(reasons) => Decision::denied(reasons),
                None => {
                    let transfer = Transfer {
                        origin_state: &origin_state,
                        holder: &verified.holder,
                        credential: &verified.credential,
                        local: local.as_ref(),
                        waivers: &waivers,
                    };
                    let profile = crate::domain::rules::profile_on(own.profile(), dates.applied_on)?;
                    reciprocity::evaluate(profile, &transfer, dates)
                }
            };
            keep_received(own, partner, &origin_state, &verified).await?;
            (decision, Some(verified))
        }
    };
    let mut result = record(
        own,
        &origin_state,
        &number,
        local_peer_id,
        decision,
        verified.as_ref(),
        dates,
    )
    .await?;
    // The verified copy is at least as new as the evidence: report its status.
    if result.origin_status.is_some() {
        let copy = partner.mirror().map(|m| m.registry());
        if let Some(credential) = copy.as_ref().and_then(|r| r.credential(&number)) {
            result.origin_status = Some(credential.status_on(own.today()));
        }
    }
    Ok(result)
}

/// The application date (default today) and today. An application date in
/// the future, or so old that an approval on it could no longer support a
/// grant (`reciprocity.evaluation_valid_days`), is refused.
fn application_dates(own: &Ledger, applied_on: Option<NaiveDate>) -> Result<Dates> {
    let today = own.today();
    let Some(applied_on) = applied_on else {
        return Ok(Dates::today(today));
    };
    if applied_on > today {
        return Err(Error::InvalidArgument(format!(
            "application_date ({applied_on}) is in the future (today is {today})"
        )));
    }
    let days = crate::domain::rules::profile_on(own.profile(), today)?
        .reciprocity
        .evaluation_valid_days;
    let oldest = today - chrono::Days::new(u64::from(days));
    if applied_on < oldest {
        return Err(Error::InvalidArgument(format!(
            "application_date ({applied_on}) is more than {days} days ago (the profile's evaluation_valid_days): \
             an approval on it could support no grant"
        )));
    }
    Ok(Dates { applied_on, today })
}

/// Checks the bundle's checkpoint against this node's verified copy of the
/// origin's log (syncing it first if the bundle is newer) and that nothing
/// about the holder was left out; two signed entries at one index are a
/// proven equivocation. `Some(reasons)` denies; an equivocation is
/// recorded and returned as an error.
async fn check_against_copy(
    partner: &Partner,
    bundle: &pb::EvidenceBundle,
    verified: &VerifiedEvidence,
) -> Result<Option<Vec<String>>> {
    let state = partner.state();
    let offered = &verified.checkpoint;
    let copy = partner.catch_up_to(offered.size).await?;
    let held = copy.published().checkpoint;
    // Every entry of the bundle is signed (verified); one that differs from the
    // copy's entry at its index is a proof, whatever the checkpoints say.
    let verified_indices: std::collections::BTreeSet<u64> = verified.indices.iter().copied().collect();
    let signed: Vec<(u64, &[u8])> = bundle
        .entries
        .iter()
        .filter(|e| verified_indices.contains(&e.index))
        .map(|e| (e.index, e.entry.as_slice()))
        .collect();
    if let Some(proof) = mirror::conflicting_entry(&copy, &signed)? {
        let detail = "its evidence holds an entry that differs from the one its log holds at that index".to_string();
        return Err(partner.record_equivocation(&copy, detail, proof));
    }
    if held.size < offered.size {
        return Ok(Some(vec![format!(
            "the evidence is verified against a checkpoint of size {} that {state}'s log has never shown this node \
             (its latest is size {}); it cannot be checked for consistency",
            offered.size, held.size
        )]));
    }
    if let Some(proof) = mirror::check_against_held(&copy, offered, &verified.note)? {
        let detail = format!(
            "its evidence checkpoint of size {} contradicts the verified log of size {}",
            offered.size, held.size
        );
        return Err(partner.record_equivocation(&copy, detail, proof));
    }
    let expected = match evidence::expected_indices(&copy, verified)? {
        Ok(expected) => expected,
        Err(reason) => return Ok(Some(vec![reason])),
    };
    let missing = evidence::missing(&expected, verified);
    if missing.is_empty() {
        return Ok(None);
    }
    let reason = |index: u64| {
        let kind = event_kind(&copy, index);
        if index < offered.size {
            format!("the evidence is incomplete: it omits entry {index} ({kind}) about this holder, which {state}'s log holds")
        } else {
            format!(
                "the evidence is out of date: {state}'s log has recorded entry {index} ({kind}) about this holder \
                 since the evidence's checkpoint of size {}",
                offered.size
            )
        }
    };
    Ok(Some(missing.into_iter().map(reason).collect()))
}

/// Keeps what a verified bundle disclosed in `own`'s private store (see
/// `received.rs`); a node without one keeps nothing.
async fn keep_received(own: &Ledger, partner: &Partner, origin_state: &str, verified: &VerifiedEvidence) -> Result<()> {
    let (Some(vault), Some(copy)) = (own.vault(), partner.mirror()) else {
        return Ok(());
    };
    let (state, verified) = (origin_state.to_string(), verified.clone());
    tokio::task::spawn_blocking(move || super::received::keep(&vault, &copy, &state, &verified))
        .await
        .map_err(|e| Error::Internal(format!("keeping the received records stopped: {e}")))?
}

/// A short name for the event at `index` of a verified copy, for messages.
fn event_kind(copy: &Ledger, index: u64) -> String {
    let body = copy
        .entries(index, index + 1)
        .ok()
        .and_then(|entries| entries.into_iter().next())
        .and_then(|bytes| crate::log::entry::decode_entry(index, &bytes).ok())
        .and_then(|(_, event)| event.body);
    // A private record's kind is inside its commitment: the copy cannot say.
    match body {
        Some(pb::event::Body::DisciplineImposed(_)) => "a disciplinary action".into(),
        Some(pb::event::Body::ReinstatementGranted(_)) => "a reinstatement".into(),
        Some(pb::event::Body::CredentialRenewed(_)) => "a renewal".into(),
        Some(pb::event::Body::CredentialGranted(_)) => "a credential issue".into(),
        Some(pb::event::Body::Record(_)) => "a committed record".into(),
        Some(_) => "a notice".into(),
        None => "an event".into(),
    }
}

/// At most `FINDINGS_MAX` reasons, the last saying how many more there were.
fn bounded(mut reasons: Vec<String>) -> Vec<String> {
    if reasons.len() > FINDINGS_MAX {
        let more = reasons.len() - (FINDINGS_MAX - 1);
        reasons.truncate(FINDINGS_MAX - 1);
        reasons.push(format!("and {more} more problems like these"));
    }
    reasons
}

/// Appends the decision to this node's log as a `TransferEvaluated` event.
async fn record(
    own: &Ledger,
    origin_state: &str,
    number: &str,
    local_peer_id: Option<String>,
    mut decision: Decision,
    verified: Option<&VerifiedEvidence>,
    dates: Dates,
) -> Result<TransferResult> {
    decision.denials = bounded(decision.denials);
    let origin_checkpoint = verified.map(|v| v.note.clone()).unwrap_or_default();
    let holder_name = verified.map(|v| v.holder.legal_name.clone()).unwrap_or_default();
    let today = own.today();
    let body = pb::TransferEvaluated {
        origin_state: origin_state.to_string(),
        origin_credential_number: number.to_string(),
        origin_checkpoint: origin_checkpoint.clone(),
        outcome: pb::TransferOutcome::from(decision.outcome).into(),
        denials: decision.denials.clone(),
        gaps: decision.gap_messages(),
        evaluated_on: dates.applied_on.to_string(),
        local_peer_id: local_peer_id.unwrap_or_default(),
        holder_name: holder_name.clone(),
    };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let event_id = format!("transfer/{origin_state}/{number}/{nanos}");
    let receipt = own.append(event_id, pb::command::Body::TransferEvaluated(body)).await?;
    Ok(TransferResult {
        decision,
        origin_checkpoint,
        holder_name,
        origin_status: verified.map(|v| v.credential.status_on(today)),
        receipt,
        application_date: dates.applied_on,
        origin: verified.map(|v| (v.holder.clone(), v.credential.clone())),
    })
}
