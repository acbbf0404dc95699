//! Long-call continuation. Hosts drop a tool call after about a minute, so work runs in a
//! background task keyed by a job id, and a call waits for it at most the call budget
//! (`EBC_CALL_BUDGET_SECS`, else the host's ceiling from `hosts`: 45 s for unknown hosts),
//! sending a progress notice at least every `hosts::PROGRESS_EVERY`. Then the result says `status: "running"` with the
//! `job_id`, and calling the same tool again with `{"job_id": …}` picks the wait up again.
//! Cancelling a waiting call (`ctx.ct`) stops the wait and cancels the job.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use rmcp::{
    ErrorData as McpError, RoleServer,
    model::{CallToolResult, ContentBlock},
    service::RequestContext,
};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::hosts;
use super::progress::ProgressSink;
use super::records::{JobRecord, RecordState, Records, StoredOutcome};
use crate::client::{Notice, TopUpPage};

/// Finished jobs kept for late `{"job_id": …}` calls, oldest dropped first.
const KEEP_FINISHED: usize = 32;

/// A successful tool result before the job fields are filled in.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Short text for the model.
    pub text: String,
    /// The tool's structured result (an object; `backend`, `status` and `job_id` are set here).
    pub structured: Value,
    /// More content after the text: preview images, resource links.
    pub content: Vec<ContentBlock>,
}

/// Why a tool call did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Something the user can fix (bad path, format): a tool error the model reads.
    User(String),
    /// NemoVideo's code 2001 (`ClientError::OutOfCredits`): a tool error like `User` saying
    /// `message`, marked so that the page that gets more credits (`page`) can be offered
    /// (`consent::offer_top_up`). Only the client's error makes this: a result's text is never
    /// read for it (a title or the agent's reply may quote the sentence with any link).
    OutOfCredits { message: String, page: TopUpPage },
    /// Transport or internal trouble: a protocol error.
    Internal(String),
}

impl Failure {
    /// The page that gets the user more credits, when this is an out-of-credits failure.
    pub fn top_up_page(&self) -> Option<&TopUpPage> {
        match self {
            Failure::OutOfCredits { page, .. } => Some(page),
            _ => None,
        }
    }
}

pub type Outcome = Result<Reply, Failure>;

/// What a job's work sees: a way to report progress, a cancellation signal, and a way to
/// park until the user asks again.
#[derive(Clone)]
pub struct JobCtx {
    notices: Arc<watch::Sender<Option<Notice>>>,
    cancel: CancellationToken,
    parked: Arc<watch::Sender<bool>>,
    /// The job's stored record (see `records`).
    record: Option<(Records, String)>,
}

impl JobCtx {
    /// Note in the job's record that it now waits for render `render_id`.
    pub fn record_render(&self, render_id: &str) {
        if let Some((records, id)) = &self.record {
            records.update(id, |r| r.render_id = Some(render_id.to_string()));
        }
    }

    pub fn notify(&self, notice: Notice) {
        self.notices.send_replace(Some(notice));
    }

    /// Cancelled when a waiting call is cancelled by the host.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Stop working until the next call for this job (`{"job_id": …}`): a waiting call
    /// returns `running` with the job id and `notice` at once. Returns false when the job was
    /// cancelled meanwhile. Used where the service's docs limit how often it may be asked
    /// (10 render polls): the job is kept, not failed.
    pub async fn park(&self, notice: Notice) -> bool {
        self.notify(notice);
        self.parked.send_replace(true);
        let mut rx = self.parked.subscribe();
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            // The `Ref` a `wait_for` gives is not `Send`: drop it inside.
            resumed = async { rx.wait_for(|parked| !*parked).await.is_ok() } => resumed,
        }
    }
}

pub struct Job {
    id: String,
    tool: &'static str,
    backend: String,
    started: Instant,
    done: watch::Receiver<Option<Arc<Outcome>>>,
    notices: Arc<watch::Sender<Option<Notice>>>,
    cancel: CancellationToken,
    /// The work is parked (see `JobCtx::park`) until the next call for this job.
    parked: Arc<watch::Sender<bool>>,
    /// The id was given to the host, so results mention it.
    handed_out: AtomicBool,
}

impl Job {
    fn is_finished(&self) -> bool {
        self.done.borrow().is_some()
    }

    /// The id a `{"job_id": …}` call continues.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The outcome, once finished.
    pub fn outcome(&self) -> Option<Arc<Outcome>> {
        self.done.borrow().clone()
    }

