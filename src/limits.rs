//! Every bound in one place, with the reason for it. A request that would exceed
//! one is refused with `RESOURCE_EXHAUSTED` (or `INVALID_ARGUMENT` for a field
//! that is simply too long), never served partly or buffered without limit.

use std::time::Duration;

/// Largest gRPC message a node sends (or a client accepts). A page of entries is
/// the biggest thing we send: `ENTRIES_PAGE_MAX` × `ENTRY_BYTES_MAX` must fit.
pub const GRPC_RESPONSE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Largest gRPC request a node decodes. Real requests are a few hundred bytes,
/// but the limit is set above 1 MiB on purpose: a request with an oversized
/// field then reaches validation and is refused with `INVALID_ARGUMENT` naming
/// the field and its limit, which a person can act on. Past this, tonic itself
/// refuses the message (it reports `OUT_OF_RANGE`, "message length too large").
pub const GRPC_REQUEST_BYTES_MAX: usize = 2 * 1024 * 1024;

/// Largest encoded `LogEntry`. Real events are a few hundred bytes; this leaves
/// room for long public summaries while keeping a page of entries bounded.
pub const ENTRY_BYTES_MAX: usize = 16 * 1024;

/// Entries returned by one `GetEntries` call; callers loop for more.
pub const ENTRIES_PAGE_MAX: u64 = 256;

/// Appends the committer takes into one group commit (one flush, one fsync,
/// one checkpoint signature). Bounds the latency of the first append in a batch.
pub const COMMIT_BATCH_MAX: usize = 1024;

/// Appends waiting for the committer; past this, callers wait (backpressure).
pub const APPEND_QUEUE_MAX: usize = 4096;

/// How often, at most, the committer retries a commit that failed on an I/O
/// error (a full disk) when appends keep arriving. Each retry may reopen sled,
/// which pauses reads for as long as sled's recovery takes; a person freeing
/// space does not need a faster answer than this.
pub const IO_RETRY_INTERVAL: Duration = Duration::from_millis(250);

/// Concurrent `WatchEntries` streams per node.
pub const WATCH_STREAMS_MAX: usize = 1024;

/// Entries buffered per watch stream before a slow consumer is cut off.
pub const WATCH_BUFFER_ENTRIES: usize = 256;

/// How long a watch stream may stay blocked on a full buffer before it is cut off.
pub const WATCH_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Entries at the end of the log verified in full (signature and leaf hash) when
/// a store opens: at least the last group commit (`COMMIT_BATCH_MAX`), where a
/// crash would land. Older entries are verified by a background sweep and on read.
pub const OPEN_VERIFY_TAIL_ENTRIES: u64 = 1024;

/// Longest key name (checkpoint origin).
pub const KEY_NAME_BYTES_MAX: usize = 256;

/// Largest signed note we parse (a checkpoint with a few co-signatures).
pub const NOTE_BYTES_MAX: usize = 16 * 1024;

/// Largest `add-checkpoint` request a witness reads: a note and a 63-line
/// consistency proof fit with room to spare.
pub const WITNESS_REQUEST_BYTES_MAX: usize = NOTE_BYTES_MAX + 4 * 1024;

/// Longest client idempotency key.
pub const EVENT_ID_BYTES_MAX: usize = 128;

/// Concurrent gRPC streams per connection.
pub const GRPC_CONCURRENT_STREAMS_MAX: u32 = 256;

/// Entries an auditor asks for inclusion proofs of (spot checks), at most.
pub const AUDIT_SPOT_CHECKS: u64 = 64;

/// Events between registry snapshots. Restart replays at most this many (plus
/// whatever arrived since the last snapshot if the node was killed).
pub const SNAPSHOT_EVERY_EVENTS: u64 = 100_000;

/// Roster items per `CheckRoster` call: a large employer's staff at once.
pub const ROSTER_ITEMS_MAX: usize = 10_000;

/// Dates of service per roster item (a year of daily services).
pub const ROSTER_DATES_PER_ITEM_MAX: usize = 366;

/// Results per `CheckRoster` call (items × dates), bounding the response.
pub const ROSTER_RESULTS_MAX: usize = 20_000;

/// Credentials one `WatchCredentials` stream may follow.
pub const WATCH_CREDENTIALS_MAX: usize = 1000;

/// How often a credential watch re-checks status by the clock (expiry needs no event).
pub const WATCH_CLOCK_TICK: Duration = Duration::from_secs(1);

/// Most entries one evidence bundle may hold (a career is tens to hundreds of
/// events; past this the origin answers RESOURCE_EXHAUSTED).
pub const EVIDENCE_ENTRIES_MAX: usize = 4096;

/// Most record numbers (`seq`) probed for one holder's tags, in the bundle
/// and in the receiver's copy of the origin's log: a holder's record is a
/// bundle's worth at most (`EVIDENCE_ENTRIES_MAX`), so a holder with more
/// tags than this cannot be proven complete and is denied, never half-checked.
pub const HOLDER_TAGS_MAX: u32 = EVIDENCE_ENTRIES_MAX as u32;

