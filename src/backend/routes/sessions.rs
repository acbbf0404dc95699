//! Sessions: `POST /api/tasks/me/with-session/nemo_agent` creates one (with an empty draft),
//! `GET /api/state/nemo_agent/me/S/latest` answers its state. A session is visible to its
//! owner only; anyone else gets 1002, the same as for an unknown id.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::extract::{ApiJson, BaseUrl, Caller, Source};
use crate::api::{Draft, Envelope, RenderState, SessionInfo, SessionState, StateData};
use crate::backend::error::Error;
use crate::backend::services::media::media_url;
use crate::backend::services::preview;
use crate::backend::state::AppState;
use crate::backend::store::{Db, MediaRecord, SessionRecord, now_secs};

/// The create body; both fields optional so a bare `{}` works too.
#[derive(Debug, Deserialize, Default)]
pub struct CreateBody {
    #[serde(default)]
    task_name: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Source(source): Source,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Json<Envelope<SessionInfo>>, ApiError> {
    let rec = SessionRecord {
        session_id: super::dialect::new_session_id(state.config.dialect),
        task_id: format!("task_{}", uuid::Uuid::new_v4().simple()),
        user_id: caller.user_id.clone(),
        created_at: now_secs(),
        task_name: body.task_name.unwrap_or_else(|| "project".into()),
        language: body.language.unwrap_or_else(|| "en".into()),
        draft: Draft::default(),
        media: Vec::new(),
    };
    let info = SessionInfo {
        task_id: rec.task_id.clone(),
        session_id: rec.session_id.clone(),
        user_id: caller.user_id,
    };
    // The session and its counts (per user, per source) together: a refusal writes nothing.
    let standing = state.standing.clone();
    state
        .store
        .run(move |db| {
            standing.session(db, &rec.user_id, &source)?;
            db.put_session(&rec)
        })
        .await?;
    Ok(Json(Envelope::ok(info)))
}

/// The caller's live session `id`, or 1002.
pub fn owned_session(db: &Db<'_>, caller: &Caller, id: &str) -> Result<SessionRecord, Error> {
    db.owned_session(&caller.user_id, id)
}

pub async fn latest(
    State(state): State<AppState>,
    caller: Caller,
    BaseUrl(base): BaseUrl,
    Path(session_id): Path<String>,
) -> Result<Json<Envelope<StateData>>, ApiError> {
    let answer = state
        .store
        .run(move |db| {
            let session = owned_session(db, &caller, &session_id)?;
            session_state(db, &session, &base)
        })
        .await?;
    Ok(Json(Envelope::ok(StateData { state: answer })))
}

pub fn media_info_json(base: &str, m: &MediaRecord) -> Value {
    json!({
        "media_id": m.media_id,
        "filename": m.filename,
        "file_type": m.file_type,
        "url": media_url(base, m),
        "duration": m.duration,
        "width": m.width,
        "height": m.height,
        "fps": m.fps,
        "hash": m.hash,
    })
}

/// The state as answered by `/latest` (and summarised in SSE `stateDelta`s).
pub fn session_state(
    db: &Db<'_>,
    session: &SessionRecord,
    base: &str,
) -> Result<SessionState, Error> {
    let media = db.session_media(session)?;
    let video_infos: Vec<Value> = media.iter().map(|m| media_info_json(base, m)).collect();
    let canvas_config = media
        .iter()
        .find(|m| m.file_type == "video")
        .map(|m| {
            json!({"width": m.width, "height": m.height, "ratio": ratio_text(m.width, m.height)})
        })
        .unwrap_or_else(|| json!({}));
    let renders = db.session_renders(&session.session_id, RenderState::Completed)?;
    let mut generated_media: Vec<Value> = renders
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "type": "video",
                "url": format!("{base}/api/render/proxy/{}/download", r.id),
            })
        })
        .collect();
    // The before/after previews of background edits, oldest first (an extension of ours).
    for p in db.session_media_with_prefix(&session.session_id, preview::ID_PREFIX)? {
        generated_media.push(json!({
            "id": p.media_id,
            "type": "image",
            "kind": "preview",
            "name": p.filename,
            "url": media_url(base, &p),
        }));
    }
    let mut extra = serde_json::Map::new();
    extra.insert("session_id".into(), json!(session.session_id));
    // Where undo/redo stand (an extension of ours; 0 of 0 before the first edit).
    let v = db.versions(&session.session_id)?;
    extra.insert(
        "timeline_version".into(),
        json!({"current": v.current, "latest": v.latest}),
    );
    Ok(SessionState {
        draft: Some(session.draft.clone()),
        video_infos: Value::Array(video_infos),
        canvas_config,
        generated_media: Value::Array(generated_media),
        extra,
    })
}

fn ratio_text(w: u32, h: u32) -> String {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let g = gcd(w, h).max(1);
    format!("{}:{}", w / g, h / g)
}
