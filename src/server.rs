//! Serving connections: a cap on open connections, accept errors backed off, and deadlines for
//! slow and idle clients.
//!
//! Hand-built around hyper because poem's `Server` has none of this, and it showed: with
//! `ulimit -n 1024`, 1,100 connections that sent half a request and stopped took listo down
//! (`/healthz` unanswered, 100% CPU: its accept loop retried `EMFILE` without pause), and 500
//! idle connections stayed open for ever.

use crate::config::ConnectionLimits;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, Response};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

/// Descriptors kept free for the database, the log, SMTP and the like when the connection cap
/// is derived from the open-file limit.
const RESERVED_FILES: u64 = 128;
/// The most a request head (request line and headers) may take: past it hyper answers 431 and
/// closes. hyper's own default lets a half-sent head grow a buffer to ~400 KB (measured: 387 KB
/// per connection held for the 10 s header timeout).
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// Longest pause after a failed accept (e.g. `EMFILE`); the first pause is 5 ms, doubling.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// The endpoint every connection serves.
pub type SharedEndpoint = Arc<poem::endpoint::BoxEndpoint<'static, Response>>;

/// The connection cap in force: the configured one, or the open-file limit less a reserve.
/// `None`: no cap.
pub fn connection_cap(limits: &ConnectionLimits) -> Option<usize> {
    match limits.max_connections {
        Some(0) => None,
        Some(n) => Some(n),
        None => Some(
            raise_open_file_limit()
                .saturating_sub(RESERVED_FILES)
                .max(16) as usize,
        ),
    }
}

/// Raises the soft open-file limit to the hard one (as Go and nginx do: the soft default, often
/// 1,024, is a leftover of `select`), and returns the limit now in force.
fn raise_open_file_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX)
        .or_else(|_| rlimit::Resource::NOFILE.get().map(|(soft, _)| soft))
        .unwrap_or(1024)
}

/// Accepts and serves connections until `shutdown` resolves, then lets open requests finish
/// for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    endpoint: SharedEndpoint,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    let cap = connection_cap(&limits);
    let permits = Arc::new(Semaphore::new(cap.unwrap_or(Semaphore::MAX_PERMITS)));
    tracing::info!(addr = %local, max_connections = ?cap, "accepting connections");
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().max_buf_size(MAX_HEAD_BYTES);
    builder.http2().max_header_list_size(MAX_HEAD_BYTES as u32);
    let mut backoff = Duration::ZERO;
    tokio::pin!(shutdown);
    loop {
        // At the cap, wait here for a connection to close: those already open are served on.
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.map_err(io::Error::other)?,
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff = Duration::ZERO;
                    accepted
                }
                Err(e) => {
                    backoff = (backoff * 2).clamp(Duration::from_millis(5), MAX_ACCEPT_BACKOFF);
                    tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Deadlines::new(stream, &limits));
        let endpoint = endpoint.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let endpoint = endpoint.clone();
            async move {
                let req = poem::Request::from((
                    req,
                    LocalAddr(Addr::SocketAddr(local)),
                    RemoteAddr(Addr::SocketAddr(peer)),
                    Scheme::HTTP,
                ));
                Ok::<hyper::Response<_>, std::convert::Infallible>(
                    endpoint.get_response(req).await.into(),
                )
            }
        });
        let watcher = graceful.watcher();
        let builder = builder.clone();
        tokio::spawn(async move {
            let connection = builder.serve_connection(io, service);
            // Errors here are clients going away or missing a deadline: nothing to report.
            let _ = watcher.watch(connection).await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the grace period were cut off");
    }
    Ok(())
}

/// Where a connection is in the request/response cycle, as far as its bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request under way: the idle deadline runs from the last byte either way.
    Between,
    /// A request's head is arriving: the header deadline runs from its first byte.
    Head {
        /// The last three bytes read, to find `\r\n\r\n` across reads.
        tail: [u8; 3],
    },
    /// The head is in; the body, the handler and the answer run under the idle deadline.
    Request,
}

