//! One agent turn: read the draft, send the message once, follow the SSE stream (hard
//! limit, heartbeats-only limit, "Still working…" notices), then describe the outcome. After
//! a disconnect the message is NEVER sent again (that would charge twice): the state is
//! polled until the draft changes or the recovery time is up.

use reqwest::Method;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{Instant, sleep, sleep_until};

use super::call::{Call, Needs, Reply};
use super::diff::describe_changes;
use super::error::ClientError;
use super::sse::{SseReader, Step};
use super::{Inner, Notice, RunOutcome};
use crate::api::sse::AgentEvent;
use crate::api::{Draft, RunSseRequest, StateData, paths};

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
                AgentEvent::ToolResult { .. } => {
                    self.open_calls = self.open_calls.saturating_sub(1);
                }
                AgentEvent::Error { message } => self.error = Some(message),
                AgentEvent::TurnComplete => self.turn_complete = true,
            }
            progress = true;
        }
        progress
    }

    fn text(&self) -> String {
        self.texts.join("\n")
    }
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
        notices: Option<UnboundedSender<Notice>>,
    ) -> Result<RunOutcome, ClientError> {
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
                    .json(&RunSseRequest::new(&c.session_id, message)))
            })
            .await?;
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
            ..RunOutcome::default()
        };
        let cut =
            follow.broken || (text.is_empty() && !follow.turn_complete && follow.open_calls > 0);
        if !cut {
            let after = self.read_state().await?.draft;
            outcome.changes = describe_changes(before.as_ref(), after.as_ref());
            outcome.draft = after;
            // A clean close with no text, no end-of-turn and no change looks exactly like a
            // dropped connection: the edit may still be under way, so wait for it.
            let ambiguous = text.is_empty() && !follow.turn_complete && outcome.changes.is_empty();
            if !ambiguous {
                return Ok(outcome);
            }
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
            notify(notices, STILL_WORKING);
            wait = wait.saturating_mul(2);
        }
        match last {
            Some(r) => r,
            None => Ok(before.cloned()),
        }
    }
}
