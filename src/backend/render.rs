//! Renders: `POST /api/render/proxy/lambda` queues a job on a bounded pool; each job runs
//! `engine::replace` on a blocking thread, reports progress through the engine's progress
//! reporter (whose `false` stops it on cancel or shutdown), and ends `completed` (credits
//! charged) or `failed`/`cancelled` (credits released, partial output removed). Status,
//! cancel and download (with Range) answer the owner only.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use tokio::sync::{Notify, Semaphore};
use tokio_util::task::TaskTracker;

use super::db::RenderRecord;
use super::error::{ApiError, RenderError};
use super::extract::{ApiJson, BaseUrl, Caller};
use super::faults::FaultBox;
use super::media::serve_file;
use super::sessions::owned_session;
use super::state::AppState;
use super::store::{is_safe_id, now_secs};
use super::timeline;
use super::upload::allowed_path;
use crate::api::{
    Envelope, RenderOutputUrl, RenderRequest, RenderState, RenderStatus, Segment, TrackType,
    headers,
};
use crate::engine::{self, Progress, ProgressReporter, Quality, ReplaceOptions};

/// Live control of one queued or running job.
#[derive(Default)]
pub struct JobCtl {
    cancel: AtomicBool,
    /// Wakes a job still waiting for a worker.
    cancelled: Notify,
    /// Percent × 100, as integer bits for lock-free updates from the render thread.
    progress: AtomicU64,
}

impl JobCtl {
    fn progress(&self) -> f64 {
        self.progress.load(Ordering::Relaxed) as f64 / 100.0
    }
}

pub struct RenderQueue {
    workers: Arc<Semaphore>,
    jobs: Mutex<HashMap<String, Arc<JobCtl>>>,
    tracker: TaskTracker,
    shutting_down: AtomicBool,
}

impl RenderQueue {
    pub fn new(workers: usize) -> Self {
        RenderQueue {
            workers: Arc::new(Semaphore::new(workers.max(1))),
            jobs: Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
            shutting_down: AtomicBool::new(false),
        }
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<JobCtl>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn job(&self, id: &str) -> Option<Arc<JobCtl>> {
        self.jobs().get(id).cloned()
    }

    /// Stop every job as a killed process would: engines are stopped, records are left as
    /// they are (the next start reports them failed). Waits for the job tasks to end.
    pub async fn shutdown(&self, faults: &FaultBox) {
        self.shutting_down.store(true, Ordering::SeqCst);
        for ctl in self.jobs().values() {
            ctl.cancel.store(true, Ordering::SeqCst);
            ctl.cancelled.notify_one();
        }
        faults.wake();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Reports progress into the job's control block; holds while a test fault says so; stops
/// the engine once the job is cancelled.
struct JobReporter {
    ctl: Arc<JobCtl>,
    faults: Arc<FaultBox>,
}

impl ProgressReporter for JobReporter {
    fn update(&mut self, p: &Progress) -> bool {
        // Never 100 before the output is in place.
        let pct = p.percent().min(99.0);
        self.ctl
            .progress
            .store((pct * 100.0) as u64, Ordering::Relaxed);
        self.faults.wait_while_held(&self.ctl.cancel)
    }

    fn warn(&mut self, message: &str) {
        tracing::warn!("render: {message}");
    }
}

fn quality(q: &str) -> Result<Quality, ApiError> {
    match q.to_ascii_lowercase().as_str() {
        "high" | "" => Ok(Quality::High),
        "medium" => Ok(Quality::Medium),
        "low" => Ok(Quality::Low),
        other => Err(ApiError::BadRequest(format!(
            "output.quality {other:?} is not one of high, medium, low"
        ))),
    }
}

fn long_side(resolution: Option<&str>) -> Result<u32, ApiError> {
    match resolution.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("1080p") => Ok(1920),
        Some("720p") => Ok(1280),
        Some("480p") => Ok(854),
        Some(other) => Err(ApiError::BadRequest(format!(
            "output.resolution {other:?} is not one of 1080p, 720p, 480p"
        ))),
    }
}

fn status_of(rec: &RenderRecord, live: Option<&JobCtl>, base: &str) -> RenderStatus {
    let progress = match (rec.status, live) {
        (RenderState::Completed, _) => 100.0,
        (RenderState::Processing, Some(ctl)) => ctl.progress(),
        _ => rec.progress,
    };
    let url = (rec.status == RenderState::Completed)
        .then(|| format!("{base}/api/render/proxy/{}/download", rec.id));
    RenderStatus {
        id: rec.id.clone(),
        status: rec.status,
        progress,
        output_url: url.clone(),
        output: url.map(|url| RenderOutputUrl { url }),
        error: rec.error.clone(),
    }
}

fn attribution(h: &HeaderMap) -> Result<(), ApiError> {
    let present = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty())
    };
    if [
        headers::SKILL_SOURCE,
        headers::SKILL_VERSION,
        headers::SKILL_PLATFORM,
    ]
    .iter()
    .all(|n| present(n))
    {
        Ok(())
    } else {
        Err(ApiError::AttributionRequired)
    }
}

