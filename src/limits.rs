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

/// Most states one node may trust.
pub const TRUSTED_STATES_MAX: usize = 64;

/// Most commands in one `RecordBatch` call (an import sends many calls).
pub const BATCH_COMMANDS_MAX: usize = 1000;
