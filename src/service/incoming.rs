//! Accepted connections, at most `connections_max` open at once (a semaphore
//! around the accept loop, as mini-redis does). Past the cap the node stops
//! accepting: new connections wait in the kernel's listen backlog until one
//! closes, and the connections already open keep being served.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
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
        if std::task::ready!(this.poll_permit(cx)).is_err() {
            return Poll::Ready(None);
        }
        match std::task::ready!(Pin::new(&mut this.accepted).poll_next(cx)) {
            Some(Ok(stream)) => match this.ready.take() {
                Some(permit) => Poll::Ready(Some(Ok(LimitedStream { stream, _permit: permit }))),
                None => Poll::Ready(Some(Err(io::Error::other("no connection permit")))),
            },
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            None => Poll::Ready(None),
        }
    }
}

/// An accepted connection; closing it (dropping it) frees its permit.
pub struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
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
