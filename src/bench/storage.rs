//! Scenario 5, storage: bytes on disk per event against the encoded entry
//! size, after a log of `bulk_events` enrolments is written and closed: the
//! log's store alone (tiles, checkpoint, index: issue 18's target), and the
//! whole data directory (with the private store and the registry snapshot).

use super::{enrolment, fill, open_ledger, Report, Row, Scale, Target, TempDir};
use crate::error::{Error, Result};

/// Bytes of every file under `dir`.
fn disk_bytes(dir: &std::path::Path) -> Result<u64> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Internal(format!("reading {}: {e}", dir.display())))?;
    let mut total = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let metadata = entry
            .metadata()
            .map_err(|e| Error::Internal(format!("reading {}: {e}", path.display())))?;
        total += if metadata.is_dir() {
            disk_bytes(&path)?
        } else {
            metadata.len()
        };
    }
    Ok(total)
}

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let dir = TempDir::new("storage")?;
    let ledger = open_ledger(dir.path())?;
    fill(&ledger, 0, scale.bulk_events, 256, enrolment).await?;
    let size = ledger.published().checkpoint.size;
    let mut entry_bytes = 0u64;
    let mut start = 0;
    while start < size {
        let page = ledger.entries(start, size)?;
        if page.is_empty() {
            return Err(Error::Internal(format!("no entries returned from {start}")));
        }
        start += page.len() as u64;
        entry_bytes += page.iter().map(|e| e.len() as u64).sum::<u64>();
    }
    ledger.shutdown().await;
    let on_disk = disk_bytes(dir.path())?;
    let store = disk_bytes(&crate::ledger::store_path(dir.path()))?;
    let snapshot = std::fs::metadata(crate::ledger::snapshot_path(dir.path())).map_or(0, |m| m.len());
    let per_event = on_disk as f64 / size as f64;
    let entry = entry_bytes as f64 / size as f64;
    let index = disk_bytes(&crate::ledger::store_path(dir.path()).join("index"))?;
    report.add(Row {
        scenario: format!("storage: log store bytes per event ({size} events; tiles, checkpoint, index)"),
        figure: store as f64 / size as f64,
        unit: "B",
        baseline_name: "B encoded entry".into(),
        baseline: entry,
        detail: format!(
            "tiles and checkpoint {:.0} B/event, sled index {:.0} B/event",
            (store - index) as f64 / size as f64,
            index as f64 / size as f64
        ),
        targets: if scale.name == "full" {
            vec![Target::RatioAtMost(2.0)]
        } else {
            Vec::new()
        },
    });
    report.add(Row {
        scenario: format!("storage: bytes on disk per event ({size} events)"),
        figure: per_event,
        unit: "B",
        baseline_name: "B encoded entry".into(),
        baseline: entry,
        detail: format!(
            "{:.1} MiB in all: log store {:.0} B/event, registry snapshot {:.0} B/event, the rest the private store",
            on_disk as f64 / (1024.0 * 1024.0),
            store as f64 / size as f64,
            snapshot as f64 / size as f64
        ),
        targets: if scale.name == "full" {
            vec![Target::RatioAtMost(3.0)]
        } else {
            Vec::new()
        },
    });
    Ok(())
}
