//! One agent turn: read the draft, send the message once, follow the SSE stream (hard
//! limit, heartbeats-only limit, "Still working…" notices), then describe the outcome. After
//! a disconnect the message is NEVER sent again (that would charge twice): the state is
//! polled until the draft changes or the recovery time is up.

use reqwest::Method;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{Instant, sleep, sleep_until};

use super::auth::lock;
use super::call::{Call, Needs, Reply};
use super::diff::describe_changes;
use super::error::ClientError;
use super::sse::{SseReader, Step};
use super::{Inner, Notice, RunOutcome};
use crate::api::sse::AgentEvent;
use crate::api::{Draft, EditToolResult, RunSseRequest, StateData, paths};

pub const STILL_WORKING: &str = "Still working…";

/// What the stream said, accumulated.
#[derive(Debug, Default)]
struct Follow {
    texts: Vec<String>,
    tool_calls: Vec<String>,
    /// Calls without their result yet: a stream that ends here was cut mid-work.
    open_calls: usize,
    turn_complete: bool,
    error: Option<String>,
    broken: bool,
    /// The last `preview_url` a tool result carried (the embedded backend's extension).
    preview_url: Option<String>,
    /// The last `preview_clip_url` (the embedded backend's extension).
    preview_clip_url: Option<String>,
}

impl Follow {
    /// Apply events; true when any was more than a heartbeat.
    fn apply(&mut self, events: Vec<AgentEvent>) -> bool {
        let mut progress = false;
        for e in events {
            match e {
                AgentEvent::Heartbeat => continue,
                AgentEvent::Text { text, partial } => {
                    // Partial text is display-only: the final event repeats it.
                    if !partial && !text.trim().is_empty() {
                        self.texts.push(text);
                    }
                }
                AgentEvent::ToolCall { name, .. } => {
                    self.open_calls += 1;
                    self.tool_calls.push(name);
                }
                AgentEvent::ToolResult { result, .. } => {
                    self.open_calls = self.open_calls.saturating_sub(1);
                    let result = EditToolResult::from_value(&result);
                    if let Some(url) = result.preview_url {
                        self.preview_url = Some(url);
                    }
                    if let Some(url) = result.preview_clip_url {
                        self.preview_clip_url = Some(url);
                    }
                }
                AgentEvent::Error { message } => self.error = Some(message),
                AgentEvent::TurnComplete => self.turn_complete = true,
            }
            progress = true;
        }
        progress
    }

    /// The final text. A trailing "I encountered a temporary issue…" after normal output is
    /// dropped (DESIGN.md: the agent appends it even when the work went through).
    fn text(&self) -> String {
        let mut texts: Vec<&str> = self.texts.iter().map(String::as_str).collect();
        while texts.len() > 1 && texts.last().is_some_and(|t| is_temporary_issue(t)) {
            texts.pop();
        }
        texts.join("\n")
    }
}

/// The agent's canned apology for a hiccup it recovered from.
fn is_temporary_issue(text: &str) -> bool {
    text.trim_start()
        .to_ascii_lowercase()
        .starts_with("i encountered a temporary issue")
}

fn notify(notices: &Option<UnboundedSender<Notice>>, message: &str) {
    if let Some(tx) = notices {
        // A listener that went away is not an error of the run.
        let _ = tx.send(Notice {
            message: message.to_string(),
            percent: None,
        });
    }
}

impl Inner {
    pub(crate) async fn read_state(&self) -> Result<crate::api::SessionState, ClientError> {
        let http = self.http.clone();
        let data: StateData = self
            .call_json(
                Call::new("reading the timeline", Needs::Session),
                &mut |c| {
                    Ok(http.request(Method::GET, &paths::state(&c.session_id), Some(&c.token)))
                },
            )
            .await?;
        Ok(data.state)
    }

