//! Render routes: `POST /api/render/proxy/lambda` checks the request (one clip, or a whole
//! draft as a timeline: `services::timeline`), freezes the credits, stores the record and
//! hands it to the render queue; status, cancel and download (with Range) answer the owner
//! only.

use std::path::PathBuf;

use axum::Json;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use super::error::{ApiError, RenderError};
use super::extract::{ApiJson, BaseUrl, Caller};
use super::media::serve_file;
use crate::api::{
    Envelope, RenderOutputUrl, RenderRequest, RenderState, RenderStatus, Segment, TrackType,
    headers,
};
use crate::backend::error::Error;
use crate::backend::services::backdrop;
use crate::backend::services::timeline;
use crate::backend::state::AppState;
use crate::backend::store::{RenderRecord, is_safe_id, now_secs};
use crate::engine::matte::MatteMode;
use crate::engine::{self, Quality};

fn matte_mode(m: Option<&str>) -> Result<Option<MatteMode>, ApiError> {
    match m.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => MatteMode::parse(s).map(Some).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "output.matte {s:?} is not one of {}",
                MatteMode::NAMES
            ))
        }),
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

/// `live`: the queue's progress of a running render.
fn status_of(rec: &RenderRecord, live: Option<f64>, base: &str) -> RenderStatus {
    let progress = match (rec.status, live) {
        (RenderState::Completed, _) => 100.0,
        (RenderState::Processing, Some(p)) => p,
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
        // The record keeps the matte resolved when the render was asked for (empty only in
        // records older than that, named `fast` when the store opens:
        // `Db::name_default_mattes`); the render queue resolves it the same way
        // (`render_queue::matte_mode`).
        matte: Some(
            MatteMode::parse(&rec.matte)
                .unwrap_or_default()
                .as_str()
                .to_string(),
        ),
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
fn chosen_segment(req: &RenderRequest) -> Result<&Segment, Error> {
    let mut segs = req
        .draft
        .t
        .iter()
        .filter(|t| t.kind() == TrackType::Video)
        .flat_map(|t| t.sg.iter())
        .peekable();
    if segs.peek().is_none() {
        return Err(Error::Invalid(
            "the draft has no video clip; upload one to the session first".into(),
        ));
    }
    segs.find(|s| s.meta_str("bg").is_some()).ok_or_else(|| {
        Error::Invalid(
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
    let session = {
        let (user, id) = (caller.user_id.clone(), req.session_id.clone());
        state
            .store
            .run(move |db| db.owned_session(&user, &id))
            .await?
    };
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
    let matte = matte_mode(req.output.matte.as_deref())?;
    if timeline::needs_timeline(&req.draft) {
        return submit_timeline(&state, &caller, &base, req, q, max_long_side, matte).await;
    }
    let (bg_text, stored) = {
        let seg = chosen_segment(&req)?;
        let bg = seg.meta_str("bg").unwrap_or_default().to_string();
        let bg_media = seg.meta_str("bg_media").map(str::to_string);
        let user = caller.user_id.clone();
        let stored = match bg_media {
            Some(id) => {
                state
                    .store
                    .run(move |db| {
                        Ok(db
                            .media(&id)?
                            .filter(|m| m.user_id == user)
                            .map(|m| db.media_file(&m)))
                    })
                    .await?
            }
            None => None,
        };
        (bg, stored)
    };
    // Checked now so a backdrop the engine does not understand is a 4000, not a failed job.
    // A path-like `bg` passes the gate before anything is looked up.
    let roots = state.config.url_roots.clone();
    let shown = bg_text.clone();
    let backdrop = tokio::task::spawn_blocking(move || match stored {
        Some(file) => backdrop::stored(&file),
        None => backdrop::given(&roots, &shown),
    })
    .await
    .map_err(ApiError::from)?
    .map_err(|e| match e {
        backdrop::BackdropError::Path(refused) => ApiError::BadRequest(refused.to_string()),
        e => ApiError::BadRequest(format!("the clip's background {bg_text:?}: {e}")),
    })?;
    let ext = if backdrop.spec == engine::BackdropSpec::Transparent {
        "webm"
    } else {
        "mp4"
    };

    // Checked, priced, stored and paid for (credits frozen) in one transaction.
    let cost_per_second = state.config.render_cost_per_second;
    let rec = state
        .store
        .run(move |db| {
            db.owned_session(&caller.user_id, &req.session_id)?;
            if db.render(&req.id)?.is_some() {
                return Err(Error::Conflict(format!(
                    "render id {} is already used; send a new unique id",
                    req.id
                )));
            }
            let seg = chosen_segment(&req)?;
            let owned_media = |id: &str| {
                db.media(id)?
                    .filter(|m| m.user_id == caller.user_id)
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "the draft names media {id}, which you have not uploaded here; upload the clip again"
                        ))
                    })
            };
            let media = owned_media(seg.meta_str("media").unwrap_or_default())?;
            if media.file_type != "video" {
                return Err(Error::Invalid(format!(
                    "{} is not a video; only video clips can be rendered",
                    media.filename
                )));
            }
            let bg = seg.meta_str("bg").unwrap_or_default().to_string();
            let bg_media = match seg.meta_str("bg_media") {
                Some(id) => Some(owned_media(id)?.media_id),
                None => None,
            };
            let seconds = media.duration.ceil().max(1.0);
            let cost = seconds * cost_per_second;
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
                // The name, resolved now: a later default must not rename it.
                matte: matte.unwrap_or_default().as_str().to_string(),
                max_long_side,
                media_id: media.media_id,
                bg,
                bg_media,
                ext: ext.to_string(),
                output_removed: false,
                draft: None,
            };
            db.freeze(&caller.user_id, cost, &req.id)?;
            db.put_render(&rec)?;
            Ok(rec)
        })
        .await?;
    let status = status_of(&rec, None, &base);
    state.renders.start(rec.id.clone(), q);
    Ok(Json(Envelope::success(status)))
}

