//! How much work one request may start: stream slots (overall and per client
//! address) for the long-lived watch streams, and blocking threads for the
//! handlers whose work grows with the registry.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// Where a client connects from, as counted for the per-address cap: an IPv4
/// address, or an IPv6 /64 (one subscriber usually holds a whole /64). `None`
/// when the transport has no address; such clients share one count.
type AddressKey = Option<IpAddr>;

fn address_key(remote: Option<SocketAddr>) -> AddressKey {
    remote.map(|address| match address.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::from(segments)
            }
        },
        v4 => v4,
    })
}

/// Open streams per address; an entry exists only while its count is above
/// zero, so the map holds at most `total` entries.
type Counts = Arc<Mutex<HashMap<AddressKey, usize>>>;

/// Slots for one kind of long-lived stream: at most `total` open at once,
/// and at most `per_address` of them from one client address, so one client
/// cannot take every slot.
pub struct StreamSlots {
    /// What the streams are, for the refusal ("watch streams").
    kind: &'static str,
    /// Every open stream holds one permit.
    total: Arc<Semaphore>,
    /// The bound `total` was created with (for the refusal).
    total_max: usize,
    per_address: usize,
    counts: Counts,
    /// The metric of open streams of this kind, if counted.
    open: Option<Gauge>,
}

/// One open stream's slot; dropping it (when the stream ends) frees the slot.
pub struct StreamSlot {
    _total: OwnedSemaphorePermit,
    address: AddressKey,
    counts: Counts,
    open: Option<Gauge>,
}

impl StreamSlots {
    pub fn new(kind: &'static str, total: usize, per_address: usize) -> StreamSlots {
        StreamSlots {
            kind,
            total: Arc::new(Semaphore::new(total)),
            total_max: total,
            per_address,
            counts: Arc::default(),
            open: None,
        }
    }

    /// Also keeps `open` (the node's `peerreg_open_streams` of this kind) at
    /// the number of streams open.
    pub fn counted(mut self, open: Gauge) -> StreamSlots {
        self.open = Some(open);
        self
    }

    /// A slot for a stream from `remote`, or `RESOURCE_EXHAUSTED` when that
    /// address already holds `per_address` streams or the node `total`.
    pub fn acquire(&self, remote: Option<SocketAddr>) -> Result<StreamSlot> {
        let address = address_key(remote);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.get(&address).copied().unwrap_or(0);
        if count >= self.per_address {
            return Err(Error::ResourceExhausted(format!(
                "this client address already holds {count} {}; at most {} per address, close one first",
                self.kind, self.per_address
            )));
        }
        let permit = self.total.clone().try_acquire_owned().map_err(|_| {
            Error::ResourceExhausted(format!(
                "this node already serves {} {}; retry later",
                self.total_max, self.kind
            ))
        })?;
        counts.insert(address, count + 1);
        if let Some(open) = &self.open {
            open.inc();
        }
        Ok(StreamSlot {
            _total: permit,
            address,
            counts: self.counts.clone(),
            open: self.open.clone(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Some(open) = &self.open {
            open.dec();
        }
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// Runs handlers' O(registry) work (statistics, evidence, proofs, rosters) on
/// tokio's blocking threads, at most `concurrent` at a time, so that a burst
/// of such calls neither stalls the async threads serving every other
/// request nor starts hundreds of blocking threads. Callers beyond the bound
/// wait their turn (the server's request timeout bounds the wait).
#[derive(Clone)]
pub struct Blocking {
    permits: Arc<Semaphore>,
}

impl Blocking {
    pub fn new(concurrent: usize) -> Blocking {
        Blocking {
            permits: Arc::new(Semaphore::new(concurrent)),
        }
    }

    /// A turn for work the caller runs itself (on its own blocking task).
    pub async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        self.permits
            .acquire()
            .await
            .map_err(|_| Error::Unavailable("the node is shutting down".into()))
    }

    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Unavailable("the node is shutting down".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Internal(format!("a blocking handler task failed: {e}")))?
    }
}

/// Refuses an answer larger than `limits::ANSWER_BYTES_MAX`. The entries of an
/// answer are bounded while they are read; this bounds what is added to them
/// afterwards (the openings of committed records, up to a long summary each),
/// so an answer the transport could not send, or only just, is refused with
/// its reason instead.
pub fn within_answer_bound(answer: &impl prost::Message, what: &str) -> Result<()> {
    let bytes = answer.encoded_len();
    if bytes > crate::limits::ANSWER_BYTES_MAX {
        return Err(Error::ResourceExhausted(format!(
            "{what} would be {bytes} bytes with its openings; at most {} bytes are served in one answer",
            crate::limits::ANSWER_BYTES_MAX
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().expect("an address"), 4000))
    }

    #[test]
    fn each_address_gets_its_share_and_the_node_its_total() {
        let slots = StreamSlots::new("watch streams", 3, 2);
        let a1 = slots.acquire(at("10.0.0.1")).expect("first");
        let _a2 = slots.acquire(at("10.0.0.1")).expect("second");
        assert!(matches!(
            slots.acquire(at("10.0.0.1")),
            Err(Error::ResourceExhausted(_))
        ));
        let _b1 = slots.acquire(at("10.0.0.2")).expect("another address");
        let full = slots.acquire(at("10.0.0.3"));
        assert!(matches!(&full, Err(Error::ResourceExhausted(m)) if m.contains("3 watch streams")));
        drop(a1);
        let _again = slots.acquire(at("10.0.0.1")).expect("a freed slot is reusable");
    }

    #[test]
    fn an_ipv6_client_counts_per_64() {
        let slots = StreamSlots::new("watch streams", 10, 1);
        let _one = slots.acquire(at("2001:db8:1:2::1")).expect("first");
        assert!(slots.acquire(at("2001:db8:1:2:ffff::9")).is_err(), "same /64");
        assert!(slots.acquire(at("2001:db8:1:3::1")).is_ok(), "another /64");
        let _mapped = slots.acquire(at("::ffff:10.0.0.7")).expect("a mapped IPv4");
        assert!(slots.acquire(at("10.0.0.7")).is_err(), "the same IPv4 address");
    }
}
