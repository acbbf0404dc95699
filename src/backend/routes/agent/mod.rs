//! The local agent behind `POST /run_sse`: parses the instruction, applies it to the
//! session's draft (the backdrop choice in the clip's segment metadata), charges the edit, and
//! streams ADK events — `functionCall`, `functionResponse` with `actions.stateDelta`, final
//! text — with SSE comment heartbeats while it works. The edit runs in its own task, so a
//! client that disconnects mid-stream still gets it applied (and charged once).

mod parser;

use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub use parser::{BackdropSource, BackgroundEdit, HELP, parse};

use super::error::ApiError;
use super::extract::{ApiJson, Caller};
use super::sessions::owned_session;
use crate::api::sse::{AdkEvent, encode_comment, encode_data};
use crate::api::{RunSseRequest, TrackType};
use crate::backend::error::Error;
use crate::backend::services::paths::allowed_path;
use crate::backend::state::AppState;
use crate::backend::store::{Db, SessionRecord};
use crate::engine;

const TOOL: &str = "set_background";

pub async fn run_sse(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<RunSseRequest>,
) -> Result<Response, ApiError> {
    let text = req.text();
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "new_message.parts[].text is empty; say what to change".into(),
        ));
    }
    let (session, edit) = {
        let (caller, session_id, text) = (caller.clone(), req.session_id.clone(), text.clone());
        let cost = state.config.edit_cost;
        state
            .store
            .run(move |db| {
                let session = owned_session(db, &caller, &session_id)?;
                let (media, clips) = names(db, &session)?;
                let edit = parse(&text, &media, &clips);
                if edit.is_some() {
                    let user = db.user(&caller.user_id)?;
                    if user.credits.balance().0 + 1e-9 < cost {
                        return Err(Error::OutOfCredits(format!(
                            "out of credits: an edit costs {cost}; register or top up, then retry"
                        )));
                    }
                }
                Ok((session, edit))
            })
            .await?
    };
    let (tx, rx) = mpsc::channel::<String>(32);
    tokio::spawn(work(state, caller, session.session_id, edit, text, tx));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    });
    let body = Body::from_stream(stream);
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

/// File names of the session's media, and of its videos.
fn names(db: &Db<'_>, session: &SessionRecord) -> Result<(Vec<String>, Vec<String>), Error> {
    let media = db.session_media(session)?;
    Ok((
        media.iter().map(|m| m.filename.clone()).collect(),
        media
            .iter()
            .filter(|m| m.file_type == "video")
            .map(|m| m.filename.clone())
            .collect(),
    ))
}

/// The file name of the session's last uploaded video, the default target of an edit.
async fn last_clip_name(state: &AppState, session_id: &str) -> Option<String> {
    let session_id = session_id.to_string();
    state
        .store
        .run(move |db| {
            let Some(session) = db.session(&session_id)? else {
                return Ok(None);
            };
            Ok(db
                .session_media(&session)?
                .into_iter()
                .rfind(|m| m.file_type == "video")
                .map(|m| m.filename))
        })
        .await
        .ok()
        .flatten()
}

fn now_ts() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The stream's sending side; becomes `None` when the client is gone or a fault cut it.
struct Out(Option<mpsc::Sender<String>>);

impl Out {
    async fn send(&mut self, chunk: String) {
        if let Some(tx) = &self.0
            && tx.send(chunk).await.is_err()
        {
            self.0 = None;
        }
    }

    async fn event(&mut self, e: &AdkEvent) {
        self.send(encode_data(e)).await;
    }
}

async fn work(
    state: AppState,
    caller: Caller,
    session_id: String,
    edit: Option<BackgroundEdit>,
    message: String,
    tx: mpsc::Sender<String>,
) {
    let inv = format!("e-{}", uuid::Uuid::new_v4().simple());
    let mut out = Out(Some(tx));
    let say = |text: &str| -> String { text.to_string() };
    let Some(edit) = edit else {
        out.event(&AdkEvent::final_text(&inv, now_ts(), &say(HELP)))
            .await;
        return;
    };
    let clip = match edit.clip.clone() {
        Some(c) => Some(c),
        None => last_clip_name(&state, &session_id).await,
    };
    let args = json!({
        "clip": clip,
        "background": match &edit.source {
            BackdropSource::Text(t) | BackdropSource::Media(t) | BackdropSource::Path(t) => t.clone(),
        },
    });
    out.event(&AdkEvent::function_call(&inv, now_ts(), TOOL, args))
        .await;

    // The work, with heartbeats while it runs.
    let job = apply(state.clone(), caller, session_id, edit, message);
    tokio::pin!(job);
    let period = state.config.sse_heartbeat.max(Duration::from_millis(10));
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let result = loop {
        tokio::select! {
            r = &mut job => break r,
            _ = beat.tick() => out.send(encode_comment("working")).await,
        }
    };
    match result {
        Ok(done) => {
            out.event(&AdkEvent::function_response(
                &inv,
                now_ts(),
                TOOL,
                json!({"status": "ok", "clip": done.clip, "background": done.bg, "description": done.desc}),
                json!({"draft": done.draft}),
            ))
            .await;
            let text = format!(
                "Done: the background of {} is now {}. Export the video when you are ready.",
                done.clip, done.desc
            );
            out.event(&AdkEvent::final_text(&inv, now_ts(), &say(&text)))
                .await;
        }
        Err(message) => {
            out.event(&AdkEvent::function_response(
                &inv,
                now_ts(),
                TOOL,
                json!({"status": "error", "message": message}),
                json!({}),
            ))
            .await;
            out.event(&AdkEvent::final_text(&inv, now_ts(), &say(&message)))
                .await;
        }
    }
}

