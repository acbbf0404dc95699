//! A draft as the engine's timeline: the clips in order with their kept spans and
//! backdrops, the titles, the music and the canvas shape, every file reference checked
//! against the caller's own uploads — so a bad draft is refused when the render is
//! submitted, not found out by a failed job. The fields read are the ones `api/draft.rs`
//! documents.

use std::path::PathBuf;

use serde_json::Value;

use super::backdrop::{self, BackdropError};
use crate::api::{Draft, Segment, TrackType};
use crate::backend::error::Error;
use crate::backend::store::Db;
use crate::engine::Quality;
use crate::engine::timeline::{
    TimelineClip, TimelineMusic, TimelineOptions, TimelineTitle, TitlePosition,
};

/// True when the draft asks for more than one clip's background swap: several clips, a
/// trim, titles, music, another canvas shape, or a clip that keeps its background.
pub fn needs_timeline(draft: &Draft) -> bool {
    let clips: Vec<&Segment> = draft.video_segments().collect();
    clips.len() != 1
        || clips.iter().any(|s| {
            s.meta_str("bg").is_none() || s.m.get("in_ms").and_then(Value::as_u64).unwrap_or(0) > 0
        })
        || clips.iter().any(|s| {
            let src = s.m.get("src_ms").and_then(Value::as_u64);
            src.is_some_and(|src| s.d + 50 < src)
        })
        || draft
            .t
            .iter()
            .any(|t| matches!(t.kind(), TrackType::Text | TrackType::Audio) && !t.sg.is_empty())
        || aspect(draft).is_some()
}

/// The canvas ratio the agent recorded (`canvas.ratio`, e.g. "9:16").
pub fn aspect(draft: &Draft) -> Option<(u32, u32)> {
    let r = draft.extra.get("canvas")?.get("ratio")?.as_str()?;
    let (w, h) = r.split_once(':')?;
    let (w, h) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

fn ms_field(s: &Segment, key: &str) -> Option<u64> {
    s.m.get(key).and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
    })
}

fn colour(s: &str) -> Option<(u8, u8, u8)> {
    let h = s.trim().trim_start_matches('#');
    if h.len() != 6 {
        return None;
    }
    let v = u32::from_str_radix(h, 16).ok()?;
    Some(((v >> 16) as u8, (v >> 8) as u8, v as u8))
}

/// Everything needed to render `draft` for `user_id`, and its length in seconds (for the
/// price). `Err(Error::Invalid)`: what is wrong with the draft, for the user.
pub fn build(
    db: &Db<'_>,
    user_id: &str,
    url_roots: &[PathBuf],
    draft: &Draft,
    output: PathBuf,
    quality: Quality,
    max_long_side: u32,
) -> Result<(TimelineOptions, f64), Error> {
    build_checked(
        db,
        user_id,
        url_roots,
        draft,
        output,
        quality,
        max_long_side,
    )
    .map_err(Error::Invalid)
}

