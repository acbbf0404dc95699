//! Timeline edits on the draft, pure functions of the draft and the session's files: titles,
//! music, aspect ratio, trims, moving and removing clips, and `normalise`, which keeps the
//! segments' times consistent after any edit (clips back to back, music as long as the
//! video). The segment fields are the ones documented in `api/draft.rs`.

use serde_json::{Value, json};

use crate::api::{
    ClipRef, Draft, EditOp, Segment, TitlePosition, TitleSize, TrackType, colour_rgb,
};

/// One uploaded file as the agent sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaView {
    pub media_id: String,
    pub filename: String,
    /// "video", "image" or "audio".
    pub file_type: String,
    pub duration_s: f64,
}

/// An applied edit: the tool call it stands for and what to tell the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub tool: &'static str,
    pub args: Value,
    pub text: String,
}

/// Default length of a title without a time, ms.
const TITLE_MS: u64 = 3000;
/// Default music volume, percent: under speech, not over it.
const MUSIC_VOL: f64 = 30.0;

pub fn draft_key_canvas() -> &'static str {
    "canvas"
}

fn secs(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}", ms / 1000)
    } else {
        format!("{:.1}", ms as f64 / 1000.0)
    }
}

fn ms(s: f64) -> u64 {
    (s.max(0.0) * 1000.0).round() as u64
}

fn video_track(draft: &mut Draft) -> Option<&mut crate::api::Track> {
    draft.t.iter_mut().find(|t| t.kind() == TrackType::Video)
}

/// Length of the video on the timeline, ms (clips back to back).
pub fn total_ms(draft: &Draft) -> u64 {
    draft.video_segments().map(|s| s.d).sum()
}

/// Whether a music segment has a range of its own (`m.range`, see `api/draft.rs`) rather
/// than spanning the video.
fn ranged(s: &Segment) -> bool {
    s.m.get("range").and_then(Value::as_bool).unwrap_or(false)
}

/// Clips back to back from 0 in track order; music spans the whole video (or keeps its own
/// range, cut at the video's end); titles end with it.
pub fn normalise(draft: &mut Draft) {
    let mut at = 0;
    if let Some(track) = video_track(draft) {
        for s in &mut track.sg {
            s.st = Some(at);
            at += s.d;
        }
    }
    let total = at;
    for track in &mut draft.t {
        match track.kind() {
            TrackType::Audio => {
                for s in track.sg.iter_mut().filter(|s| s.m.contains_key("media")) {
                    if ranged(s) {
                        // A range of its own: kept as asked, cut where the video ends.
                        let st = s.st.unwrap_or(0).min(total);
                        s.st = Some(st);
                        s.d = s.d.min(total - st);
                    } else {
                        s.st = Some(0);
                        s.d = total;
                    }
                }
            }
            TrackType::Text => {
                for s in &mut track.sg {
                    let st = s.st.unwrap_or(0);
                    if total > 0 && st < total && st + s.d > total {
                        s.d = total - st;
                    }
                }
            }
            _ => {}
        }
    }
    draft
        .t
        .retain(|t| t.kind() == TrackType::Video || !t.sg.is_empty());
}

fn zh_or(zh: bool, z: String, e: String) -> String {
    if zh { z } else { e }
}

/// Where a title goes, vertically.
type Place = TitlePosition;

/// A title as the timeline needs it (from an `EditOp::Title`).
#[derive(Debug, Clone, PartialEq)]
pub struct TitleEdit {
    pub text: String,
    /// Span on the timeline, s; `end_s` None = from `start_s` for the default length.
    pub start_s: f64,
    pub end_s: Option<f64>,
    /// "the last 3 seconds": counted back from the end of the timeline.
    pub from_end_s: Option<f64>,
    pub position: Option<Place>,
    /// Share of the canvas's short side.
    pub size: Option<f32>,
    pub color: Option<(u8, u8, u8)>,
    pub fade: Option<bool>,
}

/// Music settings as the timeline needs them (from `EditOp::Music` / `EditOp::Volume`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MusicEdit {
    /// An uploaded audio file.
    pub file: Option<String>,
    /// Percent.
    pub volume: Option<f64>,
    /// Times the current volume.
    pub scale: Option<f64>,
    pub looped: Option<bool>,
    pub fade_in_s: Option<f64>,
    pub fade_out_s: Option<f64>,
    pub duck: Option<bool>,
    /// Where the music plays on the timeline, s: from `start_s` (default 0) to `end_s`
    /// (default the video's end). Either given makes the range the music's own.
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    /// Only the settings of the music already there change.
    pub adjust_only: bool,
}

/// A cut on the timeline (or within one clip when a clip is named), in seconds of what
/// the user sees now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cut {
    /// Remove the first n seconds.
    Start(f64),
    /// Remove the last n seconds.
    End(f64),
    /// Keep only the last n seconds.
    Last(f64),
    /// Keep only [a, b).
    Keep(f64, f64),
}