struct Applied {
    clip: String,
    bg: String,
    desc: String,
    draft: Value,
}

/// Resolve the backdrop and write it into the target clip's segment. `Err` is a message for
/// the user (nothing changed, nothing charged).
async fn apply(
    state: AppState,
    caller: Caller,
    session_id: String,
    edit: BackgroundEdit,
    message: String,
) -> Result<Applied, String> {
    // Test builds: `slow_ms` makes the work itself slow, so heartbeats show.
    #[cfg(feature = "faults")]
    {
        let slow = state.faults.get().slow_ms;
        if slow > 0 {
            tokio::time::sleep(Duration::from_millis(slow)).await;
        }
    }
    // Which backdrop, as resolver input: words, or a file path.
    let (resolve_input, bg_text, bg_media) = {
        let (caller, session_id) = (caller.clone(), session_id.clone());
        let (source, roots) = (edit.source.clone(), state.config.url_roots.clone());
        state
            .store
            .run(move |db| {
                let session = owned_session(db, &caller, &session_id)?;
                Ok(match &source {
                    BackdropSource::Text(t) => (t.clone(), t.clone(), None),
                    BackdropSource::Media(name) => {
                        let m = db
                            .session_media(&session)?
                            .into_iter()
                            .rfind(|m| &m.filename == name)
                            .ok_or_else(|| {
                                Error::Invalid(format!(
                                    "{name} is not uploaded to this session; upload it first"
                                ))
                            })?;
                        if m.file_type == "audio" {
                            return Err(Error::Invalid(format!(
                                "{name} is audio; a background must be an image, a video, a colour or a description"
                            )));
                        }
                        (
                            db.media_file(&m).to_string_lossy().into_owned(),
                            name.clone(),
                            Some(m.media_id.clone()),
                        )
                    }
                    BackdropSource::Path(p) => {
                        let real = allowed_path(&roots, &PathBuf::from(p))?;
                        let s = real.to_string_lossy().into_owned();
                        (s.clone(), s, None)
                    }
                })
            })
            .await
            .map_err(|e| e.to_string())?
    };
    // Words the parser could not narrow down are retried as the whole message, which the
    // resolver also understands ("把背景换成白色").
    let words = matches!(edit.source, BackdropSource::Text(_));
    let input = resolve_input.clone();
    let resolved = tokio::task::spawn_blocking(move || {
        engine::backdrop::resolve(&input).or_else(|e| {
            if words {
                engine::backdrop::resolve(&message).map_err(|_| e)
            } else {
                Err(e)
            }
        })
    })
    .await
    .map_err(|e| format!("the backdrop resolver failed: {e}"))?;
    let backdrop = resolved
        .map_err(|e| format!("I could not use \"{bg_text}\" as a background: {e}. {HELP}"))?;

    let cost = state.config.edit_cost;
    let description = backdrop.description.clone();
    let bg = bg_text.clone();
    // The edit and its charge land together (one transaction) or not at all.
    let (clip, draft) = state
        .store
        .run(move |db| {
            let mut session = owned_session(db, &caller, &session_id)?;
            let last_video = db
                .session_media(&session)?
                .into_iter()
                .rfind(|m| m.file_type == "video")
                .map(|m| m.media_id);
            let track = session.draft.track_mut(TrackType::Video);
            let seg = match &edit.clip {
                Some(name) => track
                    .sg
                    .iter_mut()
                    .rfind(|s| s.meta_str("name") == Some(name.as_str())),
                None => match &last_video {
                    Some(id) => track
                        .sg
                        .iter_mut()
                        .rfind(|s| s.meta_str("media") == Some(id.as_str())),
                    None => None,
                },
            };
            let Some(seg) = seg else {
                return Err(Error::Invalid("There is no clip in this session yet: upload a video first, then tell me the background you want.".into()));
            };
            let clip = seg.meta_str("name").unwrap_or("your clip").to_string();
            seg.set_meta("bg", bg);
            seg.set_meta("bg_desc", description);
            match &bg_media {
                Some(id) => seg.set_meta("bg_media", id.clone()),
                None => {
                    seg.m.remove("bg_media");
                }
            }
            let draft = serde_json::to_value(&session.draft).unwrap_or(Value::Null);
            db.spend(&caller.user_id, cost, &format!("edit {session_id}"))?;
            db.put_session(&session)?;
            Ok((clip, draft))
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut desc = backdrop.description;
    if backdrop.spec == engine::BackdropSpec::Transparent {
        desc.push_str("; it exports as WebM, since MP4 cannot carry transparency");
    }
    Ok(Applied {
        clip,
        bg: bg_text,
        desc,
        draft,
    })
}
