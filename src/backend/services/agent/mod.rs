//! The local agent's work, below HTTP: an instruction (English or Chinese) or a list of typed
//! operations (`api::EditOp`, from `edit_video.operations`) becomes operations, and one
//! [`apply`] carries them out on the session's draft all together or not at all, charged
//! once, stored as one new timeline version (undo and redo move over the stored versions).
//! Anything it cannot do is an `AgentError` whose message lists what it can do; an invalid
//! operation is an error naming the operation, the field and the accepted values. The
//! `/run_sse` route streams the result.

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
use intent::Names;
pub use parser::{BackdropSource, BackgroundEdit, parse};

use crate::api::{EditOp, OpError};
use crate::backend::services::preview::PreviewSource;
use crate::backend::store::{Db, MediaRecord, SessionRecord, Store, Versions};

/// Why an instruction was not carried out; the message is for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// Not something the local agent can do (with the list of what it can).
    #[error("{0}")]
    Unsupported(String),
    /// An operation that is not valid as given (names the operation, field, accepted values).
    #[error("{0}")]
    Invalid(String),
    /// Understood, but it could not be applied (nothing changed, nothing charged).
    #[error("{0}")]
    Failed(String),
}

impl AgentError {
    /// The ADK `errorCode` of the event that ends the stream.
    pub fn code(&self) -> &'static str {
        match self {
            AgentError::Unsupported(_) => "UNSUPPORTED_EDIT",
            AgentError::Invalid(_) => "INVALID_OPERATION",
            AgentError::Failed(_) => "EDIT_FAILED",
        }
    }
}