    pub(crate) async fn run_turn(
        &self,
        message: &str,
        operations: Option<&[serde_json::Value]>,
        notices: Option<UnboundedSender<Notice>>,
    ) -> Result<RunOutcome, ClientError> {
        if lock(&self.language_hint).is_none() {
            self.note_language(message);
        }
        self.align_session_language().await?;
        let before = self.read_state().await?.draft;
        let started = Instant::now();
        let http = self.http.clone();
        let call = Call {
            stream: true,
            ..Call::new("sending the message to the editing agent", Needs::Session)
        };
        let reply = self
            .send(call, &mut |c| {
                Ok(http
                    .request_sse(paths::RUN_SSE, &c.token)
                    .json(&match operations {
                        Some(ops) => {
                            RunSseRequest::with_operations(&c.session_id, message, ops.to_vec())
                        }
                        None => RunSseRequest::new(&c.session_id, message),
                    }))
            })
            .await?;
        // Sent: this session has had a message, so it is never remade.
        self.update_state(|s| s.session_turns = s.session_turns.saturating_add(1))?;
        let response = match reply {
            Reply::Stream(r) => r,
            Reply::Data(_) => {
                return Err(ClientError::BadAnswer {
                    what: "sending the message to the editing agent".into(),
                    detail: "JSON came back instead of an event stream".into(),
                });
            }
        };
        let follow = self
            .follow(SseReader::new(response), started, &notices)
            .await?;
        if let Some(message) = follow.error {
            return Err(ClientError::AgentFailed { message });
        }
        let text = follow.text();
        let mut outcome = RunOutcome {
            text: text.clone(),
            tool_calls: follow.tool_calls.clone(),
            preview_url: follow.preview_url.clone(),
            preview_clip_url: follow.preview_clip_url.clone(),
            ..RunOutcome::default()
        };
        // Cut: the connection broke, or it closed while a tool call had no result yet and
        // nothing was said. A clean close after the calls finished is the end of the turn even
        // without `turnComplete`: ADK sets it only in streaming mode, so a plain run never
        // has it (DESIGN.md, SSE events), and nothing changing is then an answer, not a drop.
        let cut =
            follow.broken || (text.is_empty() && !follow.turn_complete && follow.open_calls > 0);
        if !cut {
            let after = self.read_state().await?.draft;
            outcome.changes = describe_changes(before.as_ref(), after.as_ref());
            outcome.draft = after;
            return Ok(outcome);
        }
        tracing::info!("the event stream ended early; polling the timeline instead of re-sending");
        notify(
            &notices,
            "The connection to the editing agent dropped; checking the timeline instead of sending the request again…",
        );
        let after = self.await_draft_change(before.as_ref(), &notices).await?;
        outcome.changes = describe_changes(before.as_ref(), after.as_ref());
        outcome.draft = after;
        outcome.recovered_after_disconnect = true;
        Ok(outcome)
    }

    async fn follow(
        &self,
        mut reader: SseReader,
        started: Instant,
        notices: &Option<UnboundedSender<Notice>>,
    ) -> Result<Follow, ClientError> {
        let hard_deadline = started + self.config.run_timeout;
        let mut last_progress = Instant::now();
        let mut next_notice = started + self.config.notice_every;
        let mut follow = Follow::default();
        loop {
            let idle_deadline = last_progress + self.config.heartbeat_only_timeout;
            let wake = hard_deadline.min(idle_deadline).min(next_notice);
            tokio::select! {
                step = reader.next() => match step {
                    Step::Events(events) => {
                        if follow.apply(events) {
                            last_progress = Instant::now();
                        }
                    }
                    Step::Closed(events) => {
                        follow.apply(events);
                        return Ok(follow);
                    }
                    Step::Broken => {
                        follow.broken = true;
                        return Ok(follow);
                    }
                },
                _ = sleep_until(wake) => {
                    let now = Instant::now();
                    if now >= hard_deadline {
                        return Err(ClientError::RunTimeout {
                            minutes: self.config.run_timeout.as_secs().div_ceil(60),
                            heartbeats_only: false,
                        });
                    }
                    if now >= idle_deadline {
                        return Err(ClientError::RunTimeout {
                            minutes: self.config.heartbeat_only_timeout.as_secs().div_ceil(60),
                            heartbeats_only: true,
                        });
                    }
                    notify(notices, STILL_WORKING);
                    next_notice += self.config.notice_every;
                }
            }
        }
    }

