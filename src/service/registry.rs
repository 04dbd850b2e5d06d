//! `peerreg.v1.Registry`: employer checks (public, minimal disclosure), the
//! board's full view of a peer (authenticated), the profile and statistics.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::board::authorize;
use super::convert;
use super::rpc::registry_server::Registry;
use crate::auth::{Operation, Tokens};
use crate::domain::fact;
use crate::error::{Error, Result};
use crate::ledger::Ledger;
use crate::limits;
use crate::pb;

pub struct RegistryService {
    ledger: Ledger,
    tokens: Arc<Tokens>,
    /// Bounds concurrent `WatchCredentials` streams.
    watchers: Arc<tokio::sync::Semaphore>,
}

impl RegistryService {
    pub fn new(ledger: Ledger, tokens: Arc<Tokens>) -> RegistryService {
        let watchers = Arc::new(tokio::sync::Semaphore::new(limits::WATCH_STREAMS_MAX));
        RegistryService {
            ledger,
            tokens,
            watchers,
        }
    }

    /// `as_of` if given, else today by the node's clock.
    fn date_or_today(&self, as_of: &str) -> Result<chrono::NaiveDate> {
        if as_of.is_empty() {
            Ok(self.ledger.today())
        } else {
            fact::date("as_of", as_of)
        }
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
pub fn check(
    registry: &crate::projection::Registry,
    state: &str,
    request: &pb::CheckCredentialRequest,
    as_of: chrono::NaiveDate,
) -> Result<pb::CredentialCheck> {
    let not_found = || {
        Error::NotFound(format!(
            "no credential {:?} with that holder in {state}",
            request.credential_number
        ))
    };
    let credential = registry.credential(&request.credential_number).ok_or_else(not_found)?;
    let holder = registry.peer(&credential.peer_id).ok_or_else(not_found)?;
    if !request.legal_name.is_empty() && !same_name(&request.legal_name, &holder.legal_name) {
        return Err(not_found());
    }
    Ok(pb::CredentialCheck {
        state: state.to_string(),
        credential_number: credential.number.clone(),
        legal_name: holder.legal_name.clone(),
        credential_type: convert::credential_type(credential.credential_type) as i32,
        status: convert::status(credential.status_on(as_of)) as i32,
        as_of: convert::date(as_of),
        issued_on: convert::date(credential.issued_on),
        expires_on: convert::date(credential.expires_on_as_of(as_of)),
        discipline: convert::public_discipline(credential),
        log_size: registry.size,
    })
}

fn check_roster_bounds(items: &[pb::RosterItem]) -> Result<()> {
    if items.len() > limits::ROSTER_ITEMS_MAX {
        return Err(Error::ResourceExhausted(format!(
            "{} roster items in one call; at most {} are accepted, split the roster",
            items.len(),
            limits::ROSTER_ITEMS_MAX
        )));
    }
    let results: usize = items.iter().map(|i| i.dates_of_service.len().max(1)).sum();
    let most_dates = items.iter().map(|i| i.dates_of_service.len()).max().unwrap_or(0);
    if most_dates > limits::ROSTER_DATES_PER_ITEM_MAX || results > limits::ROSTER_RESULTS_MAX {
        return Err(Error::ResourceExhausted(format!(
            "the roster asks for {results} checks (at most {} in one call, {} dates per item); split it",
            limits::ROSTER_RESULTS_MAX,
            limits::ROSTER_DATES_PER_ITEM_MAX
        )));
    }
    Ok(())
}

/// One roster line on one date: a check, or the reason there is none.
fn roster_result(
    registry: &crate::projection::Registry,
    state: &str,
    position: u32,
    item: &pb::RosterItem,
    date: &str,
    today: chrono::NaiveDate,
) -> pb::RosterResult {
    let request = pb::CheckCredentialRequest {
        credential_number: item.credential_number.clone(),
        legal_name: item.legal_name.clone(),
        as_of: date.to_string(),
    };
    let answer = (if date.is_empty() {
        Ok(today)
    } else {
        fact::date("date_of_service", date)
    })
    .and_then(|as_of| check(registry, state, &request, as_of));
    let (check, error_code, error) = match answer {
        Ok(check) => (Some(check), String::new(), String::new()),
        Err(e) => (None, e.code_name().to_string(), e.to_string()),
    };
    pb::RosterResult {
        position,
        credential_number: item.credential_number.clone(),
        date_of_service: date.to_string(),
        check,
        error_code,
        error,
    }
}

#[tonic::async_trait]
impl Registry for RegistryService {
    async fn check_credential(
        &self,
        request: Request<pb::CheckCredentialRequest>,
    ) -> Result<Response<pb::CredentialCheck>, Status> {
        let request = request.into_inner();
        fact::identifier("credential_number", &request.credential_number)?;
        let as_of = self.date_or_today(&request.as_of)?;
        let answer = check(&self.ledger.registry(), self.ledger.state(), &request, as_of)?;
        Ok(Response::new(answer))
    }

    async fn check_roster(
        &self,
        request: Request<pb::CheckRosterRequest>,
    ) -> Result<Response<pb::CheckRosterResponse>, Status> {
        let items = request.into_inner().items;
        check_roster_bounds(&items)?;
        let registry = self.ledger.registry();
        let today = self.ledger.today();
        let mut results = Vec::with_capacity(items.len());
        for (position, item) in (0u32..).zip(&items) {
            let dates: Vec<&str> = if item.dates_of_service.is_empty() {
                vec![""]
            } else {
                item.dates_of_service.iter().map(String::as_str).collect()
            };
            for date in dates {
                results.push(roster_result(
                    &registry,
                    self.ledger.state(),
                    position,
                    item,
                    date,
                    today,
                ));
            }
        }
        Ok(Response::new(pb::CheckRosterResponse {
            results,
            log_size: registry.size,
        }))
    }

    async fn export_credential_proof(
        &self,
        request: Request<pb::ExportCredentialProofRequest>,
    ) -> Result<Response<pb::CredentialProof>, Status> {
        let pb::ExportCredentialProofRequest { credential_number } = request.into_inner();
        fact::identifier("credential_number", &credential_number)?;
        let published = self.ledger.published();
        let registry = self.ledger.registry();
        let credential = registry
            .credential(&credential_number)
            .ok_or_else(|| Error::NotFound(format!("no credential {credential_number:?} in this registry")))?;
        let size = published.checkpoint.size;
        let entries = crate::evidence::proven_entries(&self.ledger, &credential.events, size)?;
        Ok(Response::new(pb::CredentialProof {
            format_version: 1,
            state: self.ledger.state().to_string(),
            credential_number,
            verifier_key: self.ledger.verifier().to_key_string(),
            checkpoint: published.note.to_vec(),
            entries,
        }))
    }

    type WatchCredentialsStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::CredentialChange, Status>> + Send>>;

    async fn watch_credentials(
        &self,
        request: Request<pb::WatchCredentialsRequest>,
    ) -> Result<Response<Self::WatchCredentialsStream>, Status> {
        let pb::WatchCredentialsRequest {
            credential_numbers,
            from_index,
        } = request.into_inner();
        super::watch::check_request(&self.ledger, &credential_numbers)?;
        let permit = self.watchers.clone().try_acquire_owned().map_err(|_| {
            Error::ResourceExhausted(format!(
                "this node already serves {} watch streams; retry later",
                limits::WATCH_STREAMS_MAX
            ))
        })?;
        let (sender, receiver) = tokio::sync::mpsc::channel(limits::WATCH_BUFFER_ENTRIES + 1);
        let ledger = self.ledger.clone();
        tokio::spawn(async move {
            let _permit = permit;
            super::watch::run(ledger, credential_numbers, from_index, sender).await;
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
            .ok_or_else(|| Error::NotFound(format!("no peer {peer_id:?} is enrolled")))?;
        let credentials: Vec<_> = peer.credentials.iter().filter_map(|n| registry.credential(n)).collect();
        Ok(Response::new(convert::peer_record(
            peer,
            &credentials,
            self.ledger.today(),
        )))
    }

    async fn get_profile(&self, _: Request<pb::GetProfileRequest>) -> Result<Response<pb::Profile>, Status> {
        let profile = self.ledger.profile();
        let toml = toml::to_string(profile).map_err(|e| Error::Internal(format!("encoding the profile: {e}")))?;
        Ok(Response::new(pb::Profile {
            state: profile.state.clone(),
            toml,
        }))
    }

    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::Statistics>, Status> {
        let as_of = self.date_or_today(&request.into_inner().as_of)?;
        let registry = self.ledger.registry();
        let rows = registry
            .statistics(as_of)
            .into_iter()
            .map(|((kind, status), count)| pb::StatisticsRow {
                credential_type: convert::credential_type(kind) as i32,
                status: convert::status(status) as i32,
                count,
            })
            .collect();
        Ok(Response::new(pb::Statistics {
            state: self.ledger.state().to_string(),
            as_of: convert::date(as_of),
            rows,
            peers: registry.peers.len() as u64,
            log_size: registry.size,
        }))
    }
}
