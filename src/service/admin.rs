//! `peerreg.v1.Admin`: the running node's tokens, added, listed and revoked
//! without a restart (`auth::Tokens` keeps and swaps them), its trust list
//! changed without a restart (`Federation::add_trust`/`remove_trust`), its
//! backups (`backup::stage`, streamed in bounded chunks), and the client
//! calls for them.

use std::io::Read;
use std::sync::Arc;

use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use super::board::authorize;
use super::client::NodeClient;
use super::rpc::admin_client::AdminClient;
use super::rpc::admin_server::Admin;
use super::status::from_status;
use crate::auth::{NewToken, Operation, TokenInfo, Tokens};
use crate::backup;
use crate::error::{Error, Result};
use crate::federation::trust::{Existing, TrustEntry, TrustedWitness};
use crate::federation::Federation;
use crate::ledger::Ledger;
use crate::limits;
use crate::pb;

pub struct AdminService {
    tokens: Arc<Tokens>,
    ledger: Ledger,
    federation: Arc<Federation>,
    /// One backup at a time (each stages a full copy on the node's disk).
    backups: Arc<tokio::sync::Semaphore>,
}

impl AdminService {
    pub fn new(tokens: Arc<Tokens>, ledger: Ledger, federation: Arc<Federation>) -> AdminService {
        AdminService {
            tokens,
            ledger,
            federation,
            backups: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }
}

fn entry_to_wire(entry: TrustEntry) -> pb::TrustListEntry {
    pb::TrustListEntry {
        state: entry.state,
        endpoint: entry.endpoint,
        key: entry.key,
        ca_cert: entry.ca_cert.map(|p| p.display().to_string()).unwrap_or_default(),
        witness_url: entry.witness.as_ref().map(|w| w.url.clone()).unwrap_or_default(),
        witness_key: entry.witness.map(|w| w.key).unwrap_or_default(),
    }
}

fn entry_from_wire(entry: pb::TrustListEntry) -> TrustEntry {
    TrustEntry {
        state: entry.state,
        endpoint: entry.endpoint,
        key: entry.key,
        ca_cert: (!entry.ca_cert.is_empty()).then(|| entry.ca_cert.into()),
        witness: (!entry.witness_url.is_empty() || !entry.witness_key.is_empty()).then_some(TrustedWitness {
            url: entry.witness_url,
            key: entry.witness_key,
        }),
    }
}

type Chunks = tokio::sync::mpsc::Sender<Result<pb::BackupChunk, Status>>;

/// Stages a backup and sends it file by file in chunks of at most
/// [`backup::CHUNK_BYTES`], the manifest last; stops when the client goes.
/// The staged copy is removed at the end either way. Blocking.
fn stream_backup(ledger: &Ledger, tokens: &Tokens, include_keys: bool, chunks: &Chunks) -> Result<backup::Manifest> {
    let staged = backup::stage(ledger, tokens.file(), include_keys)?;
    let mut paths: Vec<String> = staged.manifest.files.iter().map(|f| f.path.clone()).collect();
    paths.push(backup::MANIFEST.to_string());
    for path in paths {
        let full = staged.dir.join(backup::relative_path(&path)?);
        let mut file = std::fs::File::open(&full).map_err(|e| Error::Internal(format!("{path}: {e}")))?;
        let mut offset = 0u64;
        loop {
            let mut data = vec![0u8; backup::CHUNK_BYTES];
            let read = read_full(&mut file, &mut data).map_err(|e| Error::Internal(format!("{path}: {e}")))?;
            data.truncate(read);
            let last = read < backup::CHUNK_BYTES;
            let chunk = pb::BackupChunk {
                path: path.clone(),
                offset,
                data,
                last,
            };
            if chunks.blocking_send(Ok(chunk)).is_err() {
                return Err(Error::Unavailable("the client went away during the backup".into()));
            }
            offset += read as u64;
            if last {
                break;
            }
        }
    }
    Ok(staged.manifest.clone())
}

/// Reads until `buffer` is full or the file ends.
fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// 0 on the wire means "none".
fn optional(seconds: i64) -> Option<i64> {
    (seconds != 0).then_some(seconds)
}

fn token_info(info: TokenInfo) -> pb::TokenInfo {
    pb::TokenInfo {
        name: info.name,
        operations: info.operations,
        created_at: info.created_at.unwrap_or_default(),
        expires_at: info.expires_at.unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn add_token(&self, request: Request<pb::AddTokenRequest>) -> Result<Response<pb::AddTokenResponse>, Status> {
        let by = authorize(&self.tokens, request.metadata(), Operation::AdminTokens)?;
        let request = request.into_inner();
        let name = request.name.clone();
        let new = NewToken {
            name: request.name,
            operations: request.operations,
            expires_at: optional(request.expires_at),
            secret: (!request.secret.is_empty()).then_some(request.secret),
        };
        let secret = self.tokens.add(new)?;
        tracing::info!(token = %by, added = %name, "token added");
        Ok(Response::new(pb::AddTokenResponse { name, secret }))
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        authorize(&self.tokens, request.metadata(), Operation::AdminTokens)?;
        let tokens = self.tokens.list().into_iter().map(token_info).collect();
        Ok(Response::new(pb::ListTokensResponse { tokens }))
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::RevokeTokenResponse>, Status> {
        let by = authorize(&self.tokens, request.metadata(), Operation::AdminTokens)?;
        let name = request.into_inner().name;
        self.tokens.revoke(&name)?;
        tracing::info!(token = %by, revoked = %name, "token revoked");
        Ok(Response::new(pb::RevokeTokenResponse {}))
    }

    async fn add_trust(&self, request: Request<pb::AddTrustRequest>) -> Result<Response<pb::AddTrustResponse>, Status> {
        let by = authorize(&self.tokens, request.metadata(), Operation::AdminTrust)?;
        let request = request.into_inner();
        let entry = entry_from_wire(request.entry.unwrap_or_default());
        let existing = if request.replace {
            Existing::Replace
        } else {
            Existing::Refuse
        };
        let added = self.federation.add_trust(entry, existing).await?;
        tracing::info!(token = %by, state = %added.state, endpoint = %added.endpoint, "state trusted; its follower started");
        Ok(Response::new(pb::AddTrustResponse {
            entry: Some(entry_to_wire(added)),
        }))
    }

    async fn remove_trust(
        &self,
        request: Request<pb::RemoveTrustRequest>,
    ) -> Result<Response<pb::RemoveTrustResponse>, Status> {
        let by = authorize(&self.tokens, request.metadata(), Operation::AdminTrust)?;
        let removed = self.federation.remove_trust(&request.into_inner().state).await?;
        let kept_at = removed.kept_at.map(|p| p.display().to_string()).unwrap_or_default();
        tracing::info!(
            token = %by,
            state = %removed.entry.state,
            kept_at = %kept_at,
            stopped_cleanly = removed.stopped_cleanly,
            "state no longer trusted; its follower stopped, its verified copy kept"
        );
        Ok(Response::new(pb::RemoveTrustResponse {
            entry: Some(entry_to_wire(removed.entry)),
            kept_at,
        }))
    }

    async fn list_trust(
        &self,
        request: Request<pb::ListTrustRequest>,
    ) -> Result<Response<pb::ListTrustResponse>, Status> {
        authorize(&self.tokens, request.metadata(), Operation::AdminTrust)?;
        let entries = self
            .federation
            .trust_list()?
            .entries
            .into_iter()
            .map(entry_to_wire)
            .collect();
        Ok(Response::new(pb::ListTrustResponse { entries }))
    }

    async fn rotate_log_key(
        &self,
        request: Request<pb::RotateLogKeyRequest>,
    ) -> Result<Response<pb::RotateLogKeyResponse>, Status> {
        let by = authorize(&self.tokens, request.metadata(), Operation::AdminKeys)?;
        let rotation = self.ledger.rotate_key().await?;
        tracing::info!(token = %by, index = rotation.receipt.index, new_verifier_key = %rotation.new_verifier_key, "rotated the log's signing key");
        Ok(Response::new(pb::RotateLogKeyResponse {
            index: rotation.receipt.index,
            new_verifier_key: rotation.new_verifier_key,
            previous_verifier_key: rotation.previous_verifier_key,
            checkpoint: rotation.receipt.published.note.to_vec(),
            transition_entries: self.ledger.key_transition_entries(),
        }))
    }

    type BackupStream = tokio_stream::wrappers::ReceiverStream<Result<pb::BackupChunk, Status>>;

    async fn backup(&self, request: Request<pb::BackupRequest>) -> Result<Response<Self::BackupStream>, Status> {
        let by = authorize(&self.tokens, request.metadata(), Operation::AdminBackup)?;
        let include_keys = request.into_inner().include_keys;
        let permit = self.backups.clone().try_acquire_owned().map_err(|_| {
            Status::from(Error::Unavailable(
                "a backup of this node is already running; try again after it".into(),
            ))
        })?;
        let (chunks, receiver) = tokio::sync::mpsc::channel(backup::QUEUE_CHUNKS);
        let (ledger, tokens) = (self.ledger.clone(), self.tokens.clone());
        tracing::info!(token = %by, include_keys, "backup started");
        tokio::task::spawn_blocking(move || {
            let _one_at_a_time = permit;
            match stream_backup(&ledger, &tokens, include_keys, &chunks) {
                Ok(manifest) => tracing::info!(
                    token = %by,
                    entries = manifest.log_size,
                    files = manifest.files.len(),
                    include_keys,
                    "backup sent"
                ),
                Err(error) => {
                    tracing::warn!(token = %by, "backup failed: {error}");
                    let _ = chunks.blocking_send(Err(Status::from(error)));
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(receiver)))
    }
}

impl NodeClient {
    fn admin(&self) -> AdminClient<Channel> {
        AdminClient::new(self.channel())
            .max_decoding_message_size(limits::GRPC_RESPONSE_BYTES_MAX)
            .max_encoding_message_size(limits::GRPC_REQUEST_BYTES_MAX)
    }

    /// Adds a token; answers its secret (shown once).
    pub async fn add_token(&self, request: pb::AddTokenRequest) -> Result<pb::AddTokenResponse> {
        let answer = self.admin().add_token(self.request(request)?).await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn list_tokens(&self) -> Result<Vec<pb::TokenInfo>> {
        let answer = self.admin().list_tokens(self.request(pb::ListTokensRequest {})?).await;
        answer.map(|r| r.into_inner().tokens).map_err(|s| from_status(&s))
    }

    pub async fn add_trust(&self, request: pb::AddTrustRequest) -> Result<pb::TrustListEntry> {
        let answer = self.admin().add_trust(self.request(request)?).await;
        answer
            .map(|r| r.into_inner().entry.unwrap_or_default())
            .map_err(|s| from_status(&s))
    }

    pub async fn remove_trust(&self, state: String) -> Result<pb::RemoveTrustResponse> {
        let answer = self
            .admin()
            .remove_trust(self.request(pb::RemoveTrustRequest { state })?)
            .await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    /// Rotates the node's log signing key (`admin_keys`).
    pub async fn rotate_log_key(&self) -> Result<pb::RotateLogKeyResponse> {
        let answer = self
            .admin()
            .rotate_log_key(self.request(pb::RotateLogKeyRequest {})?)
            .await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn list_trust(&self) -> Result<Vec<pb::TrustListEntry>> {
        let answer = self.admin().list_trust(self.request(pb::ListTrustRequest {})?).await;
        answer.map(|r| r.into_inner().entries).map_err(|s| from_status(&s))
    }

    /// Starts a backup: the node's stream of file chunks.
    pub async fn backup(&self, include_keys: bool) -> Result<tonic::Streaming<pb::BackupChunk>> {
        let answer = self
            .admin()
            .backup(self.request(pb::BackupRequest { include_keys })?)
            .await;
        answer.map(tonic::Response::into_inner).map_err(|s| from_status(&s))
    }

    pub async fn revoke_token(&self, name: String) -> Result<()> {
        let answer = self
            .admin()
            .revoke_token(self.request(pb::RevokeTokenRequest { name })?)
            .await;
        answer.map(|_| ()).map_err(|s| from_status(&s))
    }
}
