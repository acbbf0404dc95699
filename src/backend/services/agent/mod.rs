//! The local agent's work, below HTTP: an instruction (English or Chinese) understood as
//! edits — backgrounds, titles, music, aspect ratio, trims, clip order — and applied to the
//! session's draft all together or not at all, charged once. Anything it cannot do is an
//! `AgentError` whose message lists what it can do. The `/run_sse` route streams the result.

mod background;
mod edit;
mod help;
mod intent;
mod parser;
mod words;

use std::path::PathBuf;

use serde_json::{Value, json};

pub use edit::Done;
pub use help::HELP;
pub use intent::Intent;
use intent::Names;
pub use parser::{BackdropSource, BackgroundEdit, parse};

use crate::backend::services::preview::PreviewSource;
use crate::backend::store::{Db, MediaRecord, SessionRecord, Store};

/// Why an instruction was not carried out; the message is for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// Not something the local agent can do (with the list of what it can).
    #[error("{0}")]
    Unsupported(String),
    /// Understood, but it could not be applied (nothing changed, nothing charged).
    #[error("{0}")]
    Failed(String),
}

impl AgentError {
    /// The ADK `errorCode` of the event that ends the stream.
    pub fn code(&self) -> &'static str {
        match self {
            AgentError::Unsupported(_) => "UNSUPPORTED_EDIT",
            AgentError::Failed(_) => "EDIT_FAILED",
        }
    }
}

/// The session's files by name: all media, the clips in timeline order, the audio.
fn names(db: &Db<'_>, session: &SessionRecord) -> Result<Names, AgentError> {
    let media = session_media(db, session)?;
    let mut clips: Vec<String> = session
        .draft
        .video_segments()
        .filter_map(|s| s.meta_str("name").map(str::to_string))
        .collect();
    clips.dedup();
    Ok(Names {
        media: media.iter().map(|m| m.filename.clone()).collect(),
        clips,
        audio: media
            .iter()
            .filter(|m| m.file_type == "audio")
            .map(|m| m.filename.clone())
            .collect(),
    })
}

/// The session's media records; a store failure is a failed edit.
fn session_media(db: &Db<'_>, session: &SessionRecord) -> Result<Vec<MediaRecord>, AgentError> {
    db.session_media(session)
        .map_err(|e| AgentError::Failed(e.to_string()))
}

fn media_views(db: &Db<'_>, session: &SessionRecord) -> Result<Vec<edit::MediaView>, AgentError> {
    Ok(session_media(db, session)?
        .into_iter()
        .map(|m| edit::MediaView {
            media_id: m.media_id,
            filename: m.filename,
            file_type: m.file_type,
            duration_s: m.duration,
        })
        .collect())
}

/// Every clause of `text` as an edit of `session`, or why not (with what is possible).
pub fn understand(
    db: &Db<'_>,
    session: &SessionRecord,
    text: &str,
) -> Result<Vec<Intent>, AgentError> {
    let names = names(db, session)?;
    let help = help::help_for(text);
    let mut out = Vec::new();
    for clause in intent::clauses(text) {
        match intent::parse(&clause, &names) {
            Ok(i) => out.push(i),
            Err(Some(why)) => return Err(AgentError::Unsupported(format!("{why}. {help}"))),
            Err(None) => {
                return Err(AgentError::Unsupported(if words::has_cjk(text) {
                    format!("本地编辑器做不到“{}”。{help}", clause.trim())
                } else {
                    format!("The local editor cannot do \"{}\". {help}", clause.trim())
                }));
            }
        }
    }
    if out.is_empty() {
        return Err(AgentError::Unsupported(help.to_string()));
    }
    Ok(out)
}

/// The tool name the first edit stands for, in the stream's `functionCall`.
pub fn tool_of(i: &Intent) -> &'static str {
    match i {
        Intent::Background { .. } => "set_background",
        Intent::Title(_) => "add_title",
        Intent::RemoveTitles => "remove_titles",
        Intent::Music(_) => "set_music",
        Intent::RemoveMusic => "remove_music",
        Intent::Aspect(_) => "set_aspect_ratio",
        Intent::Trim { .. } => "trim",
        Intent::Move { .. } | Intent::Swap(..) => "move_clip",
        Intent::RemoveClip(_) => "remove_clip",
    }
}

/// The `functionCall` arguments announcing `intents` on the session's current draft.
pub fn call_args(db: &Db<'_>, session_id: &str, intents: &[Intent], message: &str) -> Value {
    let draft = db.session(session_id).ok().flatten().map(|s| s.draft);
    match (&intents[0], draft) {
        (Intent::Background { source, target }, Some(d)) => {
            let names = background::target_names(&d, target);
            json!({
                "clip": names.join(", "),
                "clips": names,
                "background": match source {
                    BackdropSource::Text(t) | BackdropSource::Media(t) | BackdropSource::Path(t) => t.clone(),
                },
            })
        }
        _ => {
            json!({"request": message, "edits": intents.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>()})
        }
    }
}