    /// The page that gets more credits, when the job failed out of credits (see
    /// `Failure::OutOfCredits`).
    pub fn top_up_page(&self) -> Option<TopUpPage> {
        let outcome = self.outcome()?;
        outcome.as_ref().as_ref().err()?.top_up_page().cloned()
    }

    /// The id is given to the host (in a list of jobs), so this job's own results carry it.
    pub fn hand_out(&self) {
        self.handed_out.store(true, Ordering::SeqCst);
    }
}

pub struct Jobs {
    /// `EBC_CALL_BUDGET_SECS` for every host; `None`: the host's ceiling (`hosts`).
    budget: Option<Duration>,
    map: Mutex<HashMap<String, Arc<Job>>>,
    /// Records that outlive the process; `None` in unit tests.
    records: Option<Records>,
}

/// What a continuation call for a job id finds.
pub enum Found {
    /// A job this process holds (running, or finished and kept).
    Held(Arc<Job>),
    /// A job an earlier run of the server started and did not finish; its record says how
    /// to start it again under the same id.
    Restart(Box<JobRecord>),
}

impl Jobs {
    pub fn new(budget: Option<Duration>, records: Option<Records>) -> Self {
        Jobs {
            budget,
            map: Mutex::new(HashMap::new()),
            records,
        }
    }

    /// Start `work` in the background.
    pub fn start<F, Fut>(&self, tool: &'static str, backend: &str, work: F) -> Arc<Job>
    where
        F: FnOnce(JobCtx) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        self.start_recorded(tool, backend, None, Value::Null, work)
    }