/// Where a moved clip goes.
#[derive(Debug, Clone, PartialEq)]
pub enum MoveTo {
    /// 1-based position.
    Index(usize),
    Before(String),
    After(String),
}

/// The clip names on the timeline, in order.
fn clip_names(draft: &Draft) -> Vec<String> {
    draft
        .video_segments()
        .map(|s| s.meta_str("name").unwrap_or("clip").to_string())
        .collect()
}

/// The name of the clip `r` points at on `draft` now; `Err` names the clips there are.
pub fn resolve_clip(draft: &Draft, r: &ClipRef, zh: bool) -> Result<String, String> {
    let names = clip_names(draft);
    let listed = || {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{} {n}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if names.is_empty() {
        return Err(zh_or(
            zh,
            "时间线上还没有片段：请先上传视频".into(),
            "the timeline has no clip yet: upload a video first".into(),
        ));
    }
    match r.position(names.len()) {
        Some(n) => names.get(n.wrapping_sub(1)).cloned().ok_or_else(|| {
            zh_or(
                zh,
                format!(
                    "时间线上只有 {} 个片段，没有第 {n} 个：{}",
                    names.len(),
                    listed()
                ),
                format!(
                    "there is no clip {n}: the timeline has {} clip(s): {}",
                    names.len(),
                    listed()
                ),
            )
        }),
        None => {
            let ClipRef::Name(want) = r else {
                unreachable!("a position is resolved above")
            };
            names
                .iter()
                .find(|n| *n == want)
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(want)))
                .cloned()
                .ok_or_else(|| {
                    zh_or(
                        zh,
                        format!("时间线上没有 {want}；片段是：{}", listed()),
                        format!("{want} is not on the timeline; the clips are: {}", listed()),
                    )
                })
        }
    }
}