/// The clip a render renders: the draft's first video segment with a background choice
/// (the request's draft, or the session's when the request's has no clip).
fn chosen_segment(req: &RenderRequest) -> Result<&Segment, ApiError> {
    let mut segs = req
        .draft
        .t
        .iter()
        .filter(|t| t.kind() == TrackType::Video)
        .flat_map(|t| t.sg.iter())
        .peekable();
    if segs.peek().is_none() {
        return Err(ApiError::BadRequest(
            "the draft has no video clip; upload one to the session first".into(),
        ));
    }
    segs.find(|s| s.meta_str("bg").is_some()).ok_or_else(|| {
        ApiError::BadRequest(
            "no clip in the draft has a background choice (m.bg); ask for one first, e.g. \"blur the background\"".into(),
        )
    })
}

pub async fn submit(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    BaseUrl(base): BaseUrl,
    hdrs: HeaderMap,
    body: Result<ApiJson<RenderRequest>, ApiError>,
) -> Result<Json<Envelope<RenderStatus>>, RenderError> {
    let caller = caller?;
    attribution(&hdrs)?;
    let ApiJson(mut req) = body?;
    let session = owned_session(&state.db(), &caller, &req.session_id)?;
    // A request without a clip (e.g. `"draft":{}` from curl) renders the session's own draft.
    if req.draft.video_segments().next().is_none() {
        req.draft = session.draft;
    }
    if !is_safe_id(&req.id) {
        return Err(ApiError::BadRequest(format!(
            "render id {:?} must be 1–128 letters, digits, '_' or '-' (e.g. render_<unique>)",
            req.id
        ))
        .into());
    }
    if !req.output.format.eq_ignore_ascii_case("mp4") {
        return Err(ApiError::BadRequest(format!(
            "output.format {:?} is not supported here; use \"mp4\"",
            req.output.format
        ))
        .into());
    }
    let q = quality(&req.output.quality)?;
    let max_long_side = long_side(req.output.resolution.as_deref())?;
    let zero = state.faults.get().out_of_credits;
    if timeline::needs_timeline(&req.draft) {
        return submit_timeline(&state, &caller, &base, req, q, max_long_side, zero).await;
    }
    let (bg_text, bg_input) = {
        let db = state.db();
        let seg = chosen_segment(&req)?;
        let bg = seg.meta_str("bg").unwrap_or_default().to_string();
        let input = match seg.meta_str("bg_media") {
            Some(id) => match db.media.get(id).filter(|m| m.user_id == caller.user_id) {
                Some(m) => db.media_file(m).to_string_lossy().into_owned(),
                None => bg.clone(),
            },
            None => bg.clone(),
        };
        (bg, input)
    };
    // Checked now so a backdrop the engine does not understand is a 4000, not a failed job.
    let backdrop = tokio::task::spawn_blocking(move || engine::backdrop::resolve(&bg_input))
        .await
        .map_err(ApiError::from)?
        .map_err(|e| ApiError::BadRequest(format!("the clip's background {bg_text:?}: {e}")))?;
    let ext = if backdrop.spec == engine::BackdropSpec::Transparent {
        "webm"
    } else {
        "mp4"
    };

    let rec = {
        let mut db = state.db();
        owned_session(&db, &caller, &req.session_id)?;
        if db.renders.contains(&req.id) {
            return Err(ApiError::Conflict(format!(
                "render id {} is already used; send a new unique id",
                req.id
            ))
            .into());
        }
        let seg = chosen_segment(&req)?;
        let owned_media = |id: &str| {
            db.media
                .get(id)
                .filter(|m| m.user_id == caller.user_id)
                .cloned()
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "the draft names media {id}, which you have not uploaded here; upload the clip again"
                    ))
                })
        };
        let media = owned_media(seg.meta_str("media").unwrap_or_default())?;
        if media.file_type != "video" {
            return Err(ApiError::BadRequest(format!(
                "{} is not a video; only video clips can be rendered",
                media.filename
            ))
            .into());
        }
        let bg = seg.meta_str("bg").unwrap_or_default().to_string();
        let bg_media = match seg.meta_str("bg_media") {
            Some(id) => Some(owned_media(id)?.media_id),
            None => None,
        };
        if bg_media.is_none() && (bg.contains('/') || bg.contains('\\')) {
            allowed_path(&state.config.url_roots, &PathBuf::from(&bg))?;
        }
        let seconds = media.duration.ceil().max(1.0);
        let cost = seconds * state.config.render_cost_per_second;
        let rec = RenderRecord {
            id: req.id.clone(),
            user_id: caller.user_id.clone(),
            session_id: req.session_id.clone(),
            status: RenderState::Pending,
            progress: 0.0,
            error: None,
            created_at: now_secs(),
            finished_at: None,
            cost,
            quality: req.output.quality.to_ascii_lowercase(),
            max_long_side,
            media_id: media.media_id,
            bg,
            bg_media,
            ext: ext.to_string(),
            draft: None,
        };
        let mut user = db
            .users
            .get(&caller.user_id)
            .cloned()
            .ok_or_else(|| ApiError::internal("caller without a ledger"))?;
        user.credits.freeze(cost, &req.id, zero)?;
        db.renders.put(&req.id, rec.clone())?;
        db.users.put(&caller.user_id, user)?;
        rec
    };
    let ctl = Arc::new(JobCtl::default());
    state.renders.jobs().insert(rec.id.clone(), ctl.clone());
    let status = status_of(&rec, None, &base);
    let task_state = state.clone();
    state
        .renders
        .tracker
        .spawn(run_job(task_state, rec.id.clone(), q, ctl));
    Ok(Json(Envelope::success(status)))
}

