//! `peerreg.v1.Registry`: employer checks (public, minimal disclosure), the
//! board's full view of a peer (authenticated), the profile and statistics.

use std::sync::Arc;

use chrono::NaiveDate;
use prost::Message;
use tonic::{Request, Response, Status};

use super::admission::{within_answer_bound, Blocking, StreamSlots};
use super::board::authorize;
use super::convert;
use super::requests::{optional_date, CredentialQuery, DateOfService, Holder, Roster, RosterLine, WatchQuery};
use super::rpc::registry_server::Registry as RegistryRpc;
use crate::auth::{Operation, Tokens};
use crate::domain::fact::{self, quote};
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::limits;
use crate::pb;
use crate::projection::Registry;
use crate::witness::Witnessing;

pub struct RegistryService {
    ledger: Ledger,
    tokens: Arc<Tokens>,
    /// Bounds `WatchCredentials` streams, overall and per client address.
    watchers: StreamSlots,
    /// Runs statistics, rosters and proofs off the async threads.
    blocking: Blocking,
    /// Proofs are exported against witnessed checkpoints when there are some.
    witnessing: Option<Arc<Witnessing>>,
}

impl RegistryService {
    pub fn new(ledger: Ledger, tokens: Arc<Tokens>) -> RegistryService {
        let open = ledger.metrics().open_streams("credential_watch");
        RegistryService {
            ledger,
            tokens,
            watchers: StreamSlots::new(
                "credential watch streams",
                limits::WATCH_STREAMS_MAX,
                limits::WATCH_STREAMS_PER_ADDRESS_MAX,
            )
            .counted(open),
            blocking: Blocking::new(limits::BLOCKING_HANDLERS_MAX),
            witnessing: None,
        }
    }

    pub fn witnessed_by(mut self, witnessing: Option<Arc<Witnessing>>) -> RegistryService {
        self.witnessing = witnessing;
        self
    }
}

/// The wire status for a domain status (for clients comparing answers).
pub fn status_code(status: crate::domain::status::Status) -> pb::CredentialStatus {
    convert::status(status)
}

/// Names match if they are equal ignoring case and surrounding spaces.
fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Answers one employer check on a registry view (shared with roster checks).
pub(super) fn check(registry: &Registry, state: &str, asked: &Holder, as_of: NaiveDate) -> Result<pb::CredentialCheck> {
    let not_found = || {
        Error::NotFound(format!(
            "no credential {} with that holder in {state}",
            quote(&asked.credential_number)
        ))
    };
    let credential = registry.credential(&asked.credential_number).ok_or_else(not_found)?;
    let holder = registry.peer(&credential.peer_id).ok_or_else(not_found)?;
    if asked
        .legal_name
        .as_ref()
        .is_some_and(|name| !same_name(name, &holder.legal_name))
    {
        return Err(not_found());
    }
    let basis = credential.reciprocity.as_ref();
    let imported = credential.imported.as_ref();
    Ok(pb::CredentialCheck {
        state: state.to_string(),
        credential_number: credential.number.clone(),
        legal_name: holder.legal_name.clone(),
        credential_type: convert::credential_type(credential.credential_type) as i32,
        status: convert::status(credential.status_on(as_of)) as i32,
        as_of: convert::date(as_of),
        issued_on: convert::date(credential.issued_on),
        expires_on: convert::date(credential.expires_on_as_of(as_of)),
        discipline: convert::public_discipline(credential, as_of),
        log_size: registry.size,
        reciprocity_origin_state: basis.map(|b| b.origin_state.clone()).unwrap_or_default(),
        reciprocity_origin_credential_number: basis.map(|b| b.origin_credential_number.clone()).unwrap_or_default(),
        imported_source_system: imported.map(|b| b.source_system.clone()).unwrap_or_default(),
        imported_on: imported.map(|b| convert::date(b.imported_on)).unwrap_or_default(),
    })
}

/// Answers a `CheckCredential` request as sent (the RPC and the web page's
/// form both come here): checked by `CredentialQuery`, answered for its date
/// or for today by the node's clock.
pub(super) fn check_request(ledger: &Ledger, request: pb::CheckCredentialRequest) -> Result<pb::CredentialCheck> {
    let query = CredentialQuery::try_from(request)?;
    let as_of = query.as_of.unwrap_or_else(|| ledger.today());
    check(&ledger.registry(), ledger.state(), &query.holder, as_of)
}

/// One roster line on one date: a check, or the reason there is none.
fn roster_result(
    registry: &Registry,
    state: &str,
    position: u32,
    line: &RosterLine,
    date: &DateOfService,
    today: NaiveDate,
) -> pb::RosterResult {
    let answer = match (&line.holder, &date.date) {
        (Err(why), _) | (_, Err(why)) => Err(why.clone()),
        (Ok(holder), Ok(day)) => check(registry, state, holder, day.unwrap_or(today)),
    };
    let (check, error_code, error) = match answer {
        Ok(check) => (Some(check), String::new(), String::new()),
        Err(e) => (None, e.code_name().to_string(), e.to_string()),
    };
    pb::RosterResult {
        position,
        credential_number: line.credential_number.clone(),
        date_of_service: date.text.clone(),
        check,
        error_code,
        error,
    }
}

