//! `peerreg key rotate`: a running node's log signing key, rotated without a
//! restart (needs a token with `admin_keys`, from PEERREG_TOKEN). See
//! `ledger::rotate` for what a rotation writes and `log::keys` for how
//! partners, mirrors and auditors learn the new key.

use clap::Subcommand;

use super::Connection;
use crate::error::Result;

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Introduce a new log signing key with an entry signed by the current one.
    Rotate {
        #[command(flatten)]
        connection: Connection,
    },
}

pub async fn key(command: KeyCommand) -> Result<String> {
    match command {
        KeyCommand::Rotate { connection } => {
            let rotated = connection.client(true).await?.rotate_log_key().await?;
            Ok(format!(
                "ROTATED: entry {} introduces the new log key\n  {}\nsigned by the previous key\n  {}\n\
                 Checkpoints carry both signatures for the next {} entries, then the new key's only. \
                 Back up the new key file beside log.key (log-<key ID>.key in the data directory).",
                rotated.index, rotated.new_verifier_key, rotated.previous_verifier_key, rotated.transition_entries
            ))
        }
    }
}