/// Queue a timeline render: the draft is checked (every file the caller's, every backdrop
/// understood) and priced by its length now; the job renders it in `execute`.
#[allow(clippy::too_many_arguments)]
async fn submit_timeline(
    state: &AppState,
    caller: &Caller,
    base: &str,
    req: RenderRequest,
    q: Quality,
    max_long_side: u32,
    zero: bool,
) -> Result<Json<Envelope<RenderStatus>>, RenderError> {
    let rec = {
        let mut db = state.db();
        owned_session(&db, caller, &req.session_id)?;
        if db.renders.contains(&req.id) {
            return Err(ApiError::Conflict(format!(
                "render id {} is already used; send a new unique id",
                req.id
            ))
            .into());
        }
        let (_, seconds) = timeline::build(
            &db,
            &caller.user_id,
            &state.config.url_roots,
            &req.draft,
            PathBuf::from("check.mp4"),
            q,
            max_long_side,
        )
        .map_err(ApiError::BadRequest)?;
        let first = req.draft.video_segments().next();
        let cost = seconds.ceil().max(1.0) * state.config.render_cost_per_second;
        let rec = RenderRecord {
            id: req.id.clone(),
            user_id: caller.user_id.clone(),
            session_id: req.session_id.clone(),
            status: RenderState::Pending,
            progress: 0.0,
            error: None,
            created_at: now_secs(),
            finished_at: None,
            cost,
            quality: req.output.quality.to_ascii_lowercase(),
            max_long_side,
            media_id: first
                .and_then(|s| s.meta_str("media"))
                .unwrap_or_default()
                .to_string(),
            bg: first
                .and_then(|s| s.meta_str("bg"))
                .unwrap_or_default()
                .to_string(),
            bg_media: None,
            ext: "mp4".into(),
            draft: Some(req.draft.clone()),
        };
        let mut user = db
            .users
            .get(&caller.user_id)
            .cloned()
            .ok_or_else(|| ApiError::internal("caller without a ledger"))?;
        user.credits.freeze(cost, &req.id, zero)?;
        db.renders.put(&req.id, rec.clone())?;
        db.users.put(&caller.user_id, user)?;
        rec
    };
    let ctl = Arc::new(JobCtl::default());
    state.renders.jobs().insert(rec.id.clone(), ctl.clone());
    let status = status_of(&rec, None, base);
    state
        .renders
        .tracker
        .spawn(run_job(state.clone(), rec.id.clone(), q, ctl));
    Ok(Json(Envelope::success(status)))
}

