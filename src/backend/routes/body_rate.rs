//! The request-body bound of every route: a body must keep arriving at
//! `Limits::body_min_bytes_per_sec` on average after `Limits::body_grace`, or reading it fails
//! (the handler answers an error and the connection is closed). One rule covers a stalled
//! body and one trickled a byte at a time, while a large upload on a slow but working link
//! (500 MB at 16 KiB/s is about nine hours) still gets through.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::backend::state::AppState;

/// Wrap the request's body in [`MinRateBody`].
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let l = &state.config.limits;
    let (rate, grace) = (l.body_min_bytes_per_sec, l.body_grace);
    next.run(req.map(|b| Body::new(MinRateBody::new(b, rate, grace))))
        .await
}

/// Reading the body too slowly: it had `bytes` after `secs` seconds.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body arrived too slowly ({bytes} bytes in {secs} s; at least {min_rate} bytes/s are needed after the first {grace_secs} s): send it again on a faster connection"
)]
pub struct BodyTooSlow {
    pub bytes: u64,
    pub secs: u64,
    pub min_rate: u64,
    pub grace_secs: u64,
}

/// A body that fails once fewer than `(t − grace)·min_rate` bytes have arrived by time `t`
/// after the request began: its deadline is `start + grace + bytes / min_rate`, moved on by every frame.
pub struct MinRateBody {
    inner: Body,
    min_rate: u64,
    grace: Duration,
    start: Instant,
    bytes: u64,
    deadline: Pin<Box<Sleep>>,
}

impl MinRateBody {
    /// `min_rate` 0: no bound.
    pub fn new(inner: Body, min_rate: u64, grace: Duration) -> Self {
        let start = Instant::now();
        MinRateBody {
            inner,
            min_rate,
            grace,
            start,
            bytes: 0,
            deadline: Box::pin(tokio::time::sleep_until(start + grace)),
        }
    }

    fn due(&self) -> Instant {
        let earned = Duration::from_secs_f64(self.bytes as f64 / self.min_rate.max(1) as f64);
        self.start + self.grace + earned
    }
}

impl HttpBody for MinRateBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                    let due = this.due();
                    this.deadline.as_mut().reset(due);
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(other) => return Poll::Ready(other),
            Poll::Pending => {}
        }
        if this.min_rate > 0 && this.deadline.as_mut().poll(cx).is_ready() {
            let slow = BodyTooSlow {
                bytes: this.bytes,
                secs: this.start.elapsed().as_secs(),
                min_rate: this.min_rate,
                grace_secs: this.grace.as_secs(),
            };
            tracing::info!("{slow}");
            return Poll::Ready(Some(Err(axum::Error::new(slow))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