/// Queue a timeline render: the draft is checked (every file the caller's, every backdrop
/// understood) and priced by its length, then stored and paid for (credits frozen) in one
/// transaction; the queue renders it (`services::timeline`). Runs on the store's blocking
/// thread: resolving the backdrops reads files.
async fn submit_timeline(
    state: &AppState,
    caller: &Caller,
    base: &str,
    req: RenderRequest,
    q: Quality,
    max_long_side: u32,
    matte: Option<MatteMode>,
) -> Result<Json<Envelope<RenderStatus>>, RenderError> {
    let roots = state.config.url_roots.clone();
    let cost_per_second = state.config.render_cost_per_second;
    let user = caller.user_id.clone();
    let rec = state
        .store
        .run(move |db| {
            db.owned_session(&user, &req.session_id)?;
            let check = PathBuf::from("check.mp4");
            let (_, seconds) =
                timeline::build(db, &user, &roots, &req.draft, check, q, max_long_side)?;
            if db.render(&req.id)?.is_some() {
                return Err(Error::Conflict(format!(
                    "render id {} is already used; send a new unique id",
                    req.id
                )));
            }
            let first = req.draft.video_segments().next();
            let cost = seconds.ceil().max(1.0) * cost_per_second;
            let rec = RenderRecord {
                id: req.id.clone(),
                user_id: user.clone(),
                session_id: req.session_id.clone(),
                status: RenderState::Pending,
                progress: 0.0,
                error: None,
                created_at: now_secs(),
                finished_at: None,
                cost,
                quality: req.output.quality.to_ascii_lowercase(),
                // The name, resolved now: a later default must not rename it.
                matte: matte.unwrap_or_default().as_str().to_string(),
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
                output_removed: false,
                draft: Some(req.draft.clone()),
            };
            db.freeze(&user, cost, &req.id)?;
            db.put_render(&rec)?;
            Ok(rec)
        })
        .await?;
    let status = status_of(&rec, None, base);
    state.renders.start(rec.id.clone(), q);
    Ok(Json(Envelope::success(status)))
}

/// The caller's render `id`, or 4004.
async fn owned_render(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<RenderRecord, ApiError> {
    let (user, id) = (caller.user_id.clone(), id.to_string());
    Ok(state
        .store
        .run(move |db| match db.render(&id)? {
            Some(r) if r.user_id == user => Ok(r),
            _ => Err(Error::NotFound(format!("render {id} was not found"))),
        })
        .await?)
}

pub async fn status(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    BaseUrl(base): BaseUrl,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Envelope<RenderStatus>>, RenderError> {
    let rec = owned_render(&state, &caller?, &id).await?;
    let live = state.renders.progress(&id);
    Ok(Json(Envelope::success(status_of(&rec, live, &base))))
}

/// Cancel a pending or running render; a finished one is answered as it is.
pub async fn cancel(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    BaseUrl(base): BaseUrl,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Envelope<RenderStatus>>, RenderError> {
    let rec = owned_render(&state, &caller?, &id).await?;
    if rec.status.is_final() {
        return Ok(Json(Envelope::success(status_of(&rec, None, &base))));
    }
    let rid = id.clone();
    let marked = state.store.run(move |db| db.mark_cancelled(&rid)).await?;
    // A live job stops and settles its credits itself; one that is not live is settled now.
    if !state.renders.cancel(&id) {
        let rid = id.clone();
        state
            .store
            .run(move |db| db.finish_render(&rid, RenderState::Cancelled, None, rec.progress))
            .await?;
    }
    let rec = marked.unwrap_or(rec);
    Ok(Json(Envelope::success(status_of(&rec, None, &base))))
}

pub async fn download(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    UrlPath(id): UrlPath<String>,
    req: Request,
) -> Result<Response, RenderError> {
    let rec = owned_render(&state, &caller?, &id).await?;
    if rec.output_removed {
        return Err(ApiError::NotFound(format!(
            "render {id} expired: its output was removed by the backend's retention; render it again"
        ))
        .into());
    }
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
    let path = state.store.render_output(&rec);
    let mut resp = serve_file(&path, req).await?;
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{id}.{}\"", rec.ext)) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