async fn run_job(state: AppState, id: String, q: Quality, ctl: Arc<JobCtl>) {
    let queue = state.renders.clone();
    let permit = tokio::select! {
        p = queue.workers.clone().acquire_owned() => p.ok(),
        _ = ctl.cancelled.notified() => None,
    };
    let outcome = match permit {
        Some(_permit) if !ctl.cancel.load(Ordering::SeqCst) => {
            let started = state
                .db()
                .renders
                .update(&id, |r| r.status = RenderState::Processing);
            match started {
                Ok(Some(())) => execute(&state, &id, q, ctl.clone()).await,
                Ok(None) => Err("the render record disappeared".to_string()),
                Err(e) => Err(format!("could not save the render's state: {e}")),
            }
        }
        _ => Err("cancelled".to_string()),
    };
    if queue.shutting_down.load(Ordering::SeqCst) {
        // As if the process had been killed: the next start reports it interrupted.
        queue.jobs().remove(&id);
        return;
    }
    finish(&state, &id, &ctl, outcome);
    queue.jobs().remove(&id);
}

/// Run the engine for record `id` on a blocking thread.
async fn execute(state: &AppState, id: &str, q: Quality, ctl: Arc<JobCtl>) -> Result<(), String> {
    let (rec, input, bg_input, output) = {
        let db = state.db();
        let rec = db
            .renders
            .get(id)
            .cloned()
            .ok_or("the render record disappeared")?;
        let media = db
            .media
            .get(&rec.media_id)
            .cloned()
            .ok_or("the clip was removed from the store")?;
        let bg_input = match &rec.bg_media {
            Some(mid) => {
                let m = db
                    .media
                    .get(mid)
                    .ok_or("the backdrop file was removed from the store")?;
                db.media_file(m).to_string_lossy().into_owned()
            }
            None => rec.bg.clone(),
        };
        let input = db.media_file(&media);
        let output = db.render_output(&rec);
        (rec, input, bg_input, output)
    };
    let faults = state.faults.clone();
    if let Some(draft) = rec.draft.clone() {
        let built = {
            let db = state.db();
            timeline::build(
                &db,
                &rec.user_id,
                &state.config.url_roots,
                &draft,
                output.clone(),
                q,
                rec.max_long_side,
            )
        };
        let (opts, _) = built?;
        let joined = tokio::task::spawn_blocking(move || -> Result<(), String> {
            if !faults.wait_while_held(&ctl.cancel) {
                return Err("cancelled".into());
            }
            if let Some(msg) = faults.get().render_failure {
                return Err(msg);
            }
            let mut reporter = JobReporter { ctl, faults };
            engine::render_timeline(&opts, &mut reporter)
                .map(|_| ())
                .map_err(|e| match e {
                    engine::Error::Cancelled => "cancelled".to_string(),
                    other => other.to_string(),
                })
        })
        .await;
        return joined.unwrap_or_else(|e| Err(format!("the render thread failed: {e}")));
    }
    let joined = tokio::task::spawn_blocking(move || -> Result<(), String> {
        if !faults.wait_while_held(&ctl.cancel) {
            return Err("cancelled".into());
        }
        if let Some(msg) = faults.get().render_failure {
            return Err(msg);
        }
        let backdrop = engine::backdrop::resolve(&bg_input).map_err(|e| e.to_string())?;
        let mut opts = ReplaceOptions::new(input, output, backdrop);
        opts.quality = q;
        opts.max_long_side = rec.max_long_side;
        let mut reporter = JobReporter { ctl, faults };
        engine::replace(&opts, &mut reporter)
            .map(|_| ())
            .map_err(|e| match e {
                engine::Error::Cancelled => "cancelled".to_string(),
                other => other.to_string(),
            })
    })
    .await;
    joined.unwrap_or_else(|e| Err(format!("the render thread failed: {e}")))
}

