//! The log as C2SP tlog-tiles over HTTP, read by a client with its own code:
//! its own bundle decoder and the independent RFC 6962 hashing in
//! `common::rfc9162`, checked against the checkpoint signed by the pinned key.

mod common;

use common::rfc9162::{leaf, root, Hash};
use peerreg::audit::{audit_tiles, TileReader};
use peerreg::log::cosignature::WitnessPolicy;
use peerreg::log::note::{Checkpoint, NoteVerifier};
use peerreg::service::http_get::HttpTiles;

const ENTRIES: usize = 600;

struct Answer {
    status: u16,
    cache_control: String,
    body: Vec<u8>,
}

async fn get(base: &str, path: &str) -> Answer {
    let response = reqwest::get(format!("{base}/{path}")).await.expect("the node answers");
    let status = response.status().as_u16();
    let cache_control = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.bytes().await.expect("a body").to_vec();
    Answer {
        status,
        cache_control,
        body,
    }
}

/// This client's own reading of an entry bundle: 16-bit big-endian lengths.
fn bundle_entries(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let length = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        entries.push(bytes[2..2 + length].to_vec());
        bytes = &bytes[2 + length..];
    }
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_served_as_tiles_that_verify_against_the_signed_checkpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = common::ms_web_config(dir.path());
    let listener = tokio::net::TcpListener::bind(config.listen).await.expect("bind");
    let node = peerreg::node::start(config, listener).await.expect("the node starts");
    common::append_enrolments(node.ledger(), "Tiled", ENTRIES).await;
    let base = node.web_endpoint().expect("the web side");
    let pinned = NoteVerifier::parse(&node.startup().verifier_key).expect("the pinned key");

    let checkpoint = get(&base, "checkpoint").await;
    assert_eq!(checkpoint.status, 200);
    let checkpoint = Checkpoint::open(&checkpoint.body, &pinned).expect("signed by the pinned key");
    assert_eq!(checkpoint.size, ENTRIES as u64);

    // Every entry, from the bundles; the tree they make has the signed root.
    let mut entries = Vec::new();
    for path in ["tile/entries/000", "tile/entries/001", "tile/entries/002.p/88"] {
        let answer = get(&base, path).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.cache_control, "public, max-age=31536000, immutable", "{path}");
        entries.extend(bundle_entries(&answer.body));
    }
    assert_eq!(entries.len(), ENTRIES);
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf(e)).collect();
    assert_eq!(root(&leaves), checkpoint.root, "the bundles hold the signed tree");

    // Hash tiles hold the tree's nodes: leaves at level 0, subtrees of 256 at level 1.
    let level0 = get(&base, "tile/0/001").await;
    assert_eq!(level0.body, leaves[256..512].concat());
    let partial = get(&base, "tile/0/002.p/88").await;
    assert_eq!(partial.body, leaves[512..600].concat());
    let level1 = get(&base, "tile/1/000.p/2").await;
    assert_eq!(level1.body, [root(&leaves[..256]), root(&leaves[256..512])].concat());

    // A tile changed on its way (a cache, a mirror) no longer gives the root.
    let mut tampered = get(&base, "tile/entries/001").await.body;
    tampered[40] ^= 1;
    let mut forged = entries.clone();
    forged.splice(256..512, bundle_entries(&tampered));
    let forged: Vec<Hash> = forged.iter().map(|e| leaf(e)).collect();
    assert_ne!(root(&forged), checkpoint.root, "a tampered tile is caught");

    // Tiles the tree does not hold yet, and paths in any other spelling.
    for (path, status) in [
        ("tile/0/003", 404),
        ("tile/0/002", 404),
        ("tile/0/002.p/89", 404),
        ("tile/2/000.p/1", 404),
        ("tile/0/2", 404),
        ("tile/0/x000/002.p/88", 404),
        ("tile/entries/../000", 404),
        ("tile/9/000", 404),
    ] {
        assert_eq!(get(&base, path).await.status, status, "{path}");
    }
    assert_eq!(get(&base, "tile/0/000").await.status, 200, "the node still serves");

    // `peerreg audit --tiles`: the whole log through its tiles alone, then
    // again after it grew (the earlier root is recomputed on the way).
    let state = dir.path().join("audit.json");
    let tiles = HttpTiles::new(&base, None);
    let none = WitnessPolicy::default();
    let report = audit_tiles(&tiles, &pinned, &none, &state)
        .await
        .expect("the audit passes");
    assert_eq!(
        (report.size, report.entries_verified, report.root),
        (600, 600, checkpoint.root)
    );
    common::append_enrolments(node.ledger(), "Later", 10).await;
    let report = audit_tiles(&tiles, &pinned, &none, &state)
        .await
        .expect("the log only grew");
    assert_eq!((report.size, report.previous_size), (610, Some(600)));
    // A cache that changed one byte of one bundle is caught.
    let tampering = Tampering {
        inner: tiles,
        path: "tile/entries/001",
    };
    let caught = audit_tiles(&tampering, &pinned, &none, &dir.path().join("other.json"))
        .await
        .expect_err("a changed tile");
    assert_eq!(caught.code_name(), "DATA_LOSS", "{caught}");
    // A key that is not the log's verifies nothing.
    let stranger = NoteVerifier::parse(&common::signer("peerreg.local/ms").verifier().to_key_string()).expect("a key");
    let tiles = HttpTiles::new(&base, None);
    assert!(audit_tiles(&tiles, &stranger, &none, &dir.path().join("x.json"))
        .await
        .is_err());
    node.stop().await.expect("stops");
}

