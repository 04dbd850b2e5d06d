//! A store of the earlier layout (the whole log in one sled database) is
//! refused with the command that converts it; `peerreg store convert` turns
//! it into tiles holding the same log, with its event ids carried over (a
//! retry of an old command is still answered as a duplicate).

mod common;

use std::path::Path;

use common::{append_enrolments, open_ledger};
use peerreg::ledger::store_path;
use peerreg::log::entry::decode_entry;
use peerreg::log::merkle::{leaf_hash, HashReader, NodeId};
use peerreg::store::Store;

const OLD_FORMAT: &[u8] = b"peerreg log format 2: public events (DESIGN.md section 8)";

fn key(prefix: u8, index: u64) -> Vec<u8> {
    let mut key = vec![prefix];
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// Rewrites the tile store in `data_dir` as the earlier layout: entries `e`,
/// leaf hashes `h`, event ids `i`, and the checkpoint and format keys.
fn make_old_layout(data_dir: &Path) {
    let dir = store_path(data_dir);
    let (entries, note) = {
        let store = Store::open(&dir).expect("the tile store opens");
        let size = store.last_entry_index().expect("size").map_or(0, |last| last + 1);
        (
            store.entries(0, size).expect("entries"),
            store.checkpoint_note().expect("note").expect("a checkpoint"),
        )
    };
    std::fs::remove_dir_all(&dir).expect("remove the tile store");
    let db = sled::open(&dir).expect("an old-layout sled store");
    for (index, entry) in (0u64..).zip(&entries) {
        db.insert(key(b'e', index), entry.as_slice()).expect("insert");
        let mut hash_key = vec![b'h', 0];
        hash_key.extend_from_slice(&index.to_be_bytes());
        db.insert(hash_key, &leaf_hash(entry)[..]).expect("insert");
        let (_, event) = decode_entry(index, entry).expect("an entry");
        let mut id_key = vec![b'i'];
        id_key.extend_from_slice(event.event_id.as_bytes());
        db.insert(id_key, &index.to_be_bytes()[..]).expect("insert");
    }
    db.insert(b"m:checkpoint", note.as_slice()).expect("insert");
    db.insert(b"m:format", OLD_FORMAT).expect("insert");
    db.flush().expect("flush");
}

#[tokio::test]
async fn an_old_layout_store_is_refused_then_converted_to_the_same_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = open_ledger(dir.path()).expect("open");
    append_enrolments(&ledger, "old", 300).await;
    let published = ledger.published();
    let entries = ledger.entries(0, 300).expect("entries");
    let first = ledger
        .append("evt-old-0".into(), common::enrolment("old-0"))
        .await
        .expect("a retry");
    assert!(first.duplicate, "the retry of an appended command is a duplicate");
    ledger.shutdown().await;
    make_old_layout(dir.path());

    let refused = open_ledger(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("peerreg store convert --data-dir"), "{refused}");

    let converted = peerreg::store::convert::convert(&store_path(dir.path())).expect("converted");
    assert_eq!(converted.entries, 300);
    assert!(converted.old_store.join("db").exists(), "the old store is kept");
    assert!(store_path(dir.path()).join("tile/entries/000").exists());

    let reopened = open_ledger(dir.path()).expect("the converted log opens and verifies");
    assert_eq!(reopened.published(), published);
    assert_eq!(reopened.entries(0, 300).expect("entries"), entries);
    let retry = reopened
        .append("evt-old-0".into(), common::enrolment("old-0"))
        .await
        .expect("a retry after conversion");
    assert!(
        retry.duplicate && retry.index == first.index,
        "event ids were carried over"
    );
    let next = reopened
        .append("new-0".into(), common::enrolment("new-0"))
        .await
        .expect("appends continue");
    assert_eq!(next.index, 300);
    reopened.shutdown().await;

    let again = peerreg::store::convert::convert(&store_path(dir.path())).err();
    assert!(
        again.is_some_and(|e| e.to_string().contains("nothing to convert")),
        "a tile store is not converted twice"
    );
    let store = Store::open(&store_path(dir.path())).expect("open");
    let leaf = store.read_hashes(&[NodeId::leaf(0)]).expect("a leaf hash");
    assert_eq!(leaf, vec![leaf_hash(&entries[0])]);
}
