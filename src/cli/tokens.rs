//! `peerreg token add|list|revoke`: a running node's tokens, changed without a
//! restart (needs a token with `admin_tokens`, from PEERREG_TOKEN).

use chrono::{DateTime, NaiveDate};
use clap::Subcommand;

use super::Connection;
use crate::error::{Error, Result};
use crate::pb;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Add a token; prints its secret once (the node keeps only its hash).
    Add {
        #[command(flatten)]
        connection: Connection,
        /// The token's name (1 to 64 of A-Z a-z 0-9 . _ -), shown in the node's log.
        name: String,
        /// Operations it may perform, comma-separated (e.g. record_training,view_records), or "*".
        #[arg(long, value_delimiter = ',', required = true)]
        rights: Vec<String>,
        /// Last day (UTC) it works, YYYY-MM-DD; it stops at midnight after it. Default: never.
        #[arg(long)]
        expires: Option<String>,
        /// Your own secret instead of a generated one (refused unless as strong:
        /// 32+ random characters). Better from the environment than the command line.
        #[arg(long, env = "PEERREG_NEW_TOKEN_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// List tokens: names, rights, creation and expiry (never secrets).
    List {
        #[command(flatten)]
        connection: Connection,
    },
    /// Revoke a token: its next call is refused.
    Revoke {
        #[command(flatten)]
        connection: Connection,
        name: String,
    },
}

pub async fn token(command: TokenCommand) -> Result<String> {
    match command {
        TokenCommand::Add {
            connection,
            name,
            rights,
            expires,
            secret,
        } => {
            let request = pb::AddTokenRequest {
                name,
                operations: rights.into_iter().map(|r| r.trim().to_string()).collect(),
                expires_at: expires.as_deref().map(expiry).transpose()?.unwrap_or_default(),
                secret: secret.unwrap_or_default(),
            };
            let added = connection.client(true).await?.add_token(request).await?;
            Ok(format!(
                "added token {}\nsecret: {}\n(shown once: give it to its holder now; the node keeps only its hash)",
                added.name, added.secret
            ))
        }
        TokenCommand::List { connection } => {
            let tokens = connection.client(true).await?.list_tokens().await?;
            let mut lines: Vec<String> = tokens.iter().map(line).collect();
            lines.push(format!("{} token(s)", tokens.len()));
            Ok(lines.join("\n"))
        }
        TokenCommand::Revoke { connection, name } => {
            connection.client(true).await?.revoke_token(name.clone()).await?;
            Ok(format!("revoked token {name}"))
        }
    }
}

/// The Unix second a token given `--expires DAY` stops working: midnight UTC
/// after that day, so it works through the whole day named.
fn expiry(day: &str) -> Result<i64> {
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|_| Error::InvalidArgument(format!("--expires {day:?} is not a date YYYY-MM-DD")))?;
    let next = date
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| Error::InvalidArgument(format!("--expires {day:?} is out of range")))?;
    Ok(next.and_utc().timestamp())
}

fn when(seconds: i64, none: &str) -> String {
    if seconds == 0 {
        return none.to_string();
    }
    DateTime::from_timestamp(seconds, 0)
        .map_or_else(|| seconds.to_string(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
}

/// One token, plainly.
fn line(token: &pb::TokenInfo) -> String {
    format!(
        "{}  rights: {}  created: {}  expires: {}",
        token.name,
        token.operations.join(","),
        when(token.created_at, "-"),
        when(token.expires_at, "never")
    )
}
