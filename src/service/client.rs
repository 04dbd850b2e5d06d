//! gRPC clients for other parts of the library (the auditor, later federation),
//! speaking library types so that tonic stays inside `service`.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::rpc::board_client::BoardClient;
use super::rpc::federation_client::FederationClient;
use super::rpc::reciprocity_client::ReciprocityClient;
use super::rpc::registry_client::RegistryClient;
use super::rpc::transparency_log_client::TransparencyLogClient;
use super::status::from_status;
use crate::error::{Error, Result};
use crate::limits;
use crate::log::merkle::Hash;
use crate::pb;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A generated client bounded like the node it talks to: it accepts any answer
/// the node may send (`GRPC_RESPONSE_BYTES_MAX`, tonic's default is 4 MiB) and
/// sends nothing the node would refuse to decode (`GRPC_REQUEST_BYTES_MAX`).
macro_rules! bounded {
    ($client:expr) => {
        $client
            .max_decoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX)
            .max_encoding_message_size(limits::GRPC_REQUEST_BYTES_MAX)
    };
}

/// What a client needs for TLS: the CA that signed the node's certificate and,
/// for mutual TLS, its own certificate and key (all PEM).
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    pub ca_pem: Vec<u8>,
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// The name the node's certificate is for, if not the endpoint's host.
    pub domain: Option<String>,
}

/// Opens a channel to `endpoint` (e.g. `http://127.0.0.1:50051`).
pub async fn connect(endpoint: &str) -> Result<Channel> {
    connect_with(endpoint, None).await
}

fn parse_endpoint(endpoint: &str) -> Result<Endpoint> {
    Endpoint::from_shared(endpoint.to_string()).map_err(|e| {
        Error::InvalidArgument(format!(
            "{} is not a valid endpoint URL: {e}",
            crate::limits::quote(endpoint)
        ))
    })
}

/// Whether `host` (as a URL writes it: `[::1]` with brackets) names this machine.
fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// A bearer token is a board's write right: it never crosses a network in
/// clear. Refuses to send one over `http://` to anything but this machine.
pub fn check_token_transport(endpoint: &str) -> Result<()> {
    let parsed = parse_endpoint(endpoint)?;
    let uri = parsed.uri();
    let host = uri.host().unwrap_or_default();
    if uri.scheme_str() == Some("https") || is_loopback_host(host) {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "refusing to send a token over plaintext http to {}: use an https:// endpoint (with --ca-cert) or a loopback address",
        crate::limits::quote(host)
    )))
}

/// Opens a channel, over TLS when `tls` is given (`https://` endpoints).
pub async fn connect_with(endpoint: &str, tls: Option<&ClientTls>) -> Result<Channel> {
    let mut parsed = parse_endpoint(endpoint)?;
    if let Some(tls) = tls {
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&tls.ca_pem));
        if let Some((cert, key)) = &tls.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        if let Some(domain) = &tls.domain {
            config = config.domain_name(domain.clone());
        }
        parsed = parsed
            .tls_config(config)
            .map_err(|e| Error::InvalidArgument(format!("TLS settings: {e}")))?;
    }
    parsed
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .http2_keep_alive_interval(limits::HTTP2_KEEPALIVE_INTERVAL)
        .keep_alive_timeout(limits::HTTP2_KEEPALIVE_TIMEOUT)
        .tcp_keepalive(Some(limits::TCP_KEEPALIVE))
        .connect()
        .await
        .map_err(|e| Error::Unavailable(format!("cannot reach {endpoint}: {e}")))
}

pub use crate::source::LogIdentity;

/// A remote `TransparencyLog`.
#[derive(Clone)]
pub struct LogClient {
    inner: TransparencyLogClient<Channel>,
    /// A mirrored log to read instead of the node's own (`peerreg-origin`).
    origin: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

fn to_hashes(raw: Vec<Vec<u8>>) -> Result<Vec<Hash>> {
    raw.into_iter()
        .map(|h| {
            Hash::try_from(h.as_slice())
                .map_err(|_| Error::DataLoss("the node sent a proof hash that is not 32 bytes".into()))
        })
        .collect()
}

impl LogClient {
    pub async fn connect(endpoint: &str) -> Result<LogClient> {
        Ok(LogClient::new(connect(endpoint).await?))
    }

    pub fn new(channel: Channel) -> LogClient {
        let inner = bounded!(TransparencyLogClient::new(channel));
        LogClient { inner, origin: None }
    }

