//! Progress notifications: a job's notices ("Still working…", render percent) forwarded to the
//! host, and only when the request carried a `progressToken` — no token means no notifications,
//! never a failure.

use std::future::Future;

use rmcp::{
    Peer, RoleServer,
    model::{ProgressNotificationParam, ProgressToken},
    service::RequestContext,
};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::client::Notice;

/// The progress channel of one `tools/call` request.
pub struct ProgressSink {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
    last: f64,
    last_message: Option<String>,
    /// When the last notification went out (or the sink was made).
    last_sent: std::time::Instant,
}

impl ProgressSink {
    pub fn new(ctx: &RequestContext<RoleServer>) -> Self {
        ProgressSink {
            peer: ctx.peer.clone(),
            token: ctx.meta.get_progress_token(),
            last: 0.0,
            last_message: None,
            last_sent: std::time::Instant::now(),
        }
    }

    /// Time since the last notification (or since the call began).
    pub fn idle_for(&self) -> std::time::Duration {
        self.last_sent.elapsed()
    }

    /// Send `notice`, keeping the progress value strictly increasing as the spec asks.
    pub async fn send(&mut self, notice: &Notice) {
        let Some(token) = self.token.clone() else {
            return;
        };
        let percent = notice.percent.map(|p| p.clamp(0.0, 100.0));
        let unchanged = percent.is_none_or(|p| p <= self.last)
            && self.last_message.as_deref() == Some(notice.message.as_str());
        if unchanged {
            return;
        }
        let progress = match percent {
            Some(p) if p > self.last => p,
            _ => self.last + 0.001,
        };
        self.last = progress;
        self.last_message = Some(notice.message.clone());
        self.last_sent = std::time::Instant::now();
        let mut param =
            ProgressNotificationParam::new(token, progress).with_message(&notice.message);
        if percent.is_some() {
            param = param.with_total(100.0);
        }
        if let Err(err) = self.peer.notify_progress(param).await {
            tracing::debug!(%err, "progress notification not delivered");
        }
    }
}

/// Run `work` with a notice sender, passing each notice to `on_notice` while it runs.
pub async fn with_notices<T, F>(
    work: impl FnOnce(UnboundedSender<Notice>) -> F,
    mut on_notice: impl FnMut(Notice),
) -> T
where
    F: Future<Output = T>,
{
    let (tx, mut rx) = unbounded_channel();
    let fut = work(tx);
    tokio::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => {
                while let Ok(n) = rx.try_recv() {
                    on_notice(n);
                }
                return out;
            }
            Some(n) = rx.recv() => on_notice(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notices_reach_the_callback_in_order() {
        let mut seen = Vec::new();
        let out = with_notices(
            |tx| async move {
                for i in 0..3 {
                    tx.send(Notice {
                        message: format!("step {i}"),
                        percent: Some(i as f64 * 10.0),
                    })
                    .expect("receiver alive");
                    tokio::task::yield_now().await;
                }
                42
            },
            |n| seen.push(n.message),
        )
        .await;
        assert_eq!(out, 42);
        assert_eq!(seen, vec!["step 0", "step 1", "step 2"]);
    }
}
