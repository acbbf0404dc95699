//! Background edits: the backdrop (words, a file uploaded to the session, or an allowed local
//! path) resolved by the engine's resolver — the one the CLI uses — and written into the
//! target clips' segments (`m.bg`, `m.bg_desc`, `m.bg_media`; see `api/draft.rs`).

use std::path::PathBuf;

use serde_json::json;

use super::edit::Done;
use super::parser::BackdropSource;
use crate::api::{Draft, TrackType};
use crate::backend::services::paths;
use crate::backend::store::Db;
use crate::engine;

/// Which clips a background edit applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Every video clip on the timeline.
    All,
    /// The clip with this file name.
    Clip(String),
}

/// Where the backdrop `text` of an operation comes from: a file uploaded to the session
/// (by its name, case-blind), a local path, or words for the resolver.
pub fn source_of(text: &str, media: &[String]) -> BackdropSource {
    let t = text.trim();
    if let Some(m) = media.iter().rev().find(|m| m.eq_ignore_ascii_case(t)) {
        return BackdropSource::Media(m.clone());
    }
    let windows_drive =
        t.len() > 2 && t.as_bytes()[1] == b':' && t.as_bytes()[0].is_ascii_alphabetic();
    if t.starts_with('/') || t.starts_with("~/") || t.starts_with("file:") || windows_drive {
        return BackdropSource::Path(t.to_string());
    }
    BackdropSource::Text(t.to_string())
}

/// A backdrop ready to be written into segments.
pub struct Resolved {
    /// The backdrop as the user gave it (words or a file name).
    pub bg_text: String,
    /// The backend media id when the backdrop is an uploaded file.
    pub bg_media: Option<String>,
    pub backdrop: engine::Backdrop,
}

/// What the resolver gets: a file already through the gate (or the store's own upload), or
/// words that never touch the file system.
#[derive(Debug, Clone)]
pub enum BgInput {
    File(PathBuf),
    Words(String),
}

/// What to hand the resolver for `source`: (resolver input, text to record, media id).
/// Reads the store; every path-like string passes `paths::gate` here, whatever branch of the
/// parser produced it. `Err` is a message for the user.
pub fn input_of(
    db: &Db<'_>,
    media_ids: &[String],
    url_roots: &[PathBuf],
    source: &BackdropSource,
) -> Result<(BgInput, String, Option<String>), String> {
    let gated = |p: &str| {
        let real = paths::gate(url_roots, p).map_err(|e| e.to_string())?;
        let s = real.path().to_string_lossy().into_owned();
        Ok((BgInput::File(real.into_path_buf()), s, None))
    };
    match source {
        BackdropSource::Text(t) if paths::is_path_like(t) => gated(t),
        BackdropSource::Text(t) => Ok((BgInput::Words(t.clone()), t.clone(), None)),
        BackdropSource::Media(name) => {
            let mut found = Vec::new();
            for id in media_ids {
                if let Some(m) = db.media(id).map_err(|e| e.to_string())? {
                    found.push(m);
                }
            }
            let m = found
                .into_iter()
                .rfind(|m| &m.filename == name)
                .ok_or_else(|| {
                    format!("{name} is not uploaded to this session; upload it first")
                })?;
            if m.file_type == "audio" {
                return Err(format!(
                    "{name} is audio; a background must be an image, a video, a colour or a description"
                ));
            }
            Ok((
                BgInput::File(db.media_file(&m)),
                name.clone(),
                Some(m.media_id.clone()),
            ))
        }
        BackdropSource::Path(p) => gated(p),
    }
}

/// Resolve on a blocking thread. Words the parser could not narrow down are retried as the
/// whole `message`, which the resolver also understands ("把背景换成白色"); words never
/// reach the file system.
pub async fn resolve(
    input: (BgInput, String, Option<String>),
    words: bool,
    message: String,
    help: &str,
) -> Result<Resolved, String> {
    let (resolve_input, bg_text, bg_media) = input;
    let stored_name = match &resolve_input {
        BgInput::File(p) => p.file_name().and_then(|n| n.to_str()).map(str::to_string),
        BgInput::Words(_) => None,
    };
    let resolved = tokio::task::spawn_blocking(move || match resolve_input {
        BgInput::File(p) => engine::backdrop::from_file(&p),
        BgInput::Words(w) => engine::backdrop::resolve_words(&w).or_else(|e| {
            if words {
                engine::backdrop::resolve_words(&message).map_err(|_| e)
            } else {
                Err(e)
            }
        }),
    })
    .await
    .map_err(|e| format!("the backdrop resolver failed: {e}"))?;
    let mut backdrop = resolved
        .map_err(|e| format!("I could not use \"{bg_text}\" as a background: {e}. {help}"))?;
    // An uploaded file is stored under its media id: describe it by the user's name for it.
    if bg_media.is_some()
        && let Some(stored) = stored_name
    {
        backdrop.description = backdrop.description.replace(&stored, &bg_text);
    }
    Ok(Resolved {
        bg_text,
        bg_media,
        backdrop,
    })
}

/// The clip names an edit of `target` touches, for the tool call's arguments.
pub fn target_names(draft: &Draft, target: &Target) -> Vec<String> {
    match target {
        Target::Clip(name) => vec![name.clone()],
        Target::All => draft
            .video_segments()
            .filter_map(|s| s.meta_str("name").map(str::to_string))
            .collect(),
    }
}

/// Write the backdrop into every targeted video segment.
pub fn apply(draft: &mut Draft, target: &Target, r: &Resolved, zh: bool) -> Result<Done, String> {
    let names = target_names(draft, target);
    let track = draft.track_mut(TrackType::Video);
    let mut touched = Vec::new();
    for seg in track.sg.iter_mut() {
        let hit = match target {
            Target::All => true,
            Target::Clip(name) => seg.meta_str("name") == Some(name.as_str()),
        };
        if !hit {
            continue;
        }
        seg.set_meta("bg", r.bg_text.clone());
        seg.set_meta("bg_desc", r.backdrop.description.clone());
        match &r.bg_media {
            Some(id) => seg.set_meta("bg_media", id.clone()),
            None => {
                seg.m.remove("bg_media");
            }
        }
        touched.push(seg.meta_str("name").unwrap_or("your clip").to_string());
    }
    if touched.is_empty() {
        draft
            .t
            .retain(|t| t.kind() != TrackType::Video || !t.sg.is_empty());
        return Err(match target {
            Target::Clip(name) => format!(
                "{name} is not on the timeline; the clips are: {}",
                names.join(", ")
            ),
            Target::All => {
                if zh {
                    "这个会话里还没有片段：请先上传视频，再说要换成什么背景。".to_string()
                } else {
                    "There is no clip in this session yet: upload a video first, then tell me the background you want.".to_string()
                }
            }
        });
    }
    let mut desc = r.backdrop.description.clone();
    if r.backdrop.spec == engine::BackdropSpec::Transparent {
        desc.push_str("; it exports as WebM, since MP4 cannot carry transparency");
    }
    let which = if touched.len() == 1 {
        touched[0].clone()
    } else if zh {
        format!("全部 {} 个片段（{}）", touched.len(), touched.join("、"))
    } else {
        format!("every clip ({})", touched.join(", "))
    };
    let text = if zh {
        format!("完成：{which} 的背景已换成 {desc}。准备好后就可以导出视频。")
    } else {
        format!(
            "Done: the background of {which} is now {desc}. Export the video when you are ready."
        )
    };
    Ok(Done {
        tool: "set_background",
        args: json!({"clip": touched.join(", "), "clips": touched, "background": r.bg_text, "description": desc}),
        text,
    })
}
