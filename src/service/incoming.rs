//! Accepted connections, at most `connections_max` open at once (a semaphore
//! around the accept loop, as mini-redis does). Past the cap the node stops
//! accepting: new connections wait in the kernel's listen backlog until one
//! closes, and the connections already open keep being served. One peer
//! address may hold at most `connections_per_address_max` of them; past that
//! its new connections are closed at once, so one client cannot take every slot.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio_stream::Stream;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

use crate::limits::ServerLimits;

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// The listener's connections, each holding one of the node's connection permits.
pub struct LimitedIncoming {
    /// Accepts with Nagle's algorithm off (small unary answers must not wait for
    /// the peer's delayed ACK, ≈40 ms a call otherwise) and TCP keepalive on.
    accepted: TcpIncoming,
    /// One permit per open connection.
    permits: Arc<Semaphore>,
    /// The permit for the next connection, once acquired.
    ready: Option<OwnedSemaphorePermit>,
    /// Waiting for a connection to close, when all permits are held.
    waiting: Option<Acquire>,
    /// The cap, for the operator's log line.
    connections_max: usize,
    /// Open connections per peer address.
    per_address: PerAddress,
}

impl LimitedIncoming {
    pub fn new(listener: TcpListener, limits: &ServerLimits) -> LimitedIncoming {
        let accepted = TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .with_keepalive(Some(limits.tcp_keepalive));
        LimitedIncoming {
            accepted,
            permits: Arc::new(Semaphore::new(limits.connections_max)),
            ready: None,
            waiting: None,
            connections_max: limits.connections_max,
            per_address: PerAddress {
                open: Arc::default(),
                max: limits.connections_per_address_max,
            },
        }
    }

    /// Ready once a permit is in hand; registers for wake-up otherwise.
    fn poll_permit(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), AcquireError>> {
        if self.ready.is_some() {
            return Poll::Ready(Ok(()));
        }
        if self.waiting.is_none() {
            if let Ok(permit) = self.permits.clone().try_acquire_owned() {
                self.ready = Some(permit);
                return Poll::Ready(Ok(()));
            }
            tracing::warn!(
                connections_max = self.connections_max,
                "the connection limit is reached: new connections wait until one closes"
            );
            self.waiting = Some(Box::pin(self.permits.clone().acquire_owned()));
        }
        let Some(waiting) = self.waiting.as_mut() else {
            return Poll::Pending;
        };
        let permit = std::task::ready!(waiting.as_mut().poll(cx))?;
        self.waiting = None;
        self.ready = Some(permit);
        Poll::Ready(Ok(()))
    }
}

impl Stream for LimitedIncoming {
    type Item = io::Result<LimitedStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if std::task::ready!(this.poll_permit(cx)).is_err() {
                return Poll::Ready(None);
            }
            let stream = match std::task::ready!(Pin::new(&mut this.accepted).poll_next(cx)) {
                Some(Ok(stream)) => stream,
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            };
            // Closed at once (dropped) when its address already holds its share.
            let Some(slot) = this.per_address.take(&stream) else {
                continue;
            };
            let Some(permit) = this.ready.take() else {
                return Poll::Ready(Some(Err(io::Error::other("no connection permit"))));
            };
            return Poll::Ready(Some(Ok(LimitedStream {
                stream,
                _permit: permit,
                _slot: slot,
            })));
        }
    }
}

/// Open connections per peer address, and the most one address may hold.
/// Entries exist only for open connections, so the map is bounded by the
/// node's connection cap.
struct PerAddress {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max: usize,
}

impl PerAddress {
    /// A slot for `stream`'s peer, or `None` when that peer holds its share.
    fn take(&self, stream: &TcpStream) -> Option<AddressSlot> {
        let address = stream.peer_addr().map(|a| peer_key(a.ip())).ok()?;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= self.max {
            tracing::debug!(%address, max = self.max, "a peer address holds its share of connections; closing a new one");
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            open: self.open.clone(),
            address,
        })
    }
}

/// The unit one client controls: an IPv4 address, or an IPv6 /64.
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// One open connection counted against its peer address until dropped.
struct AddressSlot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// An accepted connection; closing it (dropping it) frees its permit and its
/// address's slot.
pub struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    _slot: AddressSlot,
}

/// The peer's address reaches handlers as with a plain `TcpStream`
/// (`Request::remote_addr`).
impl Connected for LimitedStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