/// Answers a checked roster, one result per line and date. The answer's size
/// is counted as it grows (a credential's public discipline can make one check
/// large), and the call is refused once it passes `ANSWER_BYTES_MAX`.
pub(super) fn answer_roster(
    registry: &Registry,
    state: &str,
    roster: &Roster,
    today: NaiveDate,
) -> Result<pb::CheckRosterResponse> {
    let mut results = Vec::with_capacity(roster.checks());
    let mut bytes = 0;
    for (position, line) in (0u32..).zip(&roster.lines) {
        for date in &line.dates {
            let result = roster_result(registry, state, position, line, date, today);
            bytes += result.encoded_len() + ANSWER_FRAMING_BYTES;
            if bytes > limits::ANSWER_BYTES_MAX {
                return Err(Error::ResourceExhausted(format!(
                    "the answer passes {} bytes at item {position} of {}; split the roster",
                    limits::ANSWER_BYTES_MAX,
                    roster.lines.len()
                )));
            }
            results.push(result);
        }
    }
    Ok(pb::CheckRosterResponse {
        results,
        log_size: registry.size,
    })
}

/// Bytes a repeated message field adds beyond the message itself (its tag and
/// length prefix), counted generously.
const ANSWER_FRAMING_BYTES: usize = 8;

pub(super) fn statistics(ledger: &Ledger, as_of: NaiveDate) -> pb::Statistics {
    statistics_of(&ledger.registry(), ledger.state(), as_of)
}

/// [`statistics`] of one registry view (the workforce page pairs it with the
/// monthly changes of the same view).
pub(super) fn statistics_of(registry: &Registry, state: &str, as_of: NaiveDate) -> pb::Statistics {
    let rows = registry
        .statistics(as_of)
        .into_iter()
        .map(|((kind, status), count)| pb::StatisticsRow {
            credential_type: convert::credential_type(kind) as i32,
            status: convert::status(status) as i32,
            count,
        })
        .collect();
    pb::Statistics {
        state: state.to_string(),
        as_of: convert::date(as_of),
        rows,
        peers: registry.peers.len() as u64,
        log_size: registry.size,
    }
}

/// A credential's portable proof: its own entries, each proven against the
/// published checkpoint, within the answer bound.
pub(super) fn credential_proof(ledger: &Ledger, credential_number: String) -> Result<pb::CredentialProof> {
    credential_proof_witnessed(ledger, None, credential_number)
}

/// As [`credential_proof`], against the newest witnessed checkpoint (with its
/// cosignatures) when it already holds every event of the credential, so the
/// proof carries what readers who ask for a witness quorum need; otherwise
/// against the newest checkpoint.
pub(super) fn credential_proof_witnessed(
    ledger: &Ledger,
    witnessing: Option<&Witnessing>,
    credential_number: String,
) -> Result<pb::CredentialProof> {
    let registry = ledger.registry();
    let credential = registry
        .credential(&credential_number)
        .ok_or_else(|| Error::NotFound(format!("no credential {} in this registry", quote(&credential_number))))?;
    let newest = ledger.published();
    let last_event = credential.events.iter().max().copied().unwrap_or(0);
    let (published, note) = witnessing
        .and_then(|w| w.collector.witnessed())
        .filter(|(witnessed, _)| witnessed.checkpoint.size > last_event)
        .unwrap_or_else(|| (newest.clone(), newest.note.to_vec()));
    let size = published.checkpoint.size;
    let entries = crate::evidence::proven_entries(ledger, &credential.events, size)?;
    let openings = crate::evidence::register_openings(ledger, &entries)?;
    let proof = pb::CredentialProof {
        format_version: 2,
        openings,
        state: ledger.state().to_string(),
        verifier_key: ledger.verifier().to_key_string(),
        checkpoint: note,
        entries,
        credential_number,
        key_rotations: crate::evidence::proven_key_rotations(ledger, size)?,
    };
    within_answer_bound(&proof, &format!("the proof of {}", quote(&proof.credential_number)))?;
    Ok(proof)
}

#[tonic::async_trait]
impl RegistryRpc for RegistryService {
    async fn check_credential(
        &self,
        request: Request<pb::CheckCredentialRequest>,
    ) -> Result<Response<pb::CredentialCheck>, Status> {
        Ok(Response::new(check_request(&self.ledger, request.into_inner())?))
    }

    async fn check_roster(
        &self,
        request: Request<pb::CheckRosterRequest>,
    ) -> Result<Response<pb::CheckRosterResponse>, Status> {
        let roster = Roster::try_from(request.into_inner())?;
        let ledger = self.ledger.clone();
        let answer = self
            .blocking
            .run(move || answer_roster(&ledger.registry(), ledger.state(), &roster, ledger.today()))
            .await?;
        Ok(Response::new(answer))
    }