fn build_checked(
    db: &Db<'_>,
    user_id: &str,
    url_roots: &[PathBuf],
    draft: &Draft,
    output: PathBuf,
    quality: Quality,
    max_long_side: u32,
) -> Result<(TimelineOptions, f64), String> {
    let owned = |id: &str, what: &str| -> Result<(PathBuf, String, String), String> {
        db.media(id)
            .map_err(|e| e.to_string())?
            .filter(|m| m.user_id == user_id)
            .map(|m| (db.media_file(&m), m.filename.clone(), m.file_type.clone()))
            .ok_or_else(|| {
                format!(
                    "the draft names {what} {id}, which you have not uploaded here; upload it again"
                )
            })
    };
    let mut clips = Vec::new();
    let mut total_ms = 0u64;
    for seg in draft.video_segments() {
        let id = seg.meta_str("media").ok_or(
            "a video segment of the draft has no m.media; upload the clip to this session",
        )?;
        let (input, name, kind) = owned(id, "media")?;
        // What the engine will really render of this clip: `d` when set, else the rest of the
        // clip from `in_ms` (a `d: 0` segment renders the whole clip, so it is priced so).
        let clip_ms = db
            .media(id)
            .ok()
            .flatten()
            .map(|m| (m.duration.max(0.0) * 1000.0).ceil() as u64)
            .unwrap_or(0);
        if kind != "video" {
            return Err(format!(
                "{name} is not a video; only video clips can be rendered"
            ));
        }
        // A path-like `bg` passes the gate first; words never touch the file system.
        let backdrop = match (seg.meta_str("bg_media"), seg.meta_str("bg")) {
            (Some(bid), _) => {
                let (file, _, _) = owned(bid, "backdrop file")?;
                Some(backdrop::stored(&file))
            }
            (None, Some(bg)) => Some(backdrop::given(url_roots, bg)),
            (None, None) => None,
        };
        let backdrop = match backdrop {
            Some(Ok(b)) => Some(b),
            Some(Err(BackdropError::Path(refused))) => return Err(refused.to_string()),
            Some(Err(e)) => return Err(format!("the background of {name}: {e}")),
            None => None,
        };
        let start_ms = ms_field(seg, "in_ms").unwrap_or(0);
        total_ms += if seg.d > 0 {
            seg.d
        } else {
            clip_ms.saturating_sub(start_ms)
        };
        clips.push(TimelineClip {
            input,
            start_s: start_ms as f64 / 1000.0,
            duration_s: (seg.d > 0).then(|| seg.d as f64 / 1000.0),
            backdrop,
        });
    }
    if clips.is_empty() {
        return Err("the draft has no video clip; upload one to the session first".into());
    }
    let mut titles = Vec::new();
    let mut music = None;
    for track in &draft.t {
        match track.kind() {
            TrackType::Text => {
                for s in &track.sg {
                    let text = s
                        .meta_str("text")
                        .or_else(|| s.meta_str("name"))
                        .unwrap_or_default()
                        .to_string();
                    if text.trim().is_empty() {
                        continue;
                    }
                    let st = s.st.unwrap_or(0);
                    titles.push(TimelineTitle {
                        text,
                        start_s: st as f64 / 1000.0,
                        end_s: (st + s.d) as f64 / 1000.0,
                        position: match s.meta_str("pos") {
                            Some("top") => TitlePosition::Top,
                            Some("bottom") => TitlePosition::Bottom,
                            _ => TitlePosition::Center,
                        },
                        size: s.m.get("size").and_then(Value::as_f64).unwrap_or(0.08) as f32,
                        color: s
                            .meta_str("color")
                            .and_then(colour)
                            .unwrap_or((255, 255, 255)),
                        fade_s: ms_field(s, "fade_ms").unwrap_or(0) as f64 / 1000.0,
                    });
                }
            }
            TrackType::Audio if music.is_none() => {
                if let Some(s) = track.sg.iter().find(|s| s.meta_str("media").is_some()) {
                    let id = s.meta_str("media").unwrap_or_default();
                    let (input, name, kind) = owned(id, "music file")?;
                    if kind != "audio" && kind != "video" {
                        return Err(format!("{name} has no sound; music must be an audio file"));
                    }
                    music = Some(TimelineMusic {
                        input,
                        volume: (s.m.get("vol").and_then(Value::as_f64).unwrap_or(100.0) / 100.0)
                            as f32,
                        looped: s.m.get("loop").and_then(Value::as_bool).unwrap_or(true),
                        fade_in_s: ms_field(s, "fade_in_ms").unwrap_or(0) as f64 / 1000.0,
                        fade_out_s: ms_field(s, "fade_out_ms").unwrap_or(0) as f64 / 1000.0,
                        duck: s.m.get("duck").and_then(Value::as_bool).unwrap_or(false),
                        // The segment's span (a range of its own, or the whole video).
                        start_s: s.st.unwrap_or(0) as f64 / 1000.0,
                        end_s: (s.d > 0).then(|| (s.st.unwrap_or(0) + s.d) as f64 / 1000.0),
                    });
                }
            }
            _ => {}
        }
    }
    let mut opts = TimelineOptions::new(output, clips);
    opts.titles = titles;
    opts.music = music;
    opts.aspect = aspect(draft);
    opts.quality = quality;
    opts.max_long_side = max_long_side;
    Ok((opts, total_ms as f64 / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(v: serde_json::Value) -> Draft {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn what_needs_the_timeline() {
        let one = draft(
            serde_json::json!({"t":[{"tt":0,"sg":[{"d":2000,"m":{"media":"m1","bg":"blur"}}]}]}),
        );
        assert!(!needs_timeline(&one));
        let trimmed = draft(
            serde_json::json!({"t":[{"tt":0,"sg":[{"d":2000,"m":{"media":"m1","bg":"blur","in_ms":500}}]}]}),
        );
        assert!(needs_timeline(&trimmed));
        let two = draft(
            serde_json::json!({"t":[{"tt":0,"sg":[{"d":2000,"m":{"media":"m1","bg":"blur"}},{"d":1000,"m":{"media":"m2"}}]}]}),
        );
        assert!(needs_timeline(&two));
        let tall = draft(
            serde_json::json!({"t":[{"tt":0,"sg":[{"d":2000,"m":{"media":"m1","bg":"blur"}}]}],"canvas":{"ratio":"9:16"}}),
        );
        assert!(needs_timeline(&tall));
        assert_eq!(aspect(&tall), Some((9, 16)));
        let titled = draft(
            serde_json::json!({"t":[{"tt":0,"sg":[{"d":2000,"m":{"media":"m1","bg":"blur"}}]},{"tt":7,"sg":[{"d":1000,"m":{"text":"Hi"}}]}]}),
        );
        assert!(needs_timeline(&titled));
    }
}