    /// Start `work` in the background under `id` (a new one when `None`), recording `args`:
    /// what is needed to start it again after a restart (`null`: it cannot be).
    pub fn start_recorded<F, Fut>(
        &self,
        tool: &'static str,
        backend: &str,
        id: Option<String>,
        args: Value,
        work: F,
    ) -> Arc<Job>
    where
        F: FnOnce(JobCtx) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let (done_tx, done) = watch::channel(None);
        let (notices, _) = watch::channel(None);
        let notices = Arc::new(notices);
        let cancel = CancellationToken::new();
        let parked = Arc::new(watch::channel(false).0);
        let given = id.is_some();
        let id = id
            .unwrap_or_else(|| format!("job_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
        let record = self.records.clone().map(|records| {
            records.put(&Records::new_record(&id, tool, backend, args));
            (records, id.clone())
        });
        let fut = work(JobCtx {
            notices: notices.clone(),
            cancel: cancel.clone(),
            parked: parked.clone(),
            record: record.clone(),
        });
        let span = tracing::info_span!("job", %id, tool);
        tokio::spawn(async move {
            let outcome = match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(outcome) => outcome,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    tracing::error!(parent: &span, panic = %what, "job panicked");
                    Err(Failure::Internal(
                        "internal error while working on the request".into(),
                    ))
                }
            };
            if let Some((records, id)) = &record {
                records.update(id, |r| {
                    r.state = if outcome.is_ok() {
                        RecordState::Completed
                    } else {
                        RecordState::Failed
                    };
                    r.outcome = Some(stored(&outcome));
                });
            }
            done_tx.send_replace(Some(Arc::new(outcome)));
        });
        let job = Arc::new(Job {
            id: id.clone(),
            tool,
            backend: backend.to_string(),
            started: Instant::now(),
            done,
            notices,
            cancel,
            parked,
            // A job started again under an id the host already holds.
            handed_out: AtomicBool::new(given),
        });
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        prune(&mut map);
        map.insert(id, job.clone());
        job
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(id.trim()).cloned()
    }

    /// The tool of job `id` and when it started (Unix seconds): a job this process holds, else
    /// its record; `None` when neither is known.
    pub fn describe(&self, id: &str) -> Option<(&'static str, u64)> {
        if let Some(job) = self.get(id) {
            let started = super::tasks::now().saturating_sub(job.started.elapsed().as_secs());
            return Some((job.tool, started));
        }
        let rec = self.records.as_ref()?.get(id)?;
        let tool = super::tasks::TASK_TOOLS
            .into_iter()
            .find(|t| *t == rec.kind)?;
        Some((tool, rec.started_at))
    }

    /// Cancel job `id` if this process holds it; whether it did.
    pub fn cancel(&self, id: &str) -> bool {
        match self.get(id) {
            Some(job) => {
                job.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Look up `id` for a continuation call of `tool`: a job this process holds, else its
    /// record from an earlier run (a finished one answers as it did; an unfinished one that can
    /// be started again is `Found::Restart`); a user-facing failure if neither.
    pub fn resume(&self, tool: &'static str, id: &str) -> Result<Found, Failure> {
        let wrong_tool = |owner: &str| {
            Failure::User(format!(
                "Job {id} belongs to {owner}; call {owner} with {{\"job_id\": \"{id}\"}} instead."
            ))
        };
        match self.get(id) {
            Some(job) if job.tool == tool => return Ok(Found::Held(job)),
            Some(job) => return Err(wrong_tool(job.tool)),
            None => {}
        }
        let Some(rec) = self.records.as_ref().and_then(|r| r.get(id)) else {
            return Err(Failure::User(format!(
                "No job {id} is known to this server. \
                 Call show_timeline to see the project's current state, then repeat the request if needed."
            )));
        };
        if rec.kind != tool {
            return Err(wrong_tool(&rec.kind));
        }
        if let Some(outcome) = &rec.outcome {
            return Ok(Found::Held(self.finished(tool, &rec, outcome)));
        }
        if rec.args.is_null() {
            return Err(Failure::User(format!(
                "Job {id} ({tool}) was still running when this server stopped, and it cannot be \
                 resumed safely (it could be applied twice). Call show_timeline to see whether the \
                 change is there, then repeat the request if it is not."
            )));
        }
        Ok(Found::Restart(Box::new(rec)))
    }

    /// A job of an earlier run that finished: kept here with its stored outcome.
    fn finished(&self, tool: &'static str, rec: &JobRecord, outcome: &StoredOutcome) -> Arc<Job> {
        let outcome = match outcome.clone() {
            StoredOutcome::Reply {
                text,
                structured,
                content,
            } => Ok(Reply {
                text,
                structured,
                content,
            }),
            StoredOutcome::UserError { message } => Err(Failure::User(message)),
            StoredOutcome::InternalError { message } => Err(Failure::Internal(message)),
        };
        let (_, done) = watch::channel(Some(Arc::new(outcome)));
        let job = Arc::new(Job {
            id: rec.id.clone(),
            tool,
            backend: rec.backend.clone(),
            started: Instant::now(),
            done,
            notices: Arc::new(watch::channel(None).0),
            cancel: CancellationToken::new(),
            parked: Arc::new(watch::channel(false).0),
            handed_out: AtomicBool::new(true),
        });
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(rec.id.clone(), job.clone());
        job
    }

    /// How long one call may wait: `EBC_CALL_BUDGET_SECS`, else the calling host's ceiling.
    /// A task (see `tasks`) answers at once: the client polls `tasks/get`.
    fn budget_for(&self, ctx: &RequestContext<RoleServer>) -> Duration {
        if ctx.extensions.get::<super::tasks::NoWait>().is_some() {
            return Duration::ZERO;
        }
        self.budget.unwrap_or_else(|| {
            // 2026-07-28 requests carry clientInfo in `_meta`; older sessions had a handshake.
            let name = ctx
                .meta
                .client_info()
                .map(|i| i.name)
                .or_else(|| ctx.peer.peer_info().map(|i| i.client_info.name.clone()));
            let host = hosts::host(name.as_deref());
            tracing::debug!(host = host.label, client = ?name, ceiling_s = host.ceiling.as_secs(), "call ceiling");
            host.ceiling
        })
    }

    /// Wait for every job of `jobs` (each with a label for its progress, e.g. "Clip 2 of 3
    /// (b.mp4)") within one call budget, in order, forwarding the progress of the one waited
    /// for (its share of the whole as the percentage). Returns when all are finished, when
    /// the budget is spent, or when the job waited for parks (what is finished then is read
    /// from each job). Cancelling the call cancels them all.
    pub async fn wait_all(
        &self,
        jobs: &[(String, Arc<Job>)],
        ctx: &RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let mut sink = ProgressSink::new(ctx);
        let deadline = tokio::time::sleep(self.budget_for(ctx));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(1),
            Duration::from_secs(1),
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let count = jobs.len().max(1) as f64;
        for (k, (label, job)) in jobs.iter().enumerate() {
            job.parked.send_replace(false);
            let mut parked = job.parked.subscribe();
            let mut done = job.done.clone();
            let mut notices = job.notices.subscribe();
            // This job's notice as a share of the whole batch.
            let overall = |n: Notice| Notice {
                message: format!("{label}: {}", n.message),
                percent: Some((k as f64 + n.percent.unwrap_or(0.0) / 100.0) / count * 100.0),
            };
            loop {
                tokio::select! {
                    biased;
                    _ = ctx.ct.cancelled() => {
                        tracing::info!("call cancelled by the host; cancelling the clip jobs");
                        for (_, j) in jobs {
                            j.cancel.cancel();
                        }
                        return Err(McpError::internal_error("the request was cancelled", None));
                    }
                    _ = async { done.wait_for(Option::is_some).await.map(|_| ()) } => break,
                    changed = notices.changed() => {
                        if changed.is_ok() {
                            let notice = notices.borrow_and_update().clone();
                            if let Some(notice) = notice {
                                sink.send(&overall(notice)).await;
                            }
                        }
                    }
                    _ = tick.tick() => {
                        if sink.idle_for() >= hosts::PROGRESS_EVERY {
                            let latest = job.notices.borrow().clone();
                            sink.send(&overall(still_working(job, latest))).await;
                        }
                    }
                    _ = async { parked.wait_for(|p| *p).await.map(|_| ()) } => return Ok(()),
                    _ = &mut deadline => return Ok(()),
                }
            }
        }
        Ok(())
    }

    /// Wait for `job` at most the call budget, forwarding its progress to this request.
    pub async fn wait(
        &self,
        job: &Arc<Job>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let mut sink = ProgressSink::new(ctx);
        let budget = self.budget_for(ctx);
        // A call for a parked job is the user asking again: the work goes on.
        job.parked.send_replace(false);
        let mut parked = job.parked.subscribe();
        let mut done = job.done.clone();
        let mut notices = job.notices.subscribe();
        let latest = notices.borrow_and_update().clone();
        if let Some(notice) = latest {
            sink.send(&notice).await;
        }
        let deadline = tokio::time::sleep(budget);
        tokio::pin!(deadline);
        // A readable notice at least every few seconds, so hosts that reset their timeout on
        // progress (and users watching it) see the call is alive.
        // Checked every second, so a notice follows the last one by 5–6 s.
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(1),
            Duration::from_secs(1),
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = ctx.ct.cancelled() => {
                    tracing::info!(job = %job.id, "call cancelled by the host; cancelling the job");
                    job.cancel.cancel();
                    return Err(McpError::internal_error("the request was cancelled", None));
                }
                outcome = async { done.wait_for(Option::is_some).await.ok().and_then(|o| o.clone()) } => {
                    let Some(outcome) = outcome else {
                        return Err(McpError::internal_error("the job ended without a result", None));
                    };
                    return finish(job, &outcome);
                }
                changed = notices.changed() => {
                    if changed.is_ok() {
                        let notice = notices.borrow_and_update().clone();
                        if let Some(notice) = notice {
                            sink.send(&notice).await;
                        }
                    }
                }
                _ = tick.tick() => {
                    if sink.idle_for() >= hosts::PROGRESS_EVERY {
                        let latest = job.notices.borrow().clone();
                        sink.send(&still_working(job, latest)).await;
                    }
                }
                _ = async { parked.wait_for(|p| *p).await.map(|_| ()) } => return Ok(running(job)),
                _ = &mut deadline => return Ok(running(job)),
            }
        }
    }
}