    /// Reads the log of `origin` from a node that mirrors it.
    pub fn for_origin(mut self, origin: &str) -> Result<LogClient> {
        let value = origin
            .parse()
            .map_err(|_| Error::InvalidArgument(format!("{} is not a valid origin", crate::limits::quote(origin))))?;
        self.origin = Some(value);
        Ok(self)
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(origin) = &self.origin {
            request
                .metadata_mut()
                .insert(super::transparency::ORIGIN_METADATA, origin.clone());
        }
        request
    }

    pub async fn identity(&self) -> Result<LogIdentity> {
        let info = self
            .inner
            .clone()
            .get_log_info(self.request(pb::GetLogInfoRequest {}))
            .await
            .map_err(|s| from_status(&s))?;
        let pb::LogInfo {
            origin,
            state,
            verifier_key,
            witness_key: _,
            mut key_rotations,
            ..
        } = info.into_inner();
        key_rotations.truncate(crate::log::keys::ROTATIONS_MAX + 1);
        Ok(LogIdentity {
            origin,
            state,
            verifier_key,
            key_rotations,
        })
    }

    /// The latest checkpoint note, unverified.
    pub async fn checkpoint_note(&self) -> Result<Vec<u8>> {
        let checkpoint = self
            .inner
            .clone()
            .get_checkpoint(self.request(pb::GetCheckpointRequest {}))
            .await
            .map_err(|s| from_status(&s))?;
        Ok(checkpoint.into_inner().note)
    }

    /// The newest witnessed checkpoint note, with its cosignatures, unverified.
    pub async fn witnessed_note(&self) -> Result<Vec<u8>> {
        let checkpoint = self
            .inner
            .clone()
            .get_witnessed_checkpoint(self.request(pb::GetWitnessedCheckpointRequest {}))
            .await
            .map_err(|s| from_status(&s))?;
        Ok(checkpoint.into_inner().note)
    }

    /// One page of entries from `start` (possibly fewer than asked).
    pub async fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let request = pb::GetEntriesRequest { start, end };
        let page = self
            .inner
            .clone()
            .get_entries(self.request(request))
            .await
            .map_err(|s| from_status(&s))?;
        Ok(page.into_inner().entries)
    }

    pub async fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>> {
        let request = pb::GetInclusionProofRequest { index, tree_size };
        let proof = self
            .inner
            .clone()
            .get_inclusion_proof(self.request(request))
            .await
            .map_err(|s| from_status(&s))?;
        to_hashes(proof.into_inner().hashes)
    }

    pub async fn consistency_proof(&self, from_size: u64, to_size: u64) -> Result<Vec<Hash>> {
        let request = pb::GetConsistencyProofRequest { from_size, to_size };
        let proof = self
            .inner
            .clone()
            .get_consistency_proof(self.request(request))
            .await
            .map_err(|s| from_status(&s))?;
        to_hashes(proof.into_inner().hashes)
    }
}

/// A board's or employer's client of one node: Board and Registry calls, with
/// the bearer token (if any) attached to every request.
#[derive(Clone)]
pub struct NodeClient {
    channel: Channel,
    token: Option<String>,
}

impl NodeClient {
    /// Connects over plaintext; with a token, only to a loopback address
    /// ([`check_token_transport`]).
    pub async fn connect(endpoint: &str, token: Option<String>) -> Result<NodeClient> {
        if token.is_some() {
            check_token_transport(endpoint)?;
        }
        Ok(NodeClient {
            channel: connect(endpoint).await?,
            token,
        })
    }

    pub async fn connect_tls(endpoint: &str, token: Option<String>, tls: &ClientTls) -> Result<NodeClient> {
        if token.is_some() {
            check_token_transport(endpoint)?;
        }
        Ok(NodeClient {
            channel: connect_with(endpoint, Some(tls)).await?,
            token,
        })
    }

    /// A client on an open channel (e.g. one shared with a [`LogClient`]).
    /// The caller vouches for the channel's transport if it passes a token.
    pub fn from_channel(channel: Channel, token: Option<String>) -> NodeClient {
        NodeClient { channel, token }
    }

    fn registry(&self) -> RegistryClient<Channel> {
        bounded!(RegistryClient::new(self.channel.clone()))
    }

    fn board(&self) -> BoardClient<Channel> {
        bounded!(BoardClient::new(self.channel.clone()))
    }

    fn reciprocity(&self) -> ReciprocityClient<Channel> {
        bounded!(ReciprocityClient::new(self.channel.clone()))
    }