/// Apply one operation that is not a background or undo/redo (those need the store and the
/// backdrop resolver: `agent::apply`). `Err`: a message for the user; the draft is unchanged.
pub fn apply(
    draft: &mut Draft,
    op: &EditOp,
    media: &[MediaView],
    zh: bool,
) -> Result<Done, String> {
    let mut work = draft.clone();
    let clip = |w: &Draft, r: &Option<ClipRef>| -> Result<Option<String>, String> {
        r.as_ref().map(|r| resolve_clip(w, r, zh)).transpose()
    };
    let done = match op {
        EditOp::Title {
            text,
            start_s,
            end_s,
            last_s,
            position,
            size,
            colour,
            fade,
        } => {
            let t = TitleEdit {
                text: text.clone(),
                start_s: start_s.unwrap_or(0.0),
                end_s: *end_s,
                from_end_s: *last_s,
                position: *position,
                size: size.map(TitleSize::fraction),
                color: colour.as_deref().and_then(colour_rgb),
                fade: *fade,
            };
            add_title(&mut work, &t, zh)?
        }
        EditOp::RemoveTitles {} => {
            let n: usize = work
                .t
                .iter()
                .filter(|t| t.kind() == TrackType::Text)
                .map(|t| t.sg.len())
                .sum();
            if n == 0 {
                return Err(zh_or(
                    zh,
                    "时间线上没有标题".into(),
                    "there is no title on the timeline".into(),
                ));
            }
            work.t.retain(|t| t.kind() != TrackType::Text);
            Done {
                tool: "remove_titles",
                args: json!({}),
                text: zh_or(
                    zh,
                    format!("已删除 {n} 个标题。"),
                    format!("Removed {n} title(s)."),
                ),
            }
        }
        EditOp::Music {
            media: file,
            volume,
            fade_in_s,
            fade_out_s,
            ducking,
            looped,
            start_s,
            end_s,
        } => {
            let has_music = work.t.iter().any(|t| t.kind() == TrackType::Audio);
            let m = MusicEdit {
                file: file.clone(),
                volume: *volume,
                scale: None,
                looped: *looped,
                fade_in_s: *fade_in_s,
                fade_out_s: *fade_out_s,
                duck: *ducking,
                start_s: *start_s,
                end_s: *end_s,
                adjust_only: file.is_none() && has_music,
            };
            music(&mut work, &m, media, zh)?
        }
        EditOp::Volume { percent, scale } => {
            let m = MusicEdit {
                volume: *percent,
                scale: *scale,
                adjust_only: true,
                ..MusicEdit::default()
            };
            music(&mut work, &m, media, zh)?
        }
        EditOp::RemoveMusic {} => {
            let had = work.t.iter().any(|t| t.kind() == TrackType::Audio);
            if !had {
                return Err(zh_or(
                    zh,
                    "时间线上没有背景音乐".into(),
                    "there is no music on the timeline".into(),
                ));
            }
            work.t.retain(|t| t.kind() != TrackType::Audio);
            Done {
                tool: "remove_music",
                args: json!({}),
                text: zh_or(
                    zh,
                    "已删除背景音乐；片段自己的声音保留。".into(),
                    "Removed the background music; the clips keep their own sound.".into(),
                ),
            }
        }
        EditOp::AspectRatio { ratio } => {
            let ratio = ratio.as_str();
            work.extra
                .insert(draft_key_canvas().into(), json!({ "ratio": ratio }));
            Done {
                tool: "set_aspect_ratio",
                args: json!({ "ratio": ratio }),
                text: zh_or(
                    zh,
                    format!(
                        "画面比例改为 {ratio}：人物按抠像结果完整居中重新构图，新增区域用所选背景填充（未换背景的片段用模糊的原画面填充）。"
                    ),
                    format!(
                        "The aspect ratio is now {ratio}: each person is re-framed whole and centred from the matte, and the new area is filled by the chosen background (a blurred copy of the clip where none was chosen)."
                    ),
                ),
            }
        }
        EditOp::Trim {
            clip: c,
            remove_first_s,
            remove_last_s,
        } => {
            let name = clip(&work, c)?;
            let mut text = Vec::new();
            let mut d = None;
            if let Some(n) = remove_last_s.filter(|n| *n > 0.0) {
                let x = trim(&mut work, name.as_deref(), Cut::End(n), zh)?;
                text.push(x.text.clone());
                d = Some(x);
            }
            if let Some(n) = remove_first_s.filter(|n| *n > 0.0) {
                let x = trim(&mut work, name.as_deref(), Cut::Start(n), zh)?;
                text.push(x.text.clone());
                d = Some(x);
            }
            let mut d = d.ok_or("a trim needs remove_first_s or remove_last_s")?;
            d.text = text.join(" ");
            d
        }
        EditOp::Keep {
            clip: c,
            start_s,
            end_s,
            last_s,
        } => {
            let name = clip(&work, c)?;
            let cut = match (last_s, end_s) {
                (Some(l), _) => Cut::Last(*l),
                (None, Some(e)) => Cut::Keep(start_s.unwrap_or(0.0), *e),
                (None, None) => return Err("a keep needs end_s or last_s".into()),
            };
            trim(&mut work, name.as_deref(), cut, zh)?
        }
        EditOp::Move {
            clip: c,
            to,
            before,
            after,
        } => {
            let name = resolve_clip(&work, c, zh)?;
            let count = clip_names(&work).len();
            let to = match (to, before, after) {
                (Some(r), _, _) => MoveTo::Index(match r.position(count) {
                    Some(n) => n,
                    None => {
                        // A clip's name as the place: where that clip is now.
                        let other = resolve_clip(&work, r, zh)?;
                        clip_names(&work)
                            .iter()
                            .position(|n| *n == other)
                            .map_or(1, |i| i + 1)
                    }
                }),
                (None, Some(b), _) => MoveTo::Before(resolve_clip(&work, b, zh)?),
                (None, None, Some(a)) => MoveTo::After(resolve_clip(&work, a, zh)?),
                (None, None, None) => {
                    return Err("a move needs to, before or after".into());
                }
            };
            move_clip(&mut work, &name, &to, zh)?
        }
        EditOp::Swap { clip: a, with } => {
            let (a, b) = (resolve_clip(&work, a, zh)?, resolve_clip(&work, with, zh)?);
            swap(&mut work, &a, &b, zh)?
        }
        EditOp::Remove { clip: c } => {
            let name = resolve_clip(&work, c, zh)?;
            remove_clip(&mut work, &name, zh)?
        }
        EditOp::Backdrop { .. } | EditOp::Undo { .. } | EditOp::Redo { .. } => {
            return Err(format!(
                "{} is applied by the agent, not as a timeline edit",
                op.name()
            ));
        }
    };
    normalise(&mut work);
    *draft = work;
    Ok(done)
}

fn hex(c: (u8, u8, u8)) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