/// Consecutive absent tags after which a holder's record is taken to end. The
/// origin's writer gives a person's records consecutive numbers and keeps a
/// number only once its entry is signed, so the log holds no gap today; this
/// tolerates a few numbers consumed by a refused or lost command without
/// letting a probe run on (cost: this many tag lookups past the last record).
pub const HOLDER_TAG_GAP_MAX: u32 = 16;

/// Most states one node may trust.
pub const TRUSTED_STATES_MAX: usize = 64;

/// Most commands in one `RecordBatch` call (an import sends many calls).
pub const BATCH_COMMANDS_MAX: usize = 1000;

/// Entries a follower fetches, verifies and stores per step while catching up
/// with a trusted log: its memory is one chunk (at most this many
/// `ENTRY_BYTES_MAX` entries, 16 MiB; a few hundred KiB in practice), whatever
/// the backlog. Each step is proven a prefix of the signed checkpoint.
pub const FOLLOW_CHUNK_ENTRIES: u64 = 1024;

/// Longest round of following one trusted log; the progress made is kept and
/// the next round continues, so a huge backlog never holds a partner's lock
/// (which evaluations of that state check) for longer than this.
pub const FOLLOW_ROUND_DEADLINE: Duration = Duration::from_secs(10);

/// How long a transfer evaluation may spend bringing its copy of the origin's
/// log up to the evidence's checkpoint before answering `UNAVAILABLE`
/// ("catching up: N of M") rather than keep a board's request waiting.
pub const EVALUATION_CATCH_UP: Duration = Duration::from_secs(5);

/// Open connections per node. Each holds buffers and HTTP/2 state; past this,
/// new connections wait in the listen backlog until one closes (as mini-redis
/// does), so the node keeps serving the connections it has.
pub const CONNECTIONS_MAX: usize = 1024;

/// Open connections from one peer address (an IPv4 address, or an IPv6 /64:
/// one subscriber's usual allocation): a quarter of `CONNECTIONS_MAX`, so one
/// client cannot hold every connection slot; past this its new connections are
/// closed at once. Generous for an office behind one NAT address or a proxy
/// (which multiplexes calls over few HTTP/2 connections anyway).
pub const CONNECTIONS_PER_ADDRESS_MAX: usize = 256;

/// Requests one connection may have in flight in handlers at once; further ones
/// queue on that connection. Streams count only while their handler starts
/// them, so open watches do not hold this.
pub const REQUESTS_PER_CONNECTION_MAX: usize = 64;

/// Longest time a request may take to produce its response (for a stream, its
/// first headers: a watch then runs as long as it likes). Cuts a client that
/// sends a request body slowly or never, with `CANCELLED`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How often an idle HTTP/2 connection is pinged, so that a peer that vanished
/// (no FIN: a cable pulled, a NAT entry expired) does not hold a connection slot.
pub const HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// How long a ping may go unanswered before the connection is closed.
pub const HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Idle time before the kernel probes a TCP connection (below HTTP/2: catches
/// a peer that completed the handshake and never spoke HTTP/2 at all).
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// The serving bounds of one node. Every field defaults to the constant of the
/// same name; tests set small values to show each bound holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// See [`CONNECTIONS_MAX`].
    pub connections_max: usize,
    /// See [`CONNECTIONS_PER_ADDRESS_MAX`].
    pub connections_per_address_max: usize,
    /// See [`REQUESTS_PER_CONNECTION_MAX`].
    pub requests_per_connection_max: usize,
    /// See [`REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// See [`HTTP2_KEEPALIVE_INTERVAL`].
    pub http2_keepalive_interval: Duration,
    /// See [`HTTP2_KEEPALIVE_TIMEOUT`].
    pub http2_keepalive_timeout: Duration,
    /// See [`TCP_KEEPALIVE`].
    pub tcp_keepalive: Duration,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            connections_max: CONNECTIONS_MAX,
            connections_per_address_max: CONNECTIONS_PER_ADDRESS_MAX,
            requests_per_connection_max: REQUESTS_PER_CONNECTION_MAX,
            request_timeout: REQUEST_TIMEOUT,
            http2_keepalive_interval: HTTP2_KEEPALIVE_INTERVAL,
            http2_keepalive_timeout: HTTP2_KEEPALIVE_TIMEOUT,
            tcp_keepalive: TCP_KEEPALIVE,
        }
    }
}

/// How long a stopping node waits for open streams before closing them. Unary
/// calls finish quickly; open watch streams would hold a graceful shutdown forever.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Watch streams (`WatchEntries`, `WatchCredentials`, each) one client address
/// may hold open at once, so that one client cannot take every one of the
/// node's `WATCH_STREAMS_MAX` slots. IPv6 clients count per /64, the block
/// one subscriber usually holds. A dashboard watches in one or a few streams.
pub const WATCH_STREAMS_PER_ADDRESS_MAX: usize = 16;