    /// The open channel, for the other services' clients in `service`.
    pub(super) fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub(super) fn federation(&self) -> FederationClient<Channel> {
        bounded!(FederationClient::new(self.channel.clone()))
    }

    /// The origin's evidence bundle for one credential: only for a signed
    /// request of a state the origin trusts, within the holder's consent.
    pub async fn evidence(&self, request: pb::GetEvidenceRequest) -> Result<pb::EvidenceBundle> {
        let mut reciprocity = self.reciprocity();
        let answer = reciprocity.get_evidence(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    /// Asks this (receiving) node to evaluate a transfer; needs a board token.
    pub async fn evaluate_transfer(&self, request: pb::EvaluateTransferRequest) -> Result<pb::TransferDecision> {
        let mut reciprocity = self.reciprocity();
        let answer = reciprocity.evaluate_transfer(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn federation_status(&self) -> Result<pb::FederationStatus> {
        let mut federation = self.federation();
        let answer = federation
            .get_federation_status(self.request(pb::GetFederationStatusRequest {})?)
            .await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn origin_status(&self, origin_state: String, credential_number: String) -> Result<pb::OriginStatus> {
        let mut federation = self.federation();
        let request = pb::GetOriginStatusRequest {
            origin_state,
            credential_number,
        };
        let answer = federation.get_origin_status(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub(super) fn request<T>(&self, message: T) -> Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| Error::InvalidArgument("the token contains characters not allowed in a header".into()))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }

    /// Records one event through the Board RPC for its kind.
    pub async fn record(&self, event_id: String, body: pb::command::Body) -> Result<pb::Receipt> {
        use pb::command::Body;
        let mut board = self.board();
        let answer = match body {
            Body::PeerEnrolled(event) => {
                board
                    .enroll_peer(self.request(pb::EnrollPeerRequest {
                        event_id,
                        event: Some(event),
                    })?)
                    .await
            }
            Body::NameChanged(event) => {
                board
                    .change_name(self.request(pb::ChangeNameRequest {
                        event_id,
                        event: Some(event),
                    })?)
                    .await
            }
            Body::TrainingCompleted(event) => {
                board
                    .record_training(self.request(pb::RecordTrainingRequest {
                        event_id,
                        event: Some(event),
                    })?)
                    .await
            }
            Body::ExperienceRecorded(event) => {
                let request = pb::RecordExperienceRequest {
                    event_id,
                    event: Some(event),
                };
                board.record_experience(self.request(request)?).await
            }
            Body::ExamRecorded(event) => {
                board
                    .record_exam(self.request(pb::RecordExamRequest {
                        event_id,
                        event: Some(event),
                    })?)
                    .await
            }
            Body::CredentialIssued(event) => {
                let request = pb::IssueCredentialRequest {
                    event_id,
                    event: Some(event),
                };
                board.issue_credential(self.request(request)?).await
            }
            Body::ContinuingEducationCompleted(event) => {
                let request = pb::RecordContinuingEducationRequest {
                    event_id,
                    event: Some(event),
                };
                board.record_continuing_education(self.request(request)?).await
            }
            Body::CredentialRenewed(event) => {
                let request = pb::RenewCredentialRequest {
                    event_id,
                    event: Some(event),
                };
                board.renew_credential(self.request(request)?).await
            }
            Body::DisciplinaryAction(event) => {
                let request = pb::RecordDisciplineRequest {
                    event_id,
                    event: Some(event),
                };
                board.record_discipline(self.request(request)?).await
            }
            Body::CredentialReinstated(event) => {
                let request = pb::ReinstateCredentialRequest {
                    event_id,
                    event: Some(event),
                };
                board.reinstate_credential(self.request(request)?).await
            }
            Body::SigningKeyRotated(_) => {
                return Err(Error::InvalidArgument(
                    "key rotation is not a board operation: the operator runs `peerreg key rotate`".into(),
                ))
            }
            Body::ConsentRecorded(event) => {
                let request = pb::RecordConsentRequest {
                    event_id,
                    event: Some(event),
                };
                board.record_consent(self.request(request)?).await
            }
            Body::WaiverRecorded(event) => {
                let request = pb::RecordWaiverRequest {
                    event_id,
                    event: Some(event),
                };
                board.record_waiver(self.request(request)?).await
            }
            Body::Expunge(event) => {
                let request = pb::ExpungeRequest {
                    event_id,
                    event: Some(event),
                };
                board.expunge(self.request(request)?).await
            }
            Body::Void(event) => {
                let request = pb::VoidRecordRequest {
                    event_id,
                    event: Some(event),
                };
                board.void_record(self.request(request)?).await
            }
            Body::RequirementEvidence(event) => {
                let request = pb::RecordRequirementEvidenceRequest {
                    event_id,
                    event: Some(event),
                };
                board.record_requirement_evidence(self.request(request)?).await
            }
            Body::TransferEvaluated(_) | Body::DisclosureRecorded(_) => {
                return Err(Error::InvalidArgument(
                    "transfer evaluations and disclosures are recorded by the node itself, not as board commands"
                        .into(),
                ))
            }
            Body::ImportProvenance(_) => {
                return Err(Error::InvalidArgument(
                    "import provenance is recorded in a batch by `peerreg import`".into(),
                ))
            }
        };
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    /// Records up to 1,000 commands in one call (an import); results per command.
    pub async fn record_batch(&self, commands: Vec<pb::BatchCommand>) -> Result<pb::RecordBatchResponse> {
        let mut board = self.board();
        let answer = board
            .record_batch(self.request(pb::RecordBatchRequest {
                commands,
                dry_run: false,
            })?)
            .await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    /// Judges up to 1,000 commands exactly as `record_batch` would and records
    /// nothing (an import's dry run): results per command.
    pub async fn dry_run_batch(&self, commands: Vec<pb::BatchCommand>) -> Result<pb::RecordBatchResponse> {
        let mut board = self.board();
        let answer = board
            .record_batch(self.request(pb::RecordBatchRequest {
                commands,
                dry_run: true,
            })?)
            .await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn check(&self, request: pb::CheckCredentialRequest) -> Result<pb::CredentialCheck> {
        let mut registry = self.registry();
        let answer = registry.check_credential(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn check_roster(&self, items: Vec<pb::RosterItem>) -> Result<pb::CheckRosterResponse> {
        let mut registry = self.registry();
        let answer = registry
            .check_roster(self.request(pb::CheckRosterRequest { items })?)
            .await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn export_proof(&self, credential_number: String) -> Result<pb::CredentialProof> {
        let mut registry = self.registry();
        let request = self.request(pb::ExportCredentialProofRequest { credential_number })?;
        registry
            .export_credential_proof(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| from_status(&s))
    }

    /// Follows credential changes, calling `on_change` for each, until the
    /// stream ends (or fails: the error says why, e.g. cut off for reading slowly).
    pub async fn watch(
        &self,
        credential_numbers: Vec<String>,
        from_index: u64,
        mut on_change: impl FnMut(pb::CredentialChange),
    ) -> Result<()> {
        let mut registry = self.registry();
        let request = self.request(pb::WatchCredentialsRequest {
            credential_numbers,
            from_index,
        })?;
        let mut stream = registry
            .watch_credentials(request)
            .await
            .map_err(|s| from_status(&s))?
            .into_inner();
        while let Some(change) = stream.message().await.map_err(|s| from_status(&s))? {
            on_change(change);
        }
        Ok(())
    }

    pub async fn peer_record(&self, peer_id: String) -> Result<pb::PeerRecord> {
        let mut registry = self.registry();
        let answer = registry
            .get_peer_record(self.request(pb::GetPeerRecordRequest { peer_id })?)
            .await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn statistics(&self, as_of: String) -> Result<pb::Statistics> {
        let mut registry = self.registry();
        let answer = registry
            .get_statistics(self.request(pb::GetStatisticsRequest { as_of })?)
            .await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn profile(&self) -> Result<pb::Profile> {
        let mut registry = self.registry();
        let answer = registry.get_profile(self.request(pb::GetProfileRequest {})?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    /// One page of the board's people search (needs `view_records`).
    pub async fn search_people(&self, request: pb::SearchPeopleRequest) -> Result<pb::SearchPeopleResponse> {
        let mut registry = self.registry();
        let answer = registry.search_people(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    /// One page of the board's credential list (needs `view_records`).
    pub async fn list_credentials(&self, request: pb::ListCredentialsRequest) -> Result<pb::ListCredentialsResponse> {
        let mut registry = self.registry();
        let answer = registry.list_credentials(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    /// One page of the public register (no token needed).
    pub async fn export_public_register(
        &self,
        request: pb::ExportPublicRegisterRequest,
    ) -> Result<pb::ExportPublicRegisterResponse> {
        let mut registry = self.registry();
        let answer = registry.export_public_register(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }
}