fn add_title(draft: &mut Draft, t: &TitleEdit, zh: bool) -> Result<Done, String> {
    let total = total_ms(draft);
    if total == 0 {
        return Err(zh_or(
            zh,
            "时间线上还没有视频：请先上传片段，再加标题".into(),
            "the timeline has no video yet: upload a clip first, then add the title".into(),
        ));
    }
    let (mut st, mut end) = match t.from_end_s {
        Some(n) => (total.saturating_sub(ms(n)), total),
        None => {
            let st = ms(t.start_s);
            (st, t.end_s.map_or(st + TITLE_MS, ms))
        }
    };
    if st >= total {
        return Err(zh_or(
            zh,
            format!(
                "视频只有 {} 秒，标题不能从 {} 秒开始",
                secs(total),
                secs(st)
            ),
            format!(
                "the video is only {} s long, so a title cannot start at {} s",
                secs(total),
                secs(st)
            ),
        ));
    }
    end = end.min(total);
    if end <= st {
        end = (st + TITLE_MS).min(total);
        if end <= st {
            st = 0;
        }
    }
    let place = t.position.unwrap_or(Place::Center);
    let size = t.size.unwrap_or(0.08);
    let color = t.color.unwrap_or((255, 255, 255));
    let fade_ms = if t.fade == Some(true) { 500 } else { 0 };
    let mut seg = Segment {
        id: Some(format!(
            "title_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )),
        st: Some(st),
        d: end - st,
        ..Segment::default()
    };
    seg.set_meta("name", t.text.clone());
    seg.set_meta("text", t.text.clone());
    seg.set_meta("pos", place.as_str());
    seg.set_meta("size", json!((size * 1000.0).round() / 1000.0));
    seg.set_meta("color", hex(color));
    seg.set_meta("fade_ms", fade_ms);
    draft.track_mut(TrackType::Text).sg.push(seg);
    let pos_zh = match place {
        Place::Top => "顶部",
        Place::Center => "中间",
        Place::Bottom => "底部",
    };
    Ok(Done {
        tool: "add_title",
        args: json!({"text": t.text, "start_s": st as f64 / 1000.0, "end_s": end as f64 / 1000.0,
            "position": place.as_str(), "size": size, "color": hex(color), "fade_ms": fade_ms}),
        text: zh_or(
            zh,
            format!(
                "已添加标题「{}」，{}–{} 秒，{}，颜色 {}{}。",
                t.text,
                secs(st),
                secs(end),
                pos_zh,
                hex(color),
                if fade_ms > 0 { "，淡入淡出" } else { "" }
            ),
            format!(
                "Added the title \"{}\" from {} s to {} s, {} of the frame, colour {}{}.",
                t.text,
                secs(st),
                secs(end),
                match place {
                    Place::Top => "at the top",
                    Place::Center => "in the centre",
                    Place::Bottom => "at the bottom",
                },
                hex(color),
                if fade_ms > 0 {
                    ", fading in and out"
                } else {
                    ""
                }
            ),
        ),
    })
}

fn music(draft: &mut Draft, m: &MusicEdit, media: &[MediaView], zh: bool) -> Result<Done, String> {
    let total = total_ms(draft);
    let existing = draft
        .t
        .iter_mut()
        .find(|t| t.kind() == TrackType::Audio)
        .and_then(|t| t.sg.first_mut());
    let vol_of = |old: f64| -> f64 {
        match (m.volume, m.scale) {
            (Some(v), _) => v.clamp(0.0, 200.0),
            (None, Some(k)) => (old * k).round().clamp(0.0, 200.0),
            (None, None) => old,
        }
    };
    if m.adjust_only {
        let Some(seg) = existing else {
            return Err(zh_or(
                zh,
                "时间线上还没有背景音乐：请先上传音频文件，再说“添加背景音乐，音量35%”".into(),
                "there is no music on the timeline yet: upload an audio file, then say \"add the music at 35%\"".into(),
            ));
        };
        let old = seg.m.get("vol").and_then(Value::as_f64).unwrap_or(100.0);
        let vol = vol_of(old);
        seg.set_meta("vol", json!(vol));
        set_music_options(seg, m);
        let mut text = zh_or(
            zh,
            format!("背景音乐音量改为 {vol}%。"),
            format!("The music is now at {vol}% volume."),
        );
        if m.start_s.is_some() || m.end_s.is_some() {
            let (st, d) = music_range(m, total, zh)?;
            seg.st = Some(st);
            seg.d = d;
            seg.set_meta("range", true);
            text.push_str(&range_text(st, st + d, zh));
        }
        return Ok(Done {
            tool: "set_music",
            args: json!({"volume": vol, "start_s": seg.st.unwrap_or(0) as f64 / 1000.0,
                "end_s": (seg.st.unwrap_or(0) + seg.d) as f64 / 1000.0}),
            text,
        });
    }
    if total == 0 {
        return Err(zh_or(
            zh,
            "时间线上还没有视频：请先上传片段，再加背景音乐".into(),
            "the timeline has no video yet: upload a clip first, then add the music".into(),
        ));
    }
    let audio: Vec<&MediaView> = media.iter().filter(|x| x.file_type == "audio").collect();
    let file = match &m.file {
        Some(name) => audio.iter().rfind(|x| &x.filename == name).copied(),
        None => audio.last().copied(),
    }
    .ok_or_else(|| {
        zh_or(
            zh,
            "本地编辑器无法生成或下载音乐：请先用 upload_media 上传一个音频文件（mp3、wav、m4a、aac）".into(),
            "the local editor cannot make or download music: upload an audio file (mp3, wav, m4a, aac) with upload_media first".into(),
        )
    })?;
    let old_vol = existing
        .as_ref()
        .and_then(|s| s.m.get("vol").and_then(Value::as_f64));
    let vol = vol_of(old_vol.unwrap_or(MUSIC_VOL));
    let ranged = m.start_s.is_some() || m.end_s.is_some();
    let (st, d) = if ranged {
        music_range(m, total, zh)?
    } else {
        (0, total)
    };
    let mut seg = Segment {
        id: Some(format!("bgm_{}", file.media_id)),
        st: Some(st),
        d,
        ..Segment::default()
    };
    if ranged {
        seg.set_meta("range", true);
    }
    seg.set_meta("name", file.filename.clone());
    seg.set_meta("media", file.media_id.clone());
    seg.set_meta("vol", json!(vol));
    seg.set_meta("loop", true);
    seg.set_meta("fade_in_ms", 1000);
    seg.set_meta("fade_out_ms", 2000);
    seg.set_meta("duck", false);
    set_music_options(&mut seg, m);
    let looped = seg.m.get("loop").and_then(Value::as_bool).unwrap_or(true);
    let duck = seg.m.get("duck").and_then(Value::as_bool).unwrap_or(false);
    let track = draft.track_mut(TrackType::Audio);
    track.sg.clear();
    track.sg.push(seg);
    let music_ms = ms(file.duration_s);
    let (end, total) = (st + d, d);
    let fit_en = if music_ms >= total {
        "cut to the video's length".to_string()
    } else if looped {
        format!("looped ({} s of music)", secs(music_ms))
    } else {
        format!("played once ({} s), then silence", secs(music_ms))
    };
    let fit_zh = if music_ms >= total {
        "截到视频长度".to_string()
    } else if looped {
        format!("循环播放（音乐长 {} 秒）", secs(music_ms))
    } else {
        format!("只播放一次（{} 秒），之后静音", secs(music_ms))
    };
    Ok(Done {
        tool: "set_music",
        args: json!({"file": file.filename, "volume": vol, "loop": looped, "duck": duck,
            "start_s": st as f64 / 1000.0, "end_s": end as f64 / 1000.0}),
        text: zh_or(
            zh,
            format!(
                "已添加背景音乐 {}，音量 {vol}%，{}–{} 秒，{fit_zh}，淡入淡出（都在这段之内）；片段自己的声音保留{}。",
                file.filename,
                secs(st),
                secs(end),
                if duck {
                    "，说话时音乐自动压低"
                } else {
                    ""
                }
            ),
            format!(
                "Added {} as background music at {vol}% volume for {}–{} s, {fit_en}, with a fade in and out inside that span; the clips' own sound is kept{}.",
                file.filename,
                secs(st),
                secs(end),
                if duck {
                    " and the music dips while someone speaks"
                } else {
                    ""
                }
            ),
        ),
    })
}

/// The music's own range on a video of `total_ms`: (start, duration) in ms, the end cut
/// where the video ends; `Err` when it starts at or after the end.
fn music_range(m: &MusicEdit, total_ms: u64, zh: bool) -> Result<(u64, u64), String> {
    let st = ms(m.start_s.unwrap_or(0.0));
    let end = m.end_s.map_or(total_ms, ms).min(total_ms);
    if st >= end {
        return Err(zh_or(
            zh,
            format!(
                "音乐的时间段 {}–{} 秒不在视频里（视频长 {} 秒）",
                secs(st),
                m.end_s.map_or(secs(total_ms), |e| secs(ms(e))),
                secs(total_ms)
            ),
            format!(
                "the music's range {}–{} s is not inside the video ({} s long): give start_s and end_s within it",
                secs(st),
                m.end_s.map_or(secs(total_ms), |e| secs(ms(e))),
                secs(total_ms)
            ),
        ));
    }
    Ok((st, end - st))
}

fn range_text(st: u64, end: u64, zh: bool) -> String {
    zh_or(
        zh,
        format!("音乐只在 {}–{} 秒播放。", secs(st), secs(end)),
        format!(" It plays from {} s to {} s only.", secs(st), secs(end)),
    )
}

fn set_music_options(seg: &mut Segment, m: &MusicEdit) {
    if let Some(l) = m.looped {
        seg.set_meta("loop", l);
    }
    if let Some(f) = m.fade_in_s {
        seg.set_meta("fade_in_ms", ms(f));
    }
    if let Some(f) = m.fade_out_s {
        seg.set_meta("fade_out_ms", ms(f));
    }
    if let Some(d) = m.duck {
        seg.set_meta("duck", d);
    }
}

fn in_ms(s: &Segment) -> u64 {
    s.m.get("in_ms").and_then(Value::as_u64).unwrap_or(0)
}

/// Remove `cut_ms` from the start (`front`) or the end of the clips, in order.
fn cut_side(sg: &mut Vec<Segment>, mut cut_ms: u64, front: bool) {
    while cut_ms > 0 && !sg.is_empty() {
        let i = if front { 0 } else { sg.len() - 1 };
        if !sg[i].m.contains_key("src_ms") {
            // The source's full length, so a render knows the clip is trimmed.
            let full = in_ms(&sg[i]) + sg[i].d;
            sg[i].set_meta("src_ms", full);
        }
        if sg[i].d <= cut_ms {
            cut_ms -= sg[i].d;
            sg.remove(i);
            continue;
        }
        let s = &mut sg[i];
        if front {
            let start = in_ms(s) + cut_ms;
            s.set_meta("in_ms", start);
        }
        s.d -= cut_ms;
        cut_ms = 0;
    }
}

fn trim(draft: &mut Draft, clip: Option<&str>, cut: Cut, zh: bool) -> Result<Done, String> {
    let Some(track) = video_track(draft) else {
        return Err(zh_or(
            zh,
            "时间线上还没有视频".into(),
            "the timeline has no video yet".into(),
        ));
    };
    let before: Vec<String> = track
        .sg
        .iter()
        .filter_map(|s| s.meta_str("name").map(str::to_string))
        .collect();
    let range = match clip {
        Some(name) => {
            let i = track
                .sg
                .iter()
                .position(|s| s.meta_str("name") == Some(name))
                .ok_or_else(|| format!("{name} is not on the timeline"))?;
            i..i + 1
        }
        None => 0..track.sg.len(),
    };
    let mut part: Vec<Segment> = track.sg[range.clone()].to_vec();
    let len: u64 = part.iter().map(|s| s.d).sum();
    let what_en = clip.map_or("the video".to_string(), |c| c.to_string());
    let what_zh = clip.map_or("视频".to_string(), |c| c.to_string());
    let too_long = |n: u64| {
        zh_or(
            zh,
            format!("{what_zh}只有 {} 秒，不能剪掉 {} 秒", secs(len), secs(n)),
            format!(
                "{what_en} is only {} s long, so {} s cannot be cut from it",
                secs(len),
                secs(n)
            ),
        )
    };
    let (cut_front, cut_back, desc_en, desc_zh) = match cut {
        Cut::Start(n) => {
            let n = ms(n);
            if n == 0 || n >= len {
                return Err(too_long(n));
            }
            (
                n,
                0,
                format!("cut the first {} s of {what_en}", secs(n)),
                format!("剪掉了{what_zh}的前 {} 秒", secs(n)),
            )
        }
        Cut::Last(n) => {
            let keep = ms(n);
            if keep == 0 || keep >= len {
                return Err(too_long(len.saturating_sub(keep)));
            }
            (
                len - keep,
                0,
                format!("kept the last {} s of {what_en}", secs(keep)),
                format!("保留了{what_zh}的最后 {} 秒", secs(keep)),
            )
        }
        Cut::End(n) => {
            let n = ms(n);
            if n == 0 || n >= len {
                return Err(too_long(n));
            }
            (
                0,
                n,
                format!("cut the last {} s of {what_en}", secs(n)),
                format!("剪掉了{what_zh}的最后 {} 秒", secs(n)),
            )
        }
        Cut::Keep(a, b) => {
            let (a, b) = (ms(a), ms(b).min(len));
            if a >= len || b <= a {
                return Err(zh_or(
                    zh,
                    format!(
                        "{what_zh}只有 {} 秒，无法保留 {}–{} 秒",
                        secs(len),
                        secs(a),
                        secs(ms(match cut {
                            Cut::Keep(_, b) => b,
                            _ => 0.0,
                        }))
                    ),
                    format!(
                        "{what_en} is only {} s long, so {}–{} s cannot be kept",
                        secs(len),
                        secs(a),
                        secs(ms(match cut {
                            Cut::Keep(_, b) => b,
                            _ => 0.0,
                        }))
                    ),
                ));
            }
            (
                a,
                len - b,
                format!("kept {}–{} s of {what_en}", secs(a), secs(b)),
                format!("保留了{what_zh}的 {}–{} 秒", secs(a), secs(b)),
            )
        }
    };
    cut_side(&mut part, cut_back, false);
    cut_side(&mut part, cut_front, true);
    let new_len: u64 = part.iter().map(|s| s.d).sum();
    track.sg.splice(range, part);
    let after: Vec<String> = track
        .sg
        .iter()
        .filter_map(|s| s.meta_str("name").map(str::to_string))
        .collect();
    let dropped: Vec<&String> = before.iter().filter(|n| !after.contains(n)).collect();
    let mut text = zh_or(
        zh,
        format!("已{desc_zh}；现在长 {} 秒。", secs(new_len)),
        format!("Done: {desc_en}; it is now {} s long.", secs(new_len)),
    );
    if !dropped.is_empty() {
        let list = dropped
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&zh_or(
            zh,
            format!(" 完全落在剪掉部分的片段已移出时间线：{list}。"),
            format!(" Clips entirely inside the cut left the timeline: {list}."),
        ));
    }
    Ok(Done {
        tool: "trim",
        args: json!({"clip": clip, "cut": format!("{cut:?}")}),
        text,
    })
}

fn order_text(draft: &Draft, zh: bool) -> String {
    let names: Vec<String> = draft
        .video_segments()
        .map(|s| s.meta_str("name").unwrap_or("clip").to_string())
        .collect();
    zh_or(
        zh,
        format!("现在的顺序：{}。", names.join(" → ")),
        format!("The order is now: {}.", names.join(" → ")),
    )
}

fn position(track: &crate::api::Track, name: &str) -> Result<usize, String> {
    track
        .sg
        .iter()
        .position(|s| s.meta_str("name") == Some(name))
        .ok_or_else(|| format!("{name} is not on the timeline"))
}

fn move_clip(draft: &mut Draft, clip: &str, to: &MoveTo, zh: bool) -> Result<Done, String> {
    let track = video_track(draft).ok_or("the timeline has no video yet")?;
    let from = position(track, clip)?;
    let seg = track.sg.remove(from);
    let at = match to {
        MoveTo::Index(n) => n.saturating_sub(1).min(track.sg.len()),
        MoveTo::Before(other) => position(track, other)?,
        MoveTo::After(other) => position(track, other)? + 1,
    };
    track.sg.insert(at, seg);
    normalise(draft);
    Ok(Done {
        tool: "move_clip",
        args: json!({"clip": clip, "position": at + 1}),
        text: zh_or(
            zh,
            format!(
                "已把 {clip} 移到第 {} 个。{}",
                at + 1,
                order_text(draft, zh)
            ),
            format!(
                "Moved {clip} to position {}. {}",
                at + 1,
                order_text(draft, zh)
            ),
        ),
    })
}

fn swap(draft: &mut Draft, a: &str, b: &str, zh: bool) -> Result<Done, String> {
    let track = video_track(draft).ok_or("the timeline has no video yet")?;
    let (i, j) = (position(track, a)?, position(track, b)?);
    track.sg.swap(i, j);
    normalise(draft);
    Ok(Done {
        tool: "move_clip",
        args: json!({"swap": [a, b]}),
        text: zh_or(
            zh,
            format!("已交换 {a} 和 {b}。{}", order_text(draft, zh)),
            format!("Swapped {a} and {b}. {}", order_text(draft, zh)),
        ),
    })
}

fn remove_clip(draft: &mut Draft, name: &str, zh: bool) -> Result<Done, String> {
    let track = video_track(draft).ok_or("the timeline has no video yet")?;
    let i = position(track, name)?;
    track.sg.remove(i);
    let left = track.sg.len();
    normalise(draft);
    let mut text = zh_or(
        zh,
        format!("已从时间线移除 {name}（上传的文件仍保留）。"),
        format!("Removed {name} from the timeline (the uploaded file is kept)."),
    );
    if left == 0 {
        text.push_str(&zh_or(
            zh,
            " 时间线上已没有片段。".into(),
            " The timeline has no clip left.".into(),
        ));
    } else {
        text.push(' ');
        text.push_str(&order_text(draft, zh));
    }
    Ok(Done {
        tool: "remove_clip",
        args: json!({"clip": name}),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(name: &str, d: u64) -> Segment {
        let mut s = Segment {
            id: Some(format!("seg_{name}")),
            d,
            ..Segment::default()
        };
        s.set_meta("name", name);
        s.set_meta("media", format!("med_{name}"));
        s
    }

    fn draft() -> Draft {
        let mut d = Draft::default();
        let t = d.track_mut(TrackType::Video);
        t.sg.push(clip("intro.mp4", 5000));
        t.sg.push(clip("outro.mp4", 2000));
        normalise(&mut d);
        d
    }

    fn media() -> Vec<MediaView> {
        vec![MediaView {
            media_id: "med_lofi".into(),
            filename: "lofi.mp3".into(),
            file_type: "audio".into(),
            duration_s: 4.0,
        }]
    }

    fn names(d: &Draft) -> Vec<(String, u64, u64)> {
        d.video_segments()
            .map(|s| (s.meta_str("name").unwrap().to_string(), s.st.unwrap(), s.d))
            .collect()
    }

    #[test]
    fn trims_cross_clip_boundaries() {
        let mut d = draft();
        apply(
            &mut d,
            &EditOp::Trim {
                clip: None,
                remove_first_s: Some(2.0),
                remove_last_s: None,
            },
            &[],
            false,
        )
        .unwrap();
        assert_eq!(
            names(&d),
            vec![
                ("intro.mp4".into(), 0, 3000),
                ("outro.mp4".into(), 3000, 2000)
            ]
        );
        assert_eq!(d.video_segments().next().unwrap().m["in_ms"], 2000);
        let done = apply(
            &mut d,
            &EditOp::Keep {
                clip: None,
                start_s: Some(3.5),
                end_s: Some(10.0),
                last_s: None,
            },
            &[],
            false,
        )
        .unwrap();
        assert_eq!(names(&d), vec![("outro.mp4".into(), 0, 1500)]);
        assert!(done.text.contains("intro.mp4"), "{}", done.text);
        let e = apply(
            &mut d,
            &EditOp::Trim {
                clip: None,
                remove_first_s: Some(9.0),
                remove_last_s: None,
            },
            &[],
            false,
        )
        .unwrap_err();
        assert!(e.contains("only 1.5 s"), "{e}");
    }

    #[test]
    fn titles_and_music_follow_the_video() {
        let mut d = draft();
        let t = EditOp::Title {
            text: "Urban Dreams".into(),
            start_s: None,
            end_s: Some(3.0),
            last_s: None,
            position: None,
            size: None,
            colour: None,
            fade: None,
        };
        apply(&mut d, &t, &[], false).unwrap();
        let m = EditOp::Music {
            media: None,
            volume: Some(35.0),
            fade_in_s: None,
            fade_out_s: None,
            ducking: None,
            looped: None,
            start_s: None,
            end_s: None,
        };
        let done = apply(&mut d, &m, &media(), false).unwrap();
        assert!(done.text.contains("looped"), "{}", done.text);
        let bgm =
            &d.t.iter()
                .find(|t| t.kind() == TrackType::Audio)
                .unwrap()
                .sg[0];
        assert_eq!((bgm.st, bgm.d), (Some(0), 7000));
        assert_eq!(bgm.m["vol"], 35.0);
        apply(
            &mut d,
            &EditOp::Move {
                clip: ClipRef::Name("outro.mp4".into()),
                to: Some(ClipRef::Name("first".into())),
                before: None,
                after: None,
            },
            &[],
            false,
        )
        .unwrap();
        assert_eq!(names(&d)[0], ("outro.mp4".into(), 0, 2000));
        apply(
            &mut d,
            &EditOp::Remove {
                clip: ClipRef::Index(2),
            },
            &[],
            false,
        )
        .unwrap();
        let bgm =
            &d.t.iter()
                .find(|t| t.kind() == TrackType::Audio)
                .unwrap()
                .sg[0];
        assert_eq!(bgm.d, 2000, "music follows the video's length");
        let title = &d.t.iter().find(|t| t.kind() == TrackType::Text).unwrap().sg[0];
        assert_eq!(title.d, 2000, "a title ends with the video");
    }

    #[test]
    fn music_with_a_range_keeps_it_and_is_cut_at_the_end() {
        let mut d = draft(); // 7 s: intro 5 s + outro 2 s
        let ranged = |start_s: Option<f64>, end_s: Option<f64>| EditOp::Music {
            media: Some("lofi.mp3".into()),
            volume: None,
            fade_in_s: None,
            fade_out_s: None,
            ducking: None,
            looped: None,
            start_s,
            end_s,
        };
        let bgm = |d: &Draft| {
            let s =
                &d.t.iter()
                    .find(|t| t.kind() == TrackType::Audio)
                    .unwrap()
                    .sg[0];
            (s.st, s.d, s.m.get("range").cloned())
        };
        let done = apply(&mut d, &ranged(Some(2.0), Some(5.0)), &media(), false).unwrap();
        assert!(done.text.contains("for 2–5 s"), "{}", done.text);
        assert_eq!(bgm(&d), (Some(2000), 3000, Some(json!(true))));
        // Reordering keeps the range; cutting the video cuts the range at its new end.
        apply(
            &mut d,
            &EditOp::Swap {
                clip: ClipRef::Index(1),
                with: ClipRef::Index(2),
            },
            &[],
            false,
        )
        .unwrap();
        assert_eq!(bgm(&d).0, Some(2000));
        apply(
            &mut d,
            &EditOp::Trim {
                clip: None,
                remove_first_s: None,
                remove_last_s: Some(3.0),
            },
            &[],
            false,
        )
        .unwrap();
        assert_eq!((bgm(&d).0, bgm(&d).1), (Some(2000), 2000), "cut at 4 s");
        // A range past the video is refused; an end past it is cut to the video.
        let before = d.clone();
        let e = apply(&mut d, &ranged(Some(6.0), None), &media(), false).unwrap_err();
        assert!(e.contains("not inside the video"), "{e}");
        assert_eq!(d, before);
        apply(&mut d, &ranged(Some(1.0), Some(60.0)), &media(), false).unwrap();
        assert_eq!((bgm(&d).0, bgm(&d).1), (Some(1000), 3000));
        // Without a range the music spans the video, as before.
        apply(&mut d, &ranged(None, None), &media(), false).unwrap();
        assert_eq!(bgm(&d), (Some(0), 4000, None));
    }

    #[test]
    fn failures_leave_the_draft_unchanged() {
        let mut d = draft();
        let before = d.clone();
        assert!(apply(&mut d, &EditOp::RemoveMusic {}, &[], false).is_err());
        let m = EditOp::Music {
            media: None,
            volume: Some(35.0),
            fade_in_s: None,
            fade_out_s: None,
            ducking: None,
            looped: None,
            start_s: None,
            end_s: None,
        };
        let e = apply(&mut d, &m, &[], true).unwrap_err();
        assert!(e.contains("上传"), "{e}");
        assert_eq!(d, before);
    }
}