/// Where `apply` works: the store, the folders local paths may come from, the price of an
/// edit.
pub struct Workspace<'a> {
    pub store: &'a Store,
    pub url_roots: &'a [PathBuf],
    pub edit_cost: f64,
}

/// What `apply` did.
pub struct Applied {
    /// One entry per edit, in order.
    pub done: Vec<Done>,
    /// The new draft as JSON.
    pub draft: Value,
    /// When a background was replaced: the first clip it was applied to, with its stored
    /// file and the backdrop, for the before/after preview (made after the transaction).
    pub preview: Option<PreviewSource>,
}

/// Apply every edit to a copy of the draft, then save it and charge once (one
/// transaction); on any failure nothing changes and nothing is charged.
pub async fn apply(
    ws: Workspace<'_>,
    user_id: &str,
    session_id: &str,
    intents: &[Intent],
    message: &str,
) -> Result<Applied, AgentError> {
    let failed = AgentError::Failed;
    let store_failed = |e: crate::backend::error::Error| AgentError::Failed(e.to_string());
    let zh = words::has_cjk(message);
    let help = help::help_for(message);
    // Backdrops first, outside the transaction: resolving one may read and decode files.
    let mut resolved = Vec::new();
    for i in intents {
        if let Intent::Background { source, .. } = i {
            let words = matches!(source, BackdropSource::Text(_));
            let (user, session_id, roots, source) = (
                user_id.to_string(),
                session_id.to_string(),
                ws.url_roots.to_vec(),
                source.clone(),
            );
            let input = ws
                .store
                .run(move |db| {
                    let session = db.owned_session(&user, &session_id)?;
                    Ok(background::input_of(db, &session.media, &roots, &source))
                })
                .await
                .map_err(store_failed)?
                .map_err(failed)?;
            resolved.push(
                background::resolve(input, words, message.to_string(), help)
                    .await
                    .map_err(failed)?,
            );
        }
    }
    let (user, session_id, intents, cost) = (
        user_id.to_string(),
        session_id.to_string(),
        intents.to_vec(),
        ws.edit_cost,
    );
    ws.store
        .run(move |db| {
            let mut session = db.owned_session(&user, &session_id)?;
            // The edits on a copy of the draft; a failure here has written nothing.
            let edited = edit_draft(db, &session, &intents, &resolved, zh);
            let (done, draft) = match edited {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            session.draft = draft;
            // Charged and saved together: an error here rolls both back.
            db.spend(&user, cost, &format!("edit {session_id}"))?;
            db.put_session(&session)?;
            let preview = preview_source(db, &session, &intents, &done, &resolved);
            let draft = serde_json::to_value(&session.draft).unwrap_or(Value::Null);
            Ok(Ok(Applied {
                done,
                draft,
                preview,
            }))
        })
        .await
        .map_err(store_failed)?
}

/// The clip the first background edit touched first, with its stored file and backdrop;
/// `None` when no background changed or the clip's file is not in the store (a store error
/// here is only logged: the preview is never a reason to fail the edit).
fn preview_source(
    db: &Db<'_>,
    session: &SessionRecord,
    intents: &[Intent],
    done: &[Done],
    resolved: &[background::Resolved],
) -> Option<PreviewSource> {
    let at = intents
        .iter()
        .position(|i| matches!(i, Intent::Background { .. }))?;
    let clip = done
        .get(at)?
        .args
        .get("clips")?
        .get(0)?
        .as_str()?
        .to_string();
    let media_id = session
        .draft
        .video_segments()
        .find(|s| s.meta_str("name") == Some(clip.as_str()))
        .and_then(|s| s.meta_str("media"))?
        .to_string();
    let media = match db.media(&media_id) {
        Ok(m) => m?,
        Err(e) => {
            tracing::warn!(clip = %clip, "no preview: reading the clip's record failed: {e}");
            return None;
        }
    };
    Some(PreviewSource {
        user_id: session.user_id.clone(),
        session_id: session.session_id.clone(),
        clip,
        file: db.media_file(&media),
        backdrop: resolved.first()?.backdrop.clone(),
    })
}

/// `intents` applied to a copy of the session's draft (`resolved`: the backdrops, in the
/// order of the background intents). Writes nothing.
fn edit_draft(
    db: &Db<'_>,
    session: &SessionRecord,
    intents: &[Intent],
    resolved: &[background::Resolved],
    zh: bool,
) -> Result<(Vec<Done>, crate::api::Draft), AgentError> {
    let failed = AgentError::Failed;
    let media = media_views(db, session)?;
    let mut draft = session.draft.clone();
    let mut done = Vec::new();
    let mut backdrops = resolved.iter();
    for i in intents {
        let d = match i {
            Intent::Background { target, .. } => {
                let r = backdrops
                    .next()
                    .ok_or_else(|| failed("a backdrop was not resolved".into()))?;
                let d = background::apply(&mut draft, target, r, zh).map_err(failed)?;
                edit::normalise(&mut draft);
                d
            }
            other => edit::apply(&mut draft, other, &media, zh).map_err(failed)?,
        };
        done.push(d);
    }
    Ok((done, draft))
}