/// An outcome as its record keeps it.
fn stored(outcome: &Outcome) -> StoredOutcome {
    match outcome {
        Ok(r) => StoredOutcome::Reply {
            text: r.text.clone(),
            structured: r.structured.clone(),
            content: r.content.clone(),
        },
        Err(Failure::User(message) | Failure::OutOfCredits { message, .. }) => {
            StoredOutcome::UserError {
                message: message.clone(),
            }
        }
        Err(Failure::Internal(message)) => StoredOutcome::InternalError {
            message: message.clone(),
        },
    }
}

/// The periodic notice: the work's latest words (or what the tool does) and the time so far.
fn still_working(job: &Job, latest: Option<Notice>) -> Notice {
    let elapsed = job.started.elapsed().as_secs();
    let what = latest
        .as_ref()
        .map(|n| n.message.trim_end_matches('…').to_string())
        .unwrap_or_else(|| match job.tool {
            "export_video" => "Rendering the video".into(),
            "upload_media" => "Uploading".into(),
            "replace_background" => "Replacing the background".into(),
            _ => "Editing".into(),
        });
    Notice {
        message: format!("{what}… still working, {elapsed} s so far"),
        percent: latest.and_then(|n| n.percent),
    }
}

fn prune(map: &mut HashMap<String, Arc<Job>>) {
    let mut finished: Vec<(Instant, String)> = map
        .values()
        .filter(|j| j.is_finished())
        .map(|j| (j.started, j.id.clone()))
        .collect();
    if finished.len() < KEEP_FINISHED {
        return;
    }
    finished.sort();
    let excess = finished.len() + 1 - KEEP_FINISHED;
    for (_, id) in finished.into_iter().take(excess) {
        map.remove(&id);
    }
}