    /// Poll the state (first after `recovery_first_poll`, then doubling) until the draft
    /// differs from `before` or `recovery_max_wait` is over; returns the last draft read.
    async fn await_draft_change(
        &self,
        before: Option<&Draft>,
        notices: &Option<UnboundedSender<Notice>>,
    ) -> Result<Option<Draft>, ClientError> {
        let deadline = Instant::now() + self.config.recovery_max_wait;
        let mut wait = self.config.recovery_first_poll;
        let mut last: Option<Result<Option<Draft>, ClientError>> = None;
        let mut next_notice = Instant::now() + self.config.notice_every;
        loop {
            match self.read_state().await {
                Ok(state) => {
                    if state.draft.as_ref() != before {
                        return Ok(state.draft);
                    }
                    last = Some(Ok(state.draft));
                }
                // The service may be briefly unreachable right after a drop: keep polling.
                Err(e @ (ClientError::Unreachable { .. } | ClientError::Http { .. })) => {
                    tracing::debug!(error = %e, "state poll failed; will retry");
                    if !matches!(last, Some(Ok(_))) {
                        last = Some(Err(e));
                    }
                }
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            sleep(wait.min(deadline - now)).await;
            if Instant::now() >= next_notice {
                notify(notices, STILL_WORKING);
                next_notice += self.config.notice_every;
            }
            wait = wait.saturating_mul(2);
        }
        match last {
            Some(r) => r,
            None => Ok(before.cloned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use futures::StreamExt;
    use serde_json::json;

    use super::*;
    use crate::api::sse::{AdkEvent, encode_comment, encode_data};
    use crate::client::NemoClient;
    use crate::config::ClientConfig;

    fn client(dir: &std::path::Path) -> NemoClient {
        // Contract defaults (15 min, 10 min, 2 min); the clock is tokio's paused one.
        NemoClient::new(ClientConfig::new("http://127.0.0.1:9", dir.into(), "local")).unwrap()
    }

    /// A stream yielding `chunk(i)` every `every`, forever.
    fn ticking(
        every: Duration,
        chunk: fn(u64) -> String,
    ) -> futures::stream::BoxStream<'static, Result<Bytes, String>> {
        futures::stream::unfold(0u64, move |i| async move {
            tokio::time::sleep(every).await;
            Some((Ok(Bytes::from(chunk(i))), i + 1))
        })
        .boxed()
    }

    async fn follow_with_notices(
        c: &NemoClient,
        body: futures::stream::BoxStream<'static, Result<Bytes, String>>,
    ) -> (Result<Follow, ClientError>, Vec<Notice>, Duration) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let start = Instant::now();
        let r = c
            .inner
            .follow(SseReader::from_stream(body), start, &Some(tx))
            .await;
        let mut notices = Vec::new();
        while let Ok(n) = rx.try_recv() {
            notices.push(n);
        }
        (r, notices, start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeats_only_for_ten_minutes_is_a_timeout_with_notices_every_two() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let body = ticking(Duration::from_secs(10), |_| encode_comment("working"));
        let (r, notices, elapsed) = follow_with_notices(&c, body).await;
        assert!(
            matches!(
                r,
                Err(ClientError::RunTimeout {
                    minutes: 10,
                    heartbeats_only: true
                })
            ),
            "{:?}",
            r.err()
        );
        assert_eq!(elapsed, Duration::from_secs(600));
        assert_eq!(notices.len(), 4, "{notices:?}");
        assert!(notices.iter().all(|n| n.message == STILL_WORKING));
    }

    #[tokio::test(start_paused = true)]
    async fn real_progress_keeps_going_until_the_fifteen_minute_limit() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let body = ticking(Duration::from_secs(30), |i| {
            encode_data(&json!({"type":"tool_call","name":format!("step{i}"),"args":{}}))
        });
        let (r, notices, elapsed) = follow_with_notices(&c, body).await;
        assert!(
            matches!(
                r,
                Err(ClientError::RunTimeout {
                    minutes: 15,
                    heartbeats_only: false
                })
            ),
            "{:?}",
            r.err()
        );
        assert_eq!(elapsed, Duration::from_secs(900));
        assert_eq!(notices.len(), 7);
    }

    #[test]
    fn a_trailing_temporary_issue_after_normal_output_is_dropped() {
        let f = |texts: &[&str]| Follow {
            texts: texts.iter().map(|t| t.to_string()).collect(),
            ..Follow::default()
        };
        assert_eq!(
            f(&[
                "Replaced the background with a studio backdrop.",
                "I encountered a temporary issue. Please try again."
            ])
            .text(),
            "Replaced the background with a studio backdrop."
        );
        // Alone it is the answer: nothing else was said.
        let alone = "I encountered a temporary issue. Please try again.";
        assert_eq!(f(&[alone]).text(), alone);
        // Not trailing: kept.
        assert_eq!(f(&[alone, "Done."]).text(), format!("{alone}\nDone."));
    }

    #[tokio::test(start_paused = true)]
    async fn partial_text_is_dropped_and_a_cut_stream_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let c = client(dir.path());
        let call = AdkEvent::function_call("i", 1.0, "set_background", json!({}));
        let resp = AdkEvent::function_response(
            "i",
            1.0,
            "set_background",
            json!({"status": "ok", "preview_url": "http://127.0.0.1:9/media/prv_1.jpg"}),
            json!({}),
        );
        let mut partial = AdkEvent::final_text("i", 1.0, "Do");
        partial.partial = true;
        partial.turn_complete = false;
        let done = AdkEvent::final_text("i", 1.0, "Done.");
        let stream = [
            encode_data(&call),
            encode_comment("working"),
            encode_data(&resp),
            encode_data(&partial),
            encode_data(&done),
        ]
        .concat();
        // Delivered in 7-byte pieces.
        let pieces: Vec<Result<Bytes, String>> = stream
            .as_bytes()
            .chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let (r, notices, _) = follow_with_notices(&c, futures::stream::iter(pieces).boxed()).await;
        let f = r.unwrap();
        assert_eq!(f.text(), "Done.");
        assert_eq!(f.tool_calls, vec!["set_background"]);
        assert_eq!(f.open_calls, 0);
        assert!(f.turn_complete && !f.broken);
        assert_eq!(
            f.preview_url.as_deref(),
            Some("http://127.0.0.1:9/media/prv_1.jpg")
        );
        assert!(notices.is_empty());

        let cut = futures::stream::iter(vec![
            Ok(Bytes::from(encode_data(&call))),
            Err("connection reset".to_string()),
        ])
        .boxed();
        let (r, _, _) = follow_with_notices(&c, cut).await;
        let f = r.unwrap();
        assert!(f.broken && f.open_calls == 1 && f.text().is_empty());
        assert_eq!(f.preview_url, None);
    }
}
