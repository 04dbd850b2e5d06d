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
use crate::pb;

pub struct RegistryService {
    ledger: Ledger,
    tokens: Arc<Tokens>,
}

impl RegistryService {
    pub fn new(ledger: Ledger, tokens: Arc<Tokens>) -> RegistryService {
        RegistryService { ledger, tokens }
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