fn job_fields(job: &Job, status: &str) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    fields.insert("backend".into(), json!(job.backend));
    fields.insert("status".into(), json!(status));
    if job.handed_out.load(Ordering::SeqCst) {
        fields.insert("job_id".into(), json!(job.id));
    }
    fields
}

/// The result for a finished job.
fn finish(job: &Job, outcome: &Outcome) -> Result<CallToolResult, McpError> {
    match outcome {
        Ok(reply) => {
            let mut structured = match &reply.structured {
                Value::Object(map) => map.clone(),
                other => {
                    let mut map = serde_json::Map::new();
                    map.insert("result".into(), other.clone());
                    map
                }
            };
            structured.extend(job_fields(job, "completed"));
            let structured = Value::Object(structured);
            let mut result = CallToolResult::structured(structured.clone());
            let mut content = vec![ContentBlock::text(reply.text.clone())];
            content.extend(reply.content.iter().cloned());
            // Hosts without structured-content support still get the fields as JSON text.
            content.push(ContentBlock::text(structured.to_string()));
            result.content = content;
            Ok(result)
        }
        Err(Failure::User(message) | Failure::OutOfCredits { message, .. }) => {
            let mut structured = job_fields(job, "failed");
            structured.insert("message".into(), json!(message));
            let mut result = CallToolResult::structured_error(Value::Object(structured));
            result.content = vec![ContentBlock::text(message.clone())];
            Ok(result)
        }
        Err(Failure::Internal(message)) => Err(McpError::internal_error(message.clone(), None)),
    }
}

/// The sentence a `running` answer ends with: how a client without tasks keeps waiting
/// (a task's status message leaves it out, see `tasks`).
pub fn keep_waiting(tool: &str, id: &str) -> String {
    format!(" Call {tool} again with {{\"job_id\": \"{id}\"}} to keep waiting.")
}

/// The result for a job still running when the budget ran out.
fn running(job: &Job) -> CallToolResult {
    job.handed_out.store(true, Ordering::SeqCst);
    let latest = job.notices.borrow().clone();
    let elapsed = job.started.elapsed().as_secs();
    let mut message = if *job.parked.borrow() {
        // Parked: the work's own words say why it stopped asking.
        let why = latest
            .as_ref()
            .map(|n| n.message.clone())
            .unwrap_or_default();
        format!("{why} ({elapsed} s so far")
    } else {
        format!("Still working ({elapsed} s so far")
    };
    if let Some(percent) = latest.as_ref().and_then(|n| n.percent) {
        message.push_str(&format!(", {percent:.0}%"));
    }
    message.push_str(").");
    message.push_str(&keep_waiting(job.tool, &job.id));
    let mut structured = job_fields(job, "running");
    structured.insert("message".into(), json!(message));
    if let Some(percent) = latest.and_then(|n| n.percent) {
        structured.insert("progress".into(), json!(percent));
    }
    let structured = Value::Object(structured);
    let mut result = CallToolResult::structured(structured.clone());
    result.content = vec![
        ContentBlock::text(message),
        ContentBlock::text(structured.to_string()),
    ];
    result
}

/// A failure before any job started (bad arguments, no backend).
pub fn failure_result(backend: Option<&str>, failure: Failure) -> Result<CallToolResult, McpError> {
    match failure {
        Failure::User(message) | Failure::OutOfCredits { message, .. } => {
            // Without a backend the fields would not match the output schema: text only.
            let Some(backend) = backend else {
                return Ok(CallToolResult::error(vec![ContentBlock::text(message)]));
            };
            let mut structured = serde_json::Map::new();
            structured.insert("backend".into(), json!(backend));
            structured.insert("status".into(), json!("failed"));
            structured.insert("message".into(), json!(message));
            let mut result = CallToolResult::structured_error(Value::Object(structured));
            result.content = vec![ContentBlock::text(message)];
            Ok(result)
        }
        Failure::Internal(message) => Err(McpError::internal_error(message, None)),
    }
}