/// Serves `inner`'s tiles with one bit flipped in the tile at `path`.
struct Tampering {
    inner: HttpTiles,
    path: &'static str,
}

impl TileReader for Tampering {
    fn get(&self, path: &str) -> peerreg::source::SourceFuture<'_, Vec<u8>> {
        let flip = path == self.path;
        let fetched = self.inner.get(path);
        Box::pin(async move {
            let mut bytes = fetched.await?;
            if flip {
                bytes[40] ^= 1;
            }
            Ok(bytes)
        })
    }
}

/// A plain HTTP cache in front of the node: it keeps what the node marks
/// `immutable` and serves it again without asking; its store is the test's
/// to read and to damage.
#[derive(Clone, Default)]
struct Cache {
    origin: String,
    kept: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn through_cache(
    axum::extract::State(cache): axum::extract::State<Cache>,
    uri: axum::http::Uri,
) -> (axum::http::StatusCode, Vec<u8>) {
    let path = uri.path().to_string();
    if let Some(bytes) = cache.kept.lock().expect("cache").get(&path).cloned() {
        cache.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return (axum::http::StatusCode::OK, bytes);
    }
    let response = reqwest::get(format!("{}{path}", cache.origin))
        .await
        .expect("the origin answers");
    let status = axum::http::StatusCode::from_u16(response.status().as_u16()).expect("a status");
    let immutable = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("immutable"));
    let bytes = response.bytes().await.expect("a body").to_vec();
    if status.is_success() && immutable {
        cache.kept.lock().expect("cache").insert(path, bytes.clone());
    }
    (status, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_kept_by_a_plain_http_cache_still_verify_and_a_damaged_copy_is_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = common::ms_web_config(dir.path());
    let listener = tokio::net::TcpListener::bind(config.listen).await.expect("bind");
    let node = peerreg::node::start(config, listener).await.expect("the node starts");
    common::append_enrolments(node.ledger(), "Cached", 300).await;
    let pinned = NoteVerifier::parse(&node.startup().verifier_key).expect("the pinned key");
    let cache = Cache {
        origin: node.web_endpoint().expect("the web side"),
        ..Cache::default()
    };
    let app = axum::Router::new().fallback(through_cache).with_state(cache.clone());
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let proxied = format!("http://{}", proxy.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(proxy, app).await });

    let none = WitnessPolicy::default();
    let tiles = HttpTiles::new(&proxied, None);
    audit_tiles(&tiles, &pinned, &none, &dir.path().join("a.json"))
        .await
        .expect("through the cache");
    let kept = cache.kept.lock().expect("cache").len();
    assert_eq!(kept, 2, "both bundles kept (the checkpoint is not immutable)");
    audit_tiles(&tiles, &pinned, &none, &dir.path().join("b.json"))
        .await
        .expect("from the cache");
    assert_eq!(
        cache.hits.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "served from the cache"
    );

    // The cache's copy of a bundle is damaged: the audit says so.
    if let Some(bundle) = cache.kept.lock().expect("cache").get_mut("/tile/entries/000") {
        bundle[10] ^= 1;
    }
    let caught = audit_tiles(&tiles, &pinned, &none, &dir.path().join("c.json"))
        .await
        .expect_err("a damaged cached tile");
    assert_eq!(caught.code_name(), "DATA_LOSS", "{caught}");
    node.stop().await.expect("stops");
}
