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

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// Convert a store of the earlier layout (one sled database) to tiles.
    /// The old store is kept beside it as `log.before-tiles/`.
    Convert {
        /// The node's data directory (its `log/` is converted).
        #[arg(long)]
        data_dir: std::path::PathBuf,
    },
}

/// `peerreg store convert`: the one-time move to the tile layout.
pub fn store(command: StoreCommand) -> Result<String> {
    match command {
        StoreCommand::Convert { data_dir } => {
            let converted = crate::store::convert::convert(&crate::ledger::store_path(&data_dir))?;
            Ok(format!(
                "CONVERTED: {} entries now in tiles under {}
The old store is kept at {}: remove it once the \
                 node has started and verified the log.",
                converted.entries,
                crate::ledger::store_path(&data_dir).display(),
                converted.old_store.display()
            ))
        }
    }
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