/// Bytes of repeated content (proven entries, roster results) one answer may
/// carry. Counted while the answer is built, so a request whose answer would
/// not fit is refused with `RESOURCE_EXHAUSTED` as soon as it crosses the
/// bound, never after all the work is done; kept below
/// `GRPC_RESPONSE_BYTES_MAX` to leave room for the checkpoint note (at most
/// `NOTE_BYTES_MAX`) and framing. A career's evidence is about 100 KiB.
pub const ANSWER_BYTES_MAX: usize = 6 * 1024 * 1024;

/// Handlers doing work that grows with the registry (statistics, evidence,
/// proofs, rosters) running at once per service, on blocking threads: enough
/// to keep both cores busy, few enough that a burst of them cannot starve the
/// committer or start hundreds of threads. Further calls wait their turn.
pub const BLOCKING_HANDLERS_MAX: usize = 4;

/// Most characters of an input quoted in an error message: enough to recognise
/// a value, never enough to echo (or multiply) a hostile one.
pub const QUOTE_CHARS_MAX: usize = 40;

/// `text` quoted for an error message: escaped, at most `QUOTE_CHARS_MAX`
/// characters, and its length in bytes when cut. Every error that quotes an
/// input uses this (it lives here, with its bound, so that every layer can),
/// so no error is larger than a few hundred bytes however large the input.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS_MAX) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
    }
}

/// Largest CSV file `peerreg import` reads: refused from its size before a
/// byte is read (a legacy export of 100,000 people is a few tens of MiB).
pub const IMPORT_FILE_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Files one `peerreg import` run reads (one per kind is nine).
pub const IMPORT_FILES_MAX: usize = 64;

/// Data rows per import file (the header not counted).
pub const IMPORT_ROWS_PER_FILE_MAX: usize = 2_000_000;

/// Longest row of an import file, in bytes (a long public summary fits).
pub const IMPORT_ROW_BYTES_MAX: usize = 64 * 1024;

/// Rows one person may have in an import: all of a person's commands and
/// their provenance record go in one batch, so no one is half-imported.
pub const IMPORT_ROWS_PER_PERSON_MAX: usize = BATCH_COMMANDS_MAX - 1;

/// Largest HTTP request body the web side reads (a roster or a proof file
/// upload): a roster of [`ROSTER_ITEMS_MAX`] lines fits well within it.
pub const HTTP_BODY_BYTES_MAX: usize = 2 * 1024 * 1024;

/// Largest HTTP/1.1 request head (request line and headers) the web side buffers.
pub const HTTP_HEAD_BYTES_MAX: usize = 64 * 1024;

/// Web requests being answered at once across the node; past it a request is
/// answered 503 at once rather than queued without bound.
pub const HTTP_REQUESTS_IN_FLIGHT_MAX: usize = 256;

/// Time a client has to finish a TLS handshake on the web listener.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a node waits for one witness to answer one `add-checkpoint`.
pub const WITNESS_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The longest pause between two rounds of asking witnesses, at start, whether
/// this store is behind what they cosigned.
pub const WITNESS_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(10);
/// After a log key rotation, checkpoints carry the previous key's signature
/// too until the log has grown this many entries past the rotation entry
/// (the default of the `key_transition_entries` setting): a reader that has
/// not yet read the rotation entry still opens them meanwhile.
pub const KEY_TRANSITION_ENTRIES: u64 = 1000;
/// Entries of each Bitstring Status List a node publishes (`crate::vc`): the
/// spec's minimum, 131,072 (16 KB of bits), for herd privacy; a board assigns
/// one random position per credential that has a VC.
pub const VC_STATUS_LIST_ENTRIES: usize = 131_072;

/// Random positions tried for a credential's status-list index before the
/// list counts as full (at 90% full, all miss with probability 0.9^256).
pub const VC_INDEX_TRIES: usize = 256;

/// A node signs its status lists again at least this often (and whenever the
/// log grows), so a suspension that ends on a date shows within the hour.
pub const VC_STATUS_LIST_REFRESH: Duration = Duration::from_secs(3600);

/// How long a signed status list is valid (`validUntil - validFrom`): an old
/// list can be replayed to a verifier for at most this long.
pub const VC_STATUS_LIST_VALID_HOURS: i64 = 24;

/// The largest status list a verifier inflates (2 MiB: 16 Mi entries, 128
/// times the minimum), whatever its compressed size.
pub const VC_LIST_INFLATED_BYTES_MAX: usize = 2 * 1024 * 1024;

/// The largest VC or status list document `peerreg export-vc`/`verify-vc`
/// read (a VC is a few kB; a full list compresses far below this).
pub const VC_DOCUMENT_BYTES_MAX: usize = 1024 * 1024;