/// Write the final state, settle the credits, remove output that must not stay.
fn finish(state: &AppState, id: &str, ctl: &JobCtl, outcome: Result<(), String>) {
    let mut db = state.db();
    let Some(output) = db.renders.get(id).map(|r| db.render_output(r)) else {
        return;
    };
    let cancelled = ctl.cancel.load(Ordering::SeqCst);
    let (status, error) = match outcome {
        _ if cancelled => (RenderState::Cancelled, None),
        Ok(()) if output.is_file() => (RenderState::Completed, None),
        Ok(()) => (
            RenderState::Failed,
            Some("the engine reported success but wrote no output".to_string()),
        ),
        Err(e) => (RenderState::Failed, Some(e)),
    };
    if status != RenderState::Completed {
        let _ = std::fs::remove_file(&output);
    }
    let progress = ctl.progress();
    let updated = db.renders.update(id, |r| {
        r.status = status;
        r.error = error.clone();
        r.finished_at = Some(now_secs());
        r.progress = if status == RenderState::Completed {
            100.0
        } else {
            progress
        };
        (r.user_id.clone(), r.cost)
    });
    let (user_id, cost) = match updated {
        Ok(Some(x)) => x,
        Ok(None) => return,
        Err(e) => {
            tracing::error!("render {id}: saving its final state failed: {e}");
            return;
        }
    };
    let settled = db.users.update(&user_id, |u| {
        if status == RenderState::Completed {
            u.credits.charge(cost, id);
        } else {
            u.credits.release(cost, id);
        }
    });
    if let Err(e) = settled {
        tracing::error!("render {id}: saving the ledger failed: {e}");
    }
    match &error {
        Some(e) => tracing::warn!("render {id} failed: {e}"),
        None => tracing::info!("render {id} {status:?}"),
    }
}

/// The caller's render `id`, or 4004.
fn owned_render(state: &AppState, caller: &Caller, id: &str) -> Result<RenderRecord, ApiError> {
    match state.db().renders.get(id) {
        Some(r) if r.user_id == caller.user_id => Ok(r.clone()),
        _ => Err(ApiError::NotFound(format!("render {id} was not found"))),
    }
}

pub async fn status(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    BaseUrl(base): BaseUrl,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Envelope<RenderStatus>>, RenderError> {
    let rec = owned_render(&state, &caller?, &id)?;
    let live = state.renders.job(&id);
    Ok(Json(Envelope::success(status_of(
        &rec,
        live.as_deref(),
        &base,
    ))))
}

/// Cancel a pending or running render; a finished one is answered as it is.
pub async fn cancel(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    BaseUrl(base): BaseUrl,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Envelope<RenderStatus>>, RenderError> {
    let rec = owned_render(&state, &caller?, &id)?;
    if rec.status.is_final() {
        return Ok(Json(Envelope::success(status_of(&rec, None, &base))));
    }
    if let Some(ctl) = state.renders.job(&id) {
        ctl.cancel.store(true, Ordering::SeqCst);
        ctl.cancelled.notify_one();
        state.faults.wake();
    }
    let rec = state
        .db()
        .renders
        .update(&id, |r| {
            r.status = RenderState::Cancelled;
            r.clone()
        })
        .map_err(ApiError::from)?
        .unwrap_or(rec);
    Ok(Json(Envelope::success(status_of(&rec, None, &base))))
}

pub async fn download(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    UrlPath(id): UrlPath<String>,
    req: Request,
) -> Result<Response, RenderError> {
    let rec = owned_render(&state, &caller?, &id)?;
    if rec.status != RenderState::Completed {
        return Err(ApiError::NotFound(format!(
            "render {id} has no output: it is {}; poll its status until completed",
            serde_json::to_value(rec.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ))
        .into());
    }
    let path = state.db().render_output(&rec);
    let mut resp = serve_file(&path, req).await?;
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{id}.{}\"", rec.ext)) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
