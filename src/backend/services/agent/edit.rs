//! Timeline edits on the draft, pure functions of the draft and the session's files: titles,
//! music, aspect ratio, trims, moving and removing clips, and `normalise`, which keeps the
//! segments' times consistent after any edit (clips back to back, music as long as the
//! video). The segment fields are the ones documented in `api/draft.rs`.

use serde_json::{Value, json};

use super::intent::{Cut, Intent, MoveTo, MusicEdit, Place, TitleEdit};
use crate::api::{Draft, Segment, TrackType};

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

/// Clips back to back from 0 in track order; music spans the whole video; titles end
/// with it.
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
                    s.st = Some(0);
                    s.d = total;
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

/// Apply a non-background intent. `Err`: a message for the user; the draft is unchanged.
pub fn apply(
    draft: &mut Draft,
    intent: &Intent,
    media: &[MediaView],
    zh: bool,
) -> Result<Done, String> {
    let mut work = draft.clone();
    let done = match intent {
        Intent::Title(t) => add_title(&mut work, t, zh)?,
        Intent::RemoveTitles => {
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
        Intent::Music(m) => music(&mut work, m, media, zh)?,
        Intent::RemoveMusic => {
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
        Intent::Aspect((w, h)) => {
            let ratio = format!("{w}:{h}");
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
        Intent::Trim { clip, cut } => trim(&mut work, clip.as_deref(), *cut, zh)?,
        Intent::Move { clip, to } => move_clip(&mut work, clip, to, zh)?,
        Intent::Swap(a, b) => swap(&mut work, a, b, zh)?,
        Intent::RemoveClip(name) => remove_clip(&mut work, name, zh)?,
        Intent::Background { .. } => {
            return Err("a background edit is applied by the agent's background path".into());
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
        match m.volume {
            Some(-1.0) => (old * 0.6).round(),
            Some(-2.0) => (old * 1.5).round().min(200.0),
            Some(v) => v.clamp(0.0, 200.0),
            None => old,
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
        return Ok(Done {
            tool: "set_music",
            args: json!({"volume": vol}),
            text: zh_or(
                zh,
                format!("背景音乐音量改为 {vol}%。"),
                format!("The music is now at {vol}% volume."),
            ),
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
    let vol = match m.volume {
        Some(v) if v >= 0.0 => v.clamp(0.0, 200.0),
        _ => vol_of(old_vol.unwrap_or(MUSIC_VOL)),
    };
    let mut seg = Segment {
        id: Some(format!("bgm_{}", file.media_id)),
        st: Some(0),
        d: total,
        ..Segment::default()
    };
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
        args: json!({"file": file.filename, "volume": vol, "loop": looped, "duck": duck}),
        text: zh_or(
            zh,
            format!(
                "已添加背景音乐 {}，音量 {vol}%，0–{} 秒，{fit_zh}，淡入淡出；片段自己的声音保留{}。",
                file.filename,
                secs(total),
                if duck {
                    "，说话时音乐自动压低"
                } else {
                    ""
                }
            ),
            format!(
                "Added {} as background music at {vol}% volume for 0–{} s, {fit_en}, with a fade in and out; the clips' own sound is kept{}.",
                file.filename,
                secs(total),
                if duck {
                    " and the music dips while someone speaks"
                } else {
                    ""
                }
            ),
        ),
    })
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
        Cut::End(n) if n < 0.0 => {
            let keep = ms(-n);
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
        MoveTo::First => 0,
        MoveTo::Last => track.sg.len(),
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
    use crate::backend::services::agent::intent::{MusicEdit, TitleEdit};

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
            &Intent::Trim {
                clip: None,
                cut: Cut::Start(2.0),
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
            &Intent::Trim {
                clip: None,
                cut: Cut::Keep(3.5, 10.0),
            },
            &[],
            false,
        )
        .unwrap();
        assert_eq!(names(&d), vec![("outro.mp4".into(), 0, 1500)]);
        assert!(done.text.contains("intro.mp4"), "{}", done.text);
        let e = apply(
            &mut d,
            &Intent::Trim {
                clip: None,
                cut: Cut::Start(9.0),
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
        let t = TitleEdit {
            text: "Urban Dreams".into(),
            start_s: 0.0,
            end_s: Some(3.0),
            from_end_s: None,
            position: None,
            size: None,
            color: None,
            fade: None,
        };
        apply(&mut d, &Intent::Title(t), &[], false).unwrap();
        let m = MusicEdit {
            file: None,
            volume: Some(35.0),
            looped: None,
            fade_in_s: None,
            fade_out_s: None,
            duck: None,
            adjust_only: false,
        };
        let done = apply(&mut d, &Intent::Music(m), &media(), false).unwrap();
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
            &Intent::Move {
                clip: "outro.mp4".into(),
                to: MoveTo::First,
            },
            &[],
            false,
        )
        .unwrap();
        assert_eq!(names(&d)[0], ("outro.mp4".into(), 0, 2000));
        apply(&mut d, &Intent::RemoveClip("intro.mp4".into()), &[], false).unwrap();
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
    fn failures_leave_the_draft_unchanged() {
        let mut d = draft();
        let before = d.clone();
        assert!(apply(&mut d, &Intent::RemoveMusic, &[], false).is_err());
        let m = MusicEdit {
            file: None,
            volume: Some(35.0),
            looped: None,
            fade_in_s: None,
            fade_out_s: None,
            duck: None,
            adjust_only: false,
        };
        let e = apply(&mut d, &Intent::Music(m), &[], true).unwrap_err();
        assert!(e.contains("上传"), "{e}");
        assert_eq!(d, before);
    }
}
