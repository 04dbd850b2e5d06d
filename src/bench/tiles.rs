//! Scenario: the log served as C2SP tiles. A node with `bulk_events`
//! enrolments (10,000 at tiny scale's floor) serves full tiles (level-0 hash
//! tiles and entry bundles, alternating, spread over the tree) to
//! `check_clients` keep-alive HTTP/1.1 clients; the baseline is `GET
//! /checkpoint` (a small answer from memory) by as many clients in the same
//! run: the HTTP stack's own rate here.

use std::sync::Arc;

use super::load::closed_loop;
use super::web::Http;
use super::{open_ledger, serve_stoppable, Report, Row, Scale, Target, TempDir};
use crate::demo::bodies::enrol;
use crate::error::{Error, Result};
use crate::log::tiles::{entry_bundles, hash_tiles, Tile};

/// The floor for full tiles served at 64 clients.
const TILES_PER_SECOND: f64 = 20_000.0;

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let full = scale.name == "full";
    let count = if full { 65_536 } else { 2_048 };
    let dir = TempDir::new("tiles")?;
    let ledger = open_ledger(dir.path())?;
    let items: Vec<_> = (0..count)
        .map(|i| (format!("bench-tiles-{i}"), enrol(&format!("T-{i}"), "Tile Person")))
        .collect();
    for chunk in items.chunks(crate::limits::BATCH_COMMANDS_MAX.min(1_000)) {
        for result in ledger.append_many(chunk.to_vec()).await? {
            result?;
        }
    }
    let size = ledger.published().checkpoint.size;
    let mut paths: Vec<String> = hash_tiles(size, 0)
        .into_iter()
        .zip(entry_bundles(size))
        .flat_map(|(hashes, bundle)| [hashes, bundle])
        .filter(Tile::is_full)
        .map(|t| format!("/{}", t.path()))
        .collect();
    if paths.is_empty() {
        return Err(Error::Internal("no full tile to serve".into()));
    }
    paths.sort();
    let paths = Arc::new(paths);
    let serving = serve_stoppable(&ledger).await?;
    let clients = scale.check_clients;
    let web = serving.web_endpoint.clone();
    let baseline = closed_loop(
        clients,
        scale.seconds,
        |_| Http::connect(&web),
        |http: &Arc<Http>, _, _| {
            let http = http.clone();
            async move { http.get("/checkpoint".into()).await.map(drop) }
        },
    )
    .await?;
    let tiles = {
        let paths = paths.clone();
        closed_loop(
            clients,
            scale.seconds,
            |_| Http::connect(&web),
            move |http: &Arc<Http>, task, i| {
                let (http, paths) = (http.clone(), paths.clone());
                async move {
                    let path = &paths[(task * 7919 + i) % paths.len()];
                    let body = http.get(path.clone()).await?;
                    if body.len() < 8_192 && path.contains("/0/") {
                        return Err(Error::Internal(format!("{path}: a full hash tile is 8,192 bytes")));
                    }
                    Ok(())
                }
            },
        )
        .await?
    };
    report.add(Row {
        scenario: format!("tiles: full tiles over HTTP at {clients} clients ({size} entries)"),
        figure: tiles.per_second,
        unit: "tiles/s",
        baseline_name: "GET /checkpoint/s (a small answer from memory)".into(),
        baseline: baseline.per_second,
        detail: format!("{}; {} full tiles in rotation", tiles.latency_text(), paths.len()),
        targets: if full {
            vec![Target::AtLeast(TILES_PER_SECOND)]
        } else {
            Vec::new()
        },
    });
    serving.stop().await;
    ledger.shutdown().await;
    Ok(())
}
