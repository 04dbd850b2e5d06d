//! `peerreg.v1.Admin`: the running node's tokens, added, listed and revoked
//! without a restart (`auth::Tokens` keeps and swaps them), and the client
//! calls for them.

use std::sync::Arc;

use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use super::board::authorize;
use super::client::NodeClient;
use super::rpc::admin_client::AdminClient;
use super::rpc::admin_server::Admin;
use super::status::from_status;
use crate::auth::{NewToken, Operation, TokenInfo, Tokens};
use crate::error::Result;
use crate::limits;
use crate::pb;

pub struct AdminService {
    tokens: Arc<Tokens>,
}

impl AdminService {
    pub fn new(tokens: Arc<Tokens>) -> AdminService {
        AdminService { tokens }
    }
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

    pub async fn revoke_token(&self, name: String) -> Result<()> {
        let answer = self
            .admin()
            .revoke_token(self.request(pb::RevokeTokenRequest { name })?)
            .await;
        answer.map(|_| ()).map_err(|s| from_status(&s))
    }
}