impl From<OpError> for AgentError {
    fn from(e: OpError) -> Self {
        AgentError::Invalid(e.to_string())
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

/// Every clause of `text` as an operation on `session`, or why not (with what is possible).
pub fn understand(
    db: &Db<'_>,
    session: &SessionRecord,
    text: &str,
) -> Result<Vec<EditOp>, AgentError> {
    let names = names(db, session)?;
    understand_with(&names, text)
}

fn understand_with(names: &Names, text: &str) -> Result<Vec<EditOp>, AgentError> {
    let help = help::help_for(text);
    let mut out = Vec::new();
    for clause in intent::clauses(text) {
        match intent::parse(&clause, names) {
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

/// Operations sent as data (`edit_video.operations`), checked.
pub fn operations(values: &[Value]) -> Result<Vec<EditOp>, AgentError> {
    if values.is_empty() {
        return Err(AgentError::Invalid(
            "operations is empty: give at least one, e.g. {\"op\":\"trim\",\"remove_first_s\":2}"
                .into(),
        ));
    }
    let ops = crate::api::parse_ops(values)?;
    history_first(&ops)?;
    Ok(ops)
}

/// Undo and redo work on stored versions, so they come before the edits of a call.
fn history_first(ops: &[EditOp]) -> Result<(), AgentError> {
    if let Some(first_edit) = ops.iter().position(|o| !o.is_history())
        && let Some(late) = ops[first_edit..].iter().position(EditOp::is_history)
    {
        let index = first_edit + late + 1;
        return Err(AgentError::Invalid(format!(
            "operation {index} ({}): undo and redo must come before the other operations of a call",
            ops[index - 1].name()
        )));
    }
    Ok(())
}

/// The tool name the first operation stands for, in the stream's `functionCall`.
pub fn tool_of(op: &EditOp) -> &'static str {
    match op {
        EditOp::Backdrop { .. } => "set_background",
        EditOp::Title { .. } => "add_title",
        EditOp::RemoveTitles {} => "remove_titles",
        EditOp::Music { .. } | EditOp::Volume { .. } => "set_music",
        EditOp::RemoveMusic {} => "remove_music",
        EditOp::AspectRatio { .. } => "set_aspect_ratio",
        EditOp::Trim { .. } | EditOp::Keep { .. } => "trim",
        EditOp::Move { .. } | EditOp::Swap { .. } => "move_clip",
        EditOp::Remove { .. } => "remove_clip",
        EditOp::Undo { .. } => "undo",
        EditOp::Redo { .. } => "redo",
    }
}

/// The `functionCall` arguments announcing `ops` on the session's current draft.
pub fn call_args(db: &Db<'_>, session_id: &str, ops: &[EditOp], message: &str) -> Value {
    let draft = db.session(session_id).ok().flatten().map(|s| s.draft);
    match (&ops[0], draft) {
        (EditOp::Backdrop { backdrop, clip }, Some(d)) => {
            let names = match clip.as_ref().map(|c| edit::resolve_clip(&d, c, false)) {
                Some(Ok(name)) => vec![name],
                Some(Err(_)) => Vec::new(),
                None => background::target_names(&d, &background::Target::All),
            };
            json!({
                "clip": names.join(", "),
                "clips": names,
                "background": backdrop,
            })
        }
        _ => json!({"request": message, "operations": ops}),
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
    /// One entry per operation, in order.
    pub done: Vec<Done>,
    /// The new draft as JSON.
    pub draft: Value,
    /// When a background was replaced: the first clip it was applied to, with its stored
    /// file and the backdrop, for the before/after preview (made after the transaction).
    pub preview: Option<PreviewSource>,
    /// The session's timeline history after the call.
    pub versions: Versions,
}

/// Apply every operation to a copy of the draft, then save it as one new timeline version
/// and charge once (one transaction); on any failure nothing changes and nothing is
/// charged. Undo and redo only (no edit) move over the stored versions and are free.
pub async fn apply(
    ws: Workspace<'_>,
    user_id: &str,
    session_id: &str,
    ops: &[EditOp],
    message: &str,
) -> Result<Applied, AgentError> {
    let failed = AgentError::Failed;
    let store_failed = |e: crate::backend::error::Error| AgentError::Failed(e.to_string());
    history_first(ops)?;
    let zh = words::has_cjk(message);
    let help = help::help_for(message);
    // Backdrops first, outside the transaction: resolving one may read and decode files.
    let mut resolved = Vec::new();
    for op in ops {
        if let EditOp::Backdrop { backdrop, .. } = op {
            let (user, session_id, roots, text) = (
                user_id.to_string(),
                session_id.to_string(),
                ws.url_roots.to_vec(),
                backdrop.clone(),
            );
            let (input, words) = ws
                .store
                .run(move |db| {
                    let session = db.owned_session(&user, &session_id)?;
                    let media: Vec<String> = db
                        .session_media(&session)?
                        .into_iter()
                        .filter(|m| m.file_type != "audio")
                        .map(|m| m.filename)
                        .collect();
                    let source = background::source_of(&text, &media);
                    let words = matches!(source, BackdropSource::Text(_));
                    Ok((
                        background::input_of(db, &session.media, &roots, &source),
                        words,
                    ))
                })
                .await
                .map_err(store_failed)?;
            let input = input.map_err(failed)?;
            resolved.push(
                background::resolve(input, words, message.to_string(), help)
                    .await
                    .map_err(failed)?,
            );
        }
    }
    let (user, session_id, ops, cost) = (
        user_id.to_string(),
        session_id.to_string(),
        ops.to_vec(),
        ws.edit_cost,
    );
    // A refused edit (Ok(Err)) rolls back the whole transaction: the upload's version below
    // is recorded only with the edit that follows it.
    ws.store
        .run_or_roll_back(move |db| {
            let mut session = db.owned_session(&user, &session_id)?;
            // A change made outside the edits (an upload) becomes a version of its own.
            let history = db.sync_version(&session_id, &session.draft)?;
            let start = match walk_history(db, &session_id, &ops, history, &session.draft, zh)? {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            let (mut done, base, head) = start;
            let edits: Vec<EditOp> = ops.iter().filter(|o| !o.is_history()).cloned().collect();
            let mut working = session.clone();
            working.draft = base;
            // The edits on a copy of the draft; a failure here has written nothing.
            let (edit_done, draft) = match edit_draft(db, &working, &edits, &resolved, zh) {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            db.set_head(&session_id, head)?;
            session.draft = draft;
            if !edits.is_empty() {
                // Charged, saved and versioned together: an error here rolls all back.
                db.spend(&user, cost, &format!("edit {session_id}"))?;
                db.push_version(&session_id, &session.draft)?;
            }
            db.put_session(&session)?;
            let versions = db.versions(&session_id)?;
            let preview = preview_source(db, &session, &edits, &edit_done, &resolved);
            done.extend(edit_done);
            if let Some(last) = done.last_mut() {
                last.text.push_str(&version_text(versions, zh));
            }
            let draft = serde_json::to_value(&session.draft).unwrap_or(Value::Null);
            Ok(Ok(Applied {
                done,
                draft,
                preview,
                versions,
            }))
        })
        .await
        .map_err(store_failed)?
}

/// " (timeline version 3 of 4)".
fn version_text(v: Versions, zh: bool) -> String {
    if zh {
        format!("（时间线版本 {}/{}）", v.current, v.latest)
    } else {
        format!(" (timeline version {} of {})", v.current, v.latest)
    }
}

type HistoryStart = (Vec<Done>, crate::api::Draft, u32);

/// The undo/redo operations at the head of `ops` walked over the stored versions: what
/// they did, the draft the edits start from, and the version that is then the head.
fn walk_history(
    db: &Db<'_>,
    session_id: &str,
    ops: &[EditOp],
    history: Versions,
    draft: &crate::api::Draft,
    zh: bool,
) -> crate::backend::error::Result<Result<HistoryStart, AgentError>> {
    let mut head = history.current;
    let mut draft = draft.clone();
    let mut done = Vec::new();
    for op in ops.iter().take_while(|o| o.is_history()) {
        let (undo, steps) = match op {
            EditOp::Undo { steps } => (true, steps.unwrap_or(1)),
            EditOp::Redo { steps } => (false, steps.unwrap_or(1)),
            _ => unreachable!("only history operations are walked"),
        };
        let target = if undo {
            head.checked_sub(steps).filter(|t| *t >= 1)
        } else {
            Some(head + steps).filter(|t| *t <= history.latest)
        };
        let Some(target) = target else {
            let why = match (undo, zh) {
                (true, false) => format!(
                    "nothing to undo: the timeline is at version {head}, the first one kept{}",
                    if steps > 1 {
                        format!(" ({steps} steps asked)")
                    } else {
                        String::new()
                    }
                ),
                (true, true) => format!("没有可撤销的编辑：时间线已在最早的版本 {head}"),
                (false, false) => format!(
                    "nothing to redo: the timeline is at version {head} of {}, the newest",
                    history.latest
                ),
                (false, true) => format!("没有可重做的编辑：时间线已在最新的版本 {head}"),
            };
            return Ok(Err(AgentError::Failed(why)));
        };
        let Some(d) = db.version_draft(session_id, target)? else {
            return Ok(Err(AgentError::Failed(format!(
                "version {target} of the timeline is missing from the store"
            ))));
        };
        draft = d;
        head = target;
        let text = match (undo, zh) {
            (true, false) => {
                format!("Undid {steps} edit(s): the timeline is back at version {target}.")
            }
            (true, true) => format!("已撤销 {steps} 步：时间线回到版本 {target}。"),
            (false, false) => {
                format!("Redid {steps} edit(s): the timeline is at version {target}.")
            }
            (false, true) => format!("已重做 {steps} 步：时间线到了版本 {target}。"),
        };
        done.push(Done {
            tool: if undo { "undo" } else { "redo" },
            args: json!({"steps": steps, "version": target}),
            text,
        });
    }
    Ok(Ok((done, draft, head)))
}

/// The clip the first background edit touched first, with its stored file and backdrop;
/// `None` when no background changed or the clip's file is not in the store (a store error
/// here is only logged: the preview is never a reason to fail the edit).
fn preview_source(
    db: &Db<'_>,
    session: &SessionRecord,
    ops: &[EditOp],
    done: &[Done],
    resolved: &[background::Resolved],
) -> Option<PreviewSource> {
    let at = ops
        .iter()
        .position(|i| matches!(i, EditOp::Backdrop { .. }))?;
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

/// `ops` (no undo/redo) applied in order to a copy of the session's draft (`resolved`: the
/// backdrops, in the order of the backdrop operations). Writes nothing.
fn edit_draft(
    db: &Db<'_>,
    session: &SessionRecord,
    ops: &[EditOp],
    resolved: &[background::Resolved],
    zh: bool,
) -> Result<(Vec<Done>, crate::api::Draft), AgentError> {
    let media = media_views(db, session)?;
    let mut draft = session.draft.clone();
    let mut done = Vec::new();
    let mut backdrops = resolved.iter();
    for (i, op) in ops.iter().enumerate() {
        // Which operation failed, when there are several.
        let failed = |e: String| {
            AgentError::Failed(if ops.len() > 1 {
                format!("operation {} ({}): {e}", i + 1, op.name())
            } else {
                e
            })
        };
        let d = match op {
            EditOp::Backdrop { clip, .. } => {
                let r = backdrops
                    .next()
                    .ok_or_else(|| failed("a backdrop was not resolved".into()))?;
                let target = match clip {
                    Some(c) => {
                        background::Target::Clip(edit::resolve_clip(&draft, c, zh).map_err(failed)?)
                    }
                    None => background::Target::All,
                };
                let d = background::apply(&mut draft, &target, r, zh).map_err(failed)?;
                edit::normalise(&mut draft);
                d
            }
            other => edit::apply(&mut draft, other, &media, zh).map_err(failed)?,
        };
        done.push(d);
    }
    Ok((done, draft))
}

#[cfg(test)]
mod table;