    async fn export_credential_proof(
        &self,
        request: Request<pb::ExportCredentialProofRequest>,
    ) -> Result<Response<pb::CredentialProof>, Status> {
        let pb::ExportCredentialProofRequest { credential_number } = request.into_inner();
        let credential_number = fact::identifier("credential_number", &credential_number)?;
        let (ledger, witnessing) = (self.ledger.clone(), self.witnessing.clone());
        let proof = self
            .blocking
            .run(move || credential_proof_witnessed(&ledger, witnessing.as_deref(), credential_number))
            .await?;
        Ok(Response::new(proof))
    }

    type WatchCredentialsStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::CredentialChange, Status>> + Send>>;

    async fn watch_credentials(
        &self,
        request: Request<pb::WatchCredentialsRequest>,
    ) -> Result<Response<Self::WatchCredentialsStream>, Status> {
        let remote = request.remote_addr();
        let query = WatchQuery::try_from(request.into_inner())?;
        super::watch::check_known(&self.ledger, &query.credential_numbers)?;
        let slot = self.watchers.acquire(remote)?;
        let (sender, receiver) = tokio::sync::mpsc::channel(limits::WATCH_BUFFER_ENTRIES + 1);
        let ledger = self.ledger.clone();
        tokio::spawn(async move {
            let _slot = slot;
            super::watch::run(ledger, query, sender).await;
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(
            receiver,
        ))))
    }

    async fn get_peer_record(
        &self,
        request: Request<pb::GetPeerRecordRequest>,
    ) -> Result<Response<pb::PeerRecord>, Status> {
        authorize(&self.tokens, request.metadata(), Operation::ViewRecords)?;
        let pb::GetPeerRecordRequest { peer_id } = request.into_inner();
        fact::identifier("peer_id", &peer_id)?;
        let registry = self.ledger.registry();
        let peer = registry
            .peer(&peer_id)
            .ok_or_else(|| Error::NotFound(format!("no peer {} is enrolled", quote(&peer_id))))?;
        let credentials: Vec<_> = peer.credentials.iter().filter_map(|n| registry.credential(n)).collect();
        Ok(Response::new(convert::peer_record(
            peer,
            &credentials,
            self.ledger.today(),
        )))
    }

    async fn get_profile(&self, _: Request<pb::GetProfileRequest>) -> Result<Response<pb::Profile>, Status> {
        let profile = crate::domain::rules::profile_on(self.ledger.profile(), self.ledger.today())?;
        let toml = toml::to_string(profile).map_err(|e| Error::Internal(format!("encoding the profile: {e}")))?;
        Ok(Response::new(convert::profile(profile, toml)))
    }

    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::Statistics>, Status> {
        let pb::GetStatisticsRequest { as_of } = request.into_inner();
        let as_of = optional_date("as_of", &as_of)?.unwrap_or_else(|| self.ledger.today());
        let ledger = self.ledger.clone();
        let answer = self.blocking.run(move || Ok(statistics(&ledger, as_of))).await?;
        Ok(Response::new(answer))
    }

    async fn search_people(
        &self,
        request: Request<pb::SearchPeopleRequest>,
    ) -> Result<Response<pb::SearchPeopleResponse>, Status> {
        authorize(&self.tokens, request.metadata(), Operation::ViewRecords)?;
        let query = super::search::PeopleQuery::try_from(request.into_inner())?;
        let ledger = self.ledger.clone();
        let answer = self
            .blocking
            .run(move || Ok(super::search::search_people(&ledger.registry(), &query, ledger.today())))
            .await?;
        Ok(Response::new(answer))
    }

    async fn list_credentials(
        &self,
        request: Request<pb::ListCredentialsRequest>,
    ) -> Result<Response<pb::ListCredentialsResponse>, Status> {
        authorize(&self.tokens, request.metadata(), Operation::ViewRecords)?;
        let list = super::search::CredentialList::try_from(request.into_inner())?;
        let as_of = list.as_of.unwrap_or_else(|| self.ledger.today());
        let ledger = self.ledger.clone();
        let answer = self
            .blocking
            .run(move || Ok(super::search::list_credentials(&ledger.registry(), &list, as_of)))
            .await?;
        Ok(Response::new(answer))
    }

    async fn export_public_register(
        &self,
        request: Request<pb::ExportPublicRegisterRequest>,
    ) -> Result<Response<pb::ExportPublicRegisterResponse>, Status> {
        let export = super::export::PublicExport::try_from(request.into_inner())?;
        let as_of = export.as_of.unwrap_or_else(|| self.ledger.today());
        let ledger = self.ledger.clone();
        let answer = self
            .blocking
            .run(move || Ok(super::export::public_page(&ledger.registry(), &export, as_of)))
            .await?;
        Ok(Response::new(answer))
    }
}
