//! Scenario: witnessing. Three real nodes (own stores, gRPC and HTTP on
//! loopback), each a witness for the other two with the default quorum of
//! two. One commit at a time on one of them: the time from the append's
//! acknowledgement to its checkpoint carrying both cosignatures, beside the
//! commit itself (append to durable, signed checkpoint) in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::load::Figures;
use super::{Report, Row, Scale, TempDir};
use crate::config::{self, NodeConfig};
use crate::demo::bodies::enrol;
use crate::error::{Error, Result};
use crate::federation::trust::{TrustEntry, TrustList, TrustedWitness};
use crate::node::{self, Listeners, Node};
use crate::witness::Witnessing;

const STATES: [&str; 3] = ["MS", "TX", "PA"];

/// A site's configuration and listeners, before its node starts.
struct Site {
    config: NodeConfig,
    listeners: Listeners,
    log_key: String,
    witness_key: String,
}

async fn site(state: &str, dir: &TempDir) -> Result<Site> {
    let bind = || tokio::net::TcpListener::bind("127.0.0.1:0");
    let unavailable = |e: std::io::Error| Error::Unavailable(format!("a loopback port: {e}"));
    let listeners = Listeners {
        grpc: bind().await.map_err(unavailable)?,
        web: Some(bind().await.map_err(unavailable)?),
    };
    let mut config = NodeConfig::for_state(state)?;
    config.data_dir = dir.path().join(state.to_lowercase());
    config.key_file = config.data_dir.join("log.key");
    config.profile = super::permissive_profile().into();
    let log_key = node::signer(&config)?.verifier().to_key_string();
    let name = format!("{}/witness", config.origin);
    let witness_key = config::load_or_create_cosigner(&config.witness_key_file(), &name)?.verifier_key();
    Ok(Site {
        config,
        listeners,
        log_key,
        witness_key,
    })
}

fn address(listener: &tokio::net::TcpListener) -> Result<String> {
    listener
        .local_addr()
        .map(|a| format!("http://{a}"))
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Writes each site's trust list: the other two, with their witnesses.
fn trust_each_other(sites: &[Site]) -> Result<()> {
    for site in sites {
        let mut entries = Vec::new();
        for other in sites.iter().filter(|o| o.config.state != site.config.state) {
            let web = other
                .listeners
                .web
                .as_ref()
                .ok_or_else(|| Error::Internal("no web listener".into()))?;
            entries.push(TrustEntry {
                state: other.config.state.clone(),
                endpoint: address(&other.listeners.grpc)?,
                key: other.log_key.clone(),
                ca_cert: None,
                witness: Some(TrustedWitness {
                    url: address(web)?,
                    key: other.witness_key.clone(),
                }),
            });
        }
        TrustList::from_entries(entries)?.save(&site.config.data_dir)?;
    }
    Ok(())
}

async fn witnessed_size(witnessing: &Arc<Witnessing>, size: u64, deadline: Instant) -> Result<()> {
    while witnessing
        .collector
        .witnessed()
        .is_none_or(|(p, _)| p.checkpoint.size < size)
    {
        if Instant::now() > deadline {
            return Err(Error::Unavailable(format!("size {size} was not witnessed in time")));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok(())
}

/// Appends one enrolment, retrying while the node still waits for its
/// witnesses after its start; answers the commit's latency and the size.
async fn commit(node: &Node, i: usize) -> Result<(Duration, u64)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let started = Instant::now();
        match node
            .ledger()
            .append(format!("bench-witness-{i}"), enrol(&format!("W-{i}"), "Bench Person"))
            .await
        {
            Ok(receipt) => return Ok((started.elapsed(), receipt.published.checkpoint.size)),
            Err(Error::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => return Err(e),
        }
    }
}

pub async fn run(scale: Scale, report: &mut Report) -> Result<()> {
    let commits = if scale.name == "full" { 300 } else { 20 };
    let dir = TempDir::new("witness")?;
    let mut sites = Vec::new();
    for state in STATES {
        sites.push(site(state, &dir).await?);
    }
    trust_each_other(&sites)?;
    let mut nodes = Vec::new();
    for site in sites {
        nodes.push(node::start_on(site.config, site.listeners).await?);
    }
    let witnessing = nodes[0]
        .witnessing()
        .cloned()
        .ok_or_else(|| Error::Internal("the node runs no witnessing".into()))?;
    let (mut commit_times, mut witness_times) = (Vec::new(), Vec::new());
    let began = Instant::now();
    for i in 0..commits {
        let (took, size) = commit(&nodes[0], i).await?;
        let acknowledged = Instant::now();
        witnessed_size(&witnessing, size, acknowledged + Duration::from_secs(30)).await?;
        commit_times.push(took);
        witness_times.push(acknowledged.elapsed());
    }
    let elapsed = began.elapsed();
    let committed = Figures::from_latencies(commit_times, elapsed);
    let witnessed = Figures::from_latencies(witness_times, elapsed);
    report.add(Row {
        scenario: "witness: from a commit's acknowledgement to 2 cosignatures (3 nodes, loopback HTTP)".into(),
        figure: witnessed.p50_ms,
        unit: "ms p50",
        baseline_name: "ms p50 of the commit itself (durable, signed)".into(),
        baseline: committed.p50_ms,
        detail: format!(
            "p99 {:.2} ms (commit p99 {:.2} ms); {} commits one at a time",
            witnessed.p99_ms, committed.p99_ms, commits
        ),
        targets: Vec::new(),
    });
    for node in nodes {
        node.stop().await?;
    }
    Ok(())
}