/// A socket with deadlines: a request's head must arrive within the header timeout of its
/// first byte, and a connection with no traffic for the idle timeout is closed.
struct Deadlines<S> {
    inner: S,
    phase: Phase,
    /// When the connection is cut if it is still waiting then.
    deadline: Instant,
    /// Brought to `deadline` only when a read or write waits: most calls just move the field,
    /// not the timer wheel.
    timer: Pin<Box<Sleep>>,
    header: Option<Duration>,
    idle: Option<Duration>,
}

/// "Off" is a deadline far enough away never to matter (a year).
const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);

impl<S> Deadlines<S> {
    fn new(inner: S, limits: &ConnectionLimits) -> Self {
        let deadline = Instant::now() + limits.idle_timeout.unwrap_or(NEVER);
        Self {
            inner,
            phase: Phase::Between,
            deadline,
            timer: Box::pin(tokio::time::sleep_until(deadline)),
            header: limits.header_timeout,
            idle: limits.idle_timeout,
        }
    }

    fn arm(&mut self, after: Option<Duration>) {
        self.deadline = Instant::now() + after.unwrap_or(NEVER);
    }

    /// Follows the bytes just read.
    fn on_read(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let tail = match self.phase {
            Phase::Request => return self.arm(self.idle),
            Phase::Between => {
                self.arm(self.header);
                [0; 3]
            }
            Phase::Head { tail } => tail,
        };
        // The blank line may straddle the previous read: look at the seam (the last three bytes
        // before and the first three now), then at the new bytes alone.
        let mut seam = [0u8; 6];
        let head = bytes.len().min(3);
        seam[..3].copy_from_slice(&tail);
        seam[3..3 + head].copy_from_slice(&bytes[..head]);
        let blank_line = |b: &[u8]| b.windows(4).any(|w| w == b"\r\n\r\n");
        if blank_line(&seam[..3 + head]) || blank_line(bytes) {
            self.phase = Phase::Request;
            self.arm(self.idle);
        } else {
            let last = if bytes.len() >= 3 {
                &bytes[bytes.len() - 3..]
            } else {
                &seam[head..head + 3]
            };
            self.phase = Phase::Head {
                tail: [last[0], last[1], last[2]],
            };
        }
    }

    fn on_write(&mut self) {
        self.phase = Phase::Between;
        self.arm(self.idle);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.timer.deadline() != self.deadline {
            self.timer.as_mut().reset(self.deadline);
        }
        self.timer.as_mut().poll(cx).is_ready()
    }

    /// Follows a write: bytes out end the request; a client that stops reading its answers
    /// holds a connection like an idle one, so a waiting write meets the deadline too.
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match result {
            Poll::Ready(Ok(n)) => {
                self.on_write();
                Poll::Ready(Ok(n))
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection deadline passed")
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadlines<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.on_read(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deadlines<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.wrote(cx, result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(60)),
            max_connections: None,
        }
    }

    #[tokio::test]
    async fn the_head_ends_at_a_blank_line_even_split_across_reads() {
        let mut d = Deadlines::new((), &limits());
        d.on_read(b"GET / HTTP/1.1\r\nHost: x\r");
        assert!(matches!(d.phase, Phase::Head { .. }));
        d.on_read(b"\n\r");
        assert!(matches!(d.phase, Phase::Head { .. }));
        d.on_read(b"\n");
        assert_eq!(d.phase, Phase::Request);
        d.on_write();
        assert_eq!(d.phase, Phase::Between);

        // One byte at a time, and a blank line inside one read.
        for byte in b"GET / HTTP/1.1\r\n\r" {
            d.on_read(&[*byte]);
            assert!(matches!(d.phase, Phase::Head { .. }));
        }
        d.on_read(b"\n");
        assert_eq!(d.phase, Phase::Request);
        d.on_write();
        d.on_read(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(d.phase, Phase::Request);
        d.on_write();
        d.on_read(b"GET / HTTP/1.1\r\nHost: x\r\n");
        assert!(matches!(d.phase, Phase::Head { .. }), "no blank line yet");
    }

    #[test]
    fn a_cap_of_zero_is_no_cap() {
        let mut l = limits();
        l.max_connections = Some(0);
        assert_eq!(connection_cap(&l), None);
        l.max_connections = Some(7);
        assert_eq!(connection_cap(&l), Some(7));
    }
}
