//! What the user asked for, English or Chinese, as the typed edit operations the agent
//! applies (`api::EditOp`): a background, a title, music, the aspect ratio, a trim, moving or
//! removing a clip, undo and redo. Clips are pointed at by name ("intro.mp4", "the intro") or
//! by position ("the third clip", "clip 3", "the final one", "第二个片段", "最后一段"); positions
//! stay positions (`ClipRef::Index`) and are resolved when the operation runs.
//! Deterministic, no model. Anything else is `Err` with the list of what is possible.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::parser::{self, BackdropSource};
use super::words::{
    any, has_cjk, lower, mentioned, number_at, percent, quoted, ratio, span, times,
};
use crate::api::{AspectRatio, ClipRef, EditOp, TitlePosition, TitleSize, colour_rgb};

/// The session's files, by name.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Every uploaded file (videos, images, audio).
    pub media: Vec<String>,
    /// Video clips on the timeline, in timeline order.
    pub clips: Vec<String>,
    /// Uploaded audio files, oldest first.
    pub audio: Vec<String>,
}

const TITLE_EN: &[&str] = &[
    "title",
    "caption",
    "subtitle",
    "heading",
    "headline",
    "text overlay",
    "overlay text",
    "add text",
    "add the text",
    "add a text",
    "lower third",
    "words ",
];
const TITLE_ZH: &[&str] = &["标题", "字幕", "文字", "文本", "大字"];
const MUSIC_EN: &[&str] = &[
    "music",
    "bgm",
    "soundtrack",
    "song",
    "background track",
    "audio track",
    "backing track",
    "tune",
];
const MUSIC_ZH: &[&str] = &["音乐", "配乐", "背景乐", "歌曲", "歌", "伴奏", "bgm"];
const REMOVE_EN: &[&str] = &["remove", "delete", "drop", "get rid of", "take out", "no "];
const REMOVE_ZH: &[&str] = &["去掉", "删除", "删掉", "移除", "拿掉", "不要", "去除"];
const ASPECT_WORDS: &[&str] = &[
    "aspect", "ratio", "format", "make it", "convert", "crop", "reframe", "canvas", "比例", "画幅",
    "画面", "改成", "转成", "变成", "做成", "改为", "调成",
];

/// Split a message into clauses at strong separators ("; ", "。", " then ", "然后"), never
/// inside quotes.
pub fn clauses(text: &str) -> Vec<String> {
    let q = quoted(text);
    if !q.quotes.is_empty() {
        return vec![text.to_string()];
    }
    let mut parts = vec![text.to_string()];
    for sep in [
        ";", "；", "。", "\n", ", then ", " then ", "然后", "，再", "并且",
    ] {
        parts = parts
            .iter()
            .flat_map(|p| p.split(sep).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    parts.retain(|p| !p.trim().is_empty());
    parts
}

/// Parse one clause. `Err(None)`: not understood at all; `Err(Some(msg))`: understood but
/// impossible as asked (the message says why).
pub fn parse(text: &str, names: &Names) -> Result<EditOp, Option<String>> {
    let q = quoted(text.trim());
    let masked = lower(&q.masked);
    let l = masked.as_str();
    if l.trim().is_empty() && q.quotes.is_empty() {
        return Err(None);
    }
    let zh = has_cjk(text);
    if let Some(op) = history(l) {
        return Ok(op);
    }
    let refs = clip_refs(l, names);
    // Background first: it is what most messages are about, and its words ("remove the
    // background", "use beach.jpg as the background") overlap with the rest.
    if parser::mentions_background(l)
        && !any(l, MUSIC_EN)
        && !any(l, MUSIC_ZH)
        && let Some(edit) = parser::parse(text, &names.media, &names.clips)
    {
        let backdrop = match edit.source {
            BackdropSource::Text(t) | BackdropSource::Media(t) | BackdropSource::Path(t) => t,
        };
        // A clip named by its place ("the second clip") when no file name was given.
        let clip = edit.clip.map(ClipRef::Name).or_else(|| {
            refs.iter()
                .find(|(r, _)| matches!(r, ClipRef::Index(_)) || is_first_last(r))
                .map(|(r, _)| r.clone())
        });
        return Ok(EditOp::Backdrop { backdrop, clip });
    }
    if any(l, TITLE_EN) || any(l, TITLE_ZH) {
        return title(l, &q.quotes, zh).map_err(Some);
    }
    // Music by its words, or by naming an uploaded audio file ("play lofi.mp3 from 2 to 5 s").
    if any(l, MUSIC_EN)
        || any(l, MUSIC_ZH)
        || l.contains("soundtrack")
        || !mentioned(l, &names.audio).is_empty()
    {
        return music(l, names);
    }
    // The rest reads the clause without the words that point at clips ("the first clip"
    // is not "the first seconds").
    let rest = mask(l, &refs);
    if let Some(op) = trim(&rest, &refs) {
        return Ok(op);
    }
    if let Some(r) = ratio(l)
        && (any(l, ASPECT_WORDS) || l.contains(':') || l.contains('：') || l.len() < 24)
    {
        return match AspectRatio::from_parts(r.0, r.1) {
            Some(ratio) => Ok(EditOp::AspectRatio { ratio }),
            None => Err(Some(if zh {
                format!(
                    "画面比例只能是 16:9、9:16、1:1 或 4:5，不能是 {}:{}",
                    r.0, r.1
                )
            } else {
                format!(
                    "the aspect ratio can be 16:9, 9:16, 1:1 or 4:5, not {}:{}",
                    r.0, r.1
                )
            })),
        };
    }
    if let Some(i) = arrange(l, &rest, &refs, names) {
        return i.map_err(Some);
    }
    Err(None)
}

/// "undo", "undo that", "undo the last 2 edits", "撤销", "redo", "重做".
fn history(l: &str) -> Option<EditOp> {
    let t = l.trim().trim_end_matches(['.', '!', '。', '！']);
    let undo = any(
        t,
        &[
            "undo",
            "revert",
            "go back",
            "撤销",
            "撤回",
            "回退",
            "恢复上一步",
        ],
    );
    let redo = any(t, &["redo", "重做", "恢复撤销"]);
    if !undo && !redo {
        return None;
    }
    // Short clauses only: "undo the trim and add a title" is not a pure undo.
    if t.chars().count() > 40 {
        return None;
    }
    let steps = super::words::numbers(t)
        .first()
        .map(|&(v, _, _)| v)
        .filter(|v| v.fract() == 0.0 && *v > 1.0 && *v <= 50.0)
        .map(|v| v as u32);
    Some(if redo {
        EditOp::Redo { steps }
    } else {
        EditOp::Undo { steps }
    })
}

fn is_first_last(r: &ClipRef) -> bool {
    matches!(r, ClipRef::Name(n) if n == "first" || n == "last")
}

const ORD_EN: &str = r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|final|\d+(?:st|nd|rd|th)";

/// "the third clip", "the final one", "2nd video".
static EN_ORDINAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?:the\s+)?({ORD_EN})\s+(?:clip|video|segment|shot|one)s?\b"
    ))
    .expect("regex")
});
/// "clip 3", "video #2", "#2".
static EN_NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\b(?:clip|video|segment|shot)\s*(?:number\s*|no\.?\s*)?#?\s*|#)(\d+)\b")
        .expect("regex")
});
/// "the first and the last clip", "the first and third clips".
static EN_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?:the\s+)?({ORD_EN})\s+(?:clip\s+)?and\s+(?:the\s+)?({ORD_EN})\s+(?:clip|video|segment|one)s?\b"
    ))
    .expect("regex")
});
/// "第二个片段", "第3段", "第一个".
static ZH_ORDINAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"第\s*([0-9一二两三四五六七八九十]+)\s*(?:个片段|个视频|个镜头|段视频|段片段|个|段|条)",
    )
    .expect("regex")
});
/// "最后一段", "最后一个片段".
static ZH_LAST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"最后(?:一个片段|一个视频|一段视频|一个镜头|的片段|一个|一段|一条)").expect("regex")
});

fn en_ordinal(w: &str) -> Option<ClipRef> {
    const WORDS: &[&str] = &[
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth",
    ];
    if w == "last" || w == "final" {
        return Some(ClipRef::Name("last".into()));
    }
    if let Some(i) = WORDS.iter().position(|x| *x == w) {
        return Some(if i == 0 {
            ClipRef::Name("first".into())
        } else {
            ClipRef::Index(i as u32 + 1)
        });
    }
    let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
    let n: u32 = digits.parse().ok()?;
    (n >= 1).then_some(ClipRef::Index(n))
}

/// The clips `l` points at, by file name or by position, in order of mention, each with its
/// byte span in `l`.
pub fn clip_refs(l: &str, names: &Names) -> Vec<(ClipRef, Range<usize>)> {
    let mut out: Vec<(ClipRef, Range<usize>)> = Vec::new();
    let overlaps = |out: &[(ClipRef, Range<usize>)], r: &Range<usize>| {
        out.iter().any(|(_, x)| r.start < x.end && r.end > x.start)
    };
    for (name, at) in mentioned(l, &names.clips) {
        let ln = lower(&name);
        let len = if l[at..].starts_with(&ln) {
            ln.len()
        } else {
            ln.rsplit_once('.').map_or(ln.len(), |(s, _)| s.len())
        };
        out.push((ClipRef::Name(name), at..at + len));
    }
    for c in EN_PAIR.captures_iter(l) {
        let m = c.get(0).expect("match");
        if overlaps(&out, &m.range()) {
            continue;
        }
        for g in [1, 2] {
            let part = c.get(g).expect("group");
            if let Some(r) = en_ordinal(part.as_str()) {
                out.push((r, part.range()));
            }
        }
        // The shared noun belongs to the second; the spans of both cover the phrase.
        if let Some(last) = out.last_mut() {
            last.1.end = m.end();
        }
    }
    for c in EN_ORDINAL.captures_iter(l) {
        let m = c.get(0).expect("match");
        if overlaps(&out, &m.range()) {
            continue;
        }
        if let Some(r) = en_ordinal(&c[1]) {
            out.push((r, m.range()));
        }
    }
    for c in EN_NUMBERED.captures_iter(l) {
        let m = c.get(0).expect("match");
        if overlaps(&out, &m.range()) {
            continue;
        }
        if let Ok(n) = c[1].parse::<u32>()
            && n >= 1
        {
            out.push((ClipRef::Index(n), m.range()));
        }
    }
    for c in ZH_ORDINAL.captures_iter(l) {
        let m = c.get(0).expect("match");
        if overlaps(&out, &m.range()) {
            continue;
        }
        if let Some((v, _)) = number_at(&c[1])
            && v >= 1.0
            && v.fract() == 0.0
        {
            let r = if v == 1.0 {
                ClipRef::Name("first".into())
            } else {
                ClipRef::Index(v as u32)
            };
            out.push((r, m.range()));
        }
    }
    for m in ZH_LAST.find_iter(l) {
        if !overlaps(&out, &m.range()) {
            out.push((ClipRef::Name("last".into()), m.range()));
        }
    }
    out.sort_by_key(|(_, r)| r.start);
    out
}

/// `l` with the clip references blanked out (byte offsets kept).
fn mask(l: &str, refs: &[(ClipRef, Range<usize>)]) -> String {
    let mut s = l.to_string();
    for (_, r) in refs {
        let blank = " ".repeat(r.len());
        s.replace_range(r.clone(), &blank);
    }
    s
}

fn title(l: &str, quotes: &[String], zh: bool) -> Result<EditOp, String> {
    if (any(l, REMOVE_EN) || any(l, REMOVE_ZH)) && quotes.is_empty() {
        return Ok(EditOp::RemoveTitles {});
    }
    let text = match quotes.first() {
        Some(t) => t.clone(),
        None => {
            return Err(if zh {
                "请把标题的文字放在引号里，例如：加上标题「城市之梦」，显示前3秒".into()
            } else {
                "put the title's words in quotes, e.g. add the title 'Urban Dreams' for the first 3 seconds".into()
            });
        }
    };
    let ts = times(l);
    let (mut start_s, mut end_s, mut last_s) = (None, None, None);
    let last = any(l, &["last ", "final ", "end", "最后", "结尾", "末尾"]);
    match ts.as_slice() {
        [] => {}
        [(a, _, _), (b, _, _), ..] => {
            start_s = Some(a.min(*b));
            end_s = Some(a.max(*b));
        }
        [(n, at, _)] => {
            let before = &l[..*at];
            if last {
                last_s = Some(*n);
            } else if any(before, &["from ", "at ", "starting", "after ", "从", "第"])
                && !any(before, &["first", "前"])
            {
                start_s = Some(*n);
            } else {
                end_s = Some(*n);
            }
        }
    }
    if start_s == Some(0.0) && end_s.is_some() {
        start_s = None;
    }
    let position = if any(l, &["top", "upper", "上方", "顶部", "顶端", "上面", "上边"]) {
        Some(TitlePosition::Top)
    } else if any(
        l,
        &["bottom", "lower", "下方", "底部", "底端", "下面", "下边"],
    ) {
        Some(TitlePosition::Bottom)
    } else if any(
        l,
        &["center", "centre", "middle", "中间", "居中", "中央", "正中"],
    ) {
        Some(TitlePosition::Center)
    } else {
        None
    };
    let size = if any(l, &["huge", "very large", "very big", "超大", "特大"]) {
        Some(TitleSize::Huge)
    } else if any(l, &["large", "big", "大号", "大一点", "大字", "大的"]) {
        Some(TitleSize::Large)
    } else if any(l, &["small", "tiny", "小号", "小一点", "小字", "小的"]) {
        Some(TitleSize::Small)
    } else if any(l, &["medium", "中号"]) {
        Some(TitleSize::Medium)
    } else {
        px_size(l)
    };
    let fade = if any(l, &["no fade", "without fade", "不要淡入", "不淡入"]) {
        Some(false)
    } else if any(l, &["fade", "淡入", "淡出", "渐显", "渐隐"]) {
        Some(true)
    } else {
        None
    };
    Ok(EditOp::Title {
        text,
        start_s,
        end_s,
        last_s,
        position,
        size,
        colour: colour(l),
        fade,
    })
}

/// "size 60" / "60px" (pixels on a 1080-px short side), as the nearest named size.
fn px_size(l: &str) -> Option<TitleSize> {
    let mut px = None;
    for key in ["size ", "字号"] {
        if let Some(p) = l.find(key)
            && let Some((v, _)) = number_at(l[p + key.len()..].trim_start())
            && (8.0..=400.0).contains(&v)
        {
            px = Some(v as f32);
        }
    }
    if px.is_none()
        && let Some(p) = l.find("px")
    {
        let head = l[..p].trim_end();
        let start = head
            .rfind(|c: char| !c.is_ascii_digit())
            .map_or(0, |i| i + 1);
        px = head[start..]
            .parse::<f32>()
            .ok()
            .filter(|v| (8.0..=400.0).contains(v));
    }
    let share = px? / 1080.0;
    [
        TitleSize::Small,
        TitleSize::Medium,
        TitleSize::Large,
        TitleSize::Huge,
    ]
    .into_iter()
    .min_by(|a, b| {
        (a.fraction() - share)
            .abs()
            .total_cmp(&(b.fraction() - share).abs())
    })
}

/// A text colour named in the message (English or Chinese names from `api::COLOURS`, or
/// #RRGGBB), as written for the operation.
fn colour(l: &str) -> Option<String> {
    if let Some(p) = l.find('#') {
        let hex: String = l[p + 1..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        if hex.len() == 6 {
            return Some(format!("#{}", hex.to_ascii_uppercase()));
        }
    }
    let words: Vec<&str> = l
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for (name, _) in crate::api::COLOURS {
        if name.is_ascii() {
            if words.contains(name) {
                return Some((*name).to_string());
            }
        } else if l.contains(&format!("{name}色")) {
            return Some((*name).to_string());
        }
    }
    debug_assert!(colour_rgb("white").is_some());
    None
}

fn music(l: &str, names: &Names) -> Result<EditOp, Option<String>> {
    let zh = has_cjk(l);
    if (any(l, REMOVE_EN) || any(l, REMOVE_ZH) || l.contains("without") || l.contains("mute"))
        && !l.contains("add")
        && percent(l).is_none()
    {
        return Ok(EditOp::RemoveMusic {});
    }
    let file = mentioned(l, &names.audio).into_iter().next().map(|m| m.0);
    let volume = percent(l);
    let mut scale = None;
    if any(
        l,
        &[
            "quieter",
            "softer",
            "lower",
            "turn down",
            "小声",
            "小一点",
            "调低",
            "降低",
        ],
    ) && volume.is_none()
        && !any(l, &["when", "while", "说话", "讲话"])
    {
        scale = Some(0.6);
    }
    if any(
        l,
        &[
            "louder",
            "turn up",
            "raise",
            "大声",
            "大一点",
            "调高",
            "提高",
        ],
    ) && volume.is_none()
    {
        scale = Some(1.5);
    }
    let looped = if any(
        l,
        &[
            "don't loop",
            "do not loop",
            "no loop",
            "not loop",
            "once",
            "不循环",
            "不要循环",
        ],
    ) {
        Some(false)
    } else if any(l, &["loop", "repeat", "循环", "重复"]) {
        Some(true)
    } else {
        None
    };
    let ts = times(l);
    let secs = |key: &str| -> Option<f64> {
        let p = l.find(key)?;
        ts.iter()
            .find(|&&(_, a, _)| a >= p && a < p + key.len() + 12)
            .map(|&(v, _, _)| v)
    };
    let (mut fade_in_s, mut fade_out_s) = (None, None);
    let fade_both = any(l, &["fade in and out", "fade in/out", "fades", "淡入淡出"]);
    if fade_both || any(l, &["fade in", "fade-in", "淡入"]) {
        fade_in_s = Some(secs("fade in").or_else(|| secs("淡入")).unwrap_or(2.0));
    }
    if fade_both || any(l, &["fade out", "fade-out", "淡出"]) {
        fade_out_s = Some(secs("fade out").or_else(|| secs("淡出")).unwrap_or(2.0));
    }
    if any(l, &["no fade", "without fade", "不要淡"]) {
        fade_in_s = Some(0.0);
        fade_out_s = Some(0.0);
    }
    // "× N": "quieter: 0.8 times its volume".
    if scale.is_some()
        && let Some(k) = times_factor(l)
    {
        scale = Some(k);
    }
    let (start_s, end_s) = music_range(l);
    let ducking = any(
        l,
        &[
            "duck",
            "when someone speaks",
            "when i speak",
            "when i talk",
            "while talking",
            "while speaking",
            "under the voice",
            "under speech",
            "说话时",
            "讲话时",
            "人声时",
            "闪避",
            "压低",
        ],
    )
    .then(|| !any(l, &["don't duck", "no duck", "不要闪避"]));
    let adding = any(
        l,
        &[
            "add", "put", "use", "play", "with ", "加", "添加", "配上", "放", "用",
        ],
    );
    let settings = volume.is_some()
        || scale.is_some()
        || looped.is_some()
        || fade_in_s.is_some()
        || fade_out_s.is_some()
        || ducking.is_some()
        || start_s.is_some()
        || end_s.is_some();
    let adjust_only = !adding && file.is_none() && settings;
    if adjust_only
        && let Some(scale) = scale
        && looped.is_none()
        && fade_in_s.is_none()
        && fade_out_s.is_none()
        && ducking.is_none()
        && start_s.is_none()
        && end_s.is_none()
    {
        return Ok(EditOp::Volume {
            percent: None,
            scale: Some(scale),
        });
    }
    // Adding names the file (the latest upload when none is named); adjusting names none.
    let media = if adjust_only {
        None
    } else {
        match file.or_else(|| names.audio.last().cloned()) {
            Some(f) => Some(f),
            None => {
                return Err(Some(if zh {
                    "本地编辑器无法生成或下载音乐：请先用 upload_media 上传一个音频文件（mp3、wav、m4a、aac），再说“添加背景音乐，音量35%”".into()
                } else {
                    "the local editor cannot make or download music: upload an audio file (mp3, wav, m4a, aac) with upload_media first, then ask again, e.g. \"add the music at 35%\"".into()
                }));
            }
        }
    };
    Ok(EditOp::Music {
        media,
        volume,
        fade_in_s,
        fade_out_s,
        ducking,
        looped,
        start_s,
        end_s,
    })
}

/// "0.8 times": a factor for the volume.
fn times_factor(l: &str) -> Option<f64> {
    static TIMES: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(\d+(?:\.\d+)?)\s*(?:times|倍)").expect("regex"));
    TIMES
        .captures(l)
        .and_then(|c| c[1].parse::<f64>().ok())
        .filter(|k| *k > 0.0 && *k <= 10.0)
}

/// Where the music plays: "from 0:02 to 0:05", "第2到5秒" (both ends), or "from 0:02 to the
/// end" (a start alone). Times of a fade ("fade in 2 seconds") are not a range.
fn music_range(l: &str) -> (Option<f64>, Option<f64>) {
    // A fade's words just before a time make it the fade's length.
    let fade_before = |at: usize| {
        let mut from = at.saturating_sub(14);
        while !l.is_char_boundary(from) {
            from += 1;
        }
        any(&l[from..at], &["fade", "淡入", "淡出"])
    };
    if let Some((a, b, at, _)) = span(l)
        && !fade_before(at)
    {
        return (Some(a), Some(b));
    }
    for key in ["from ", "starting at ", "从"] {
        if let Some(p) = l.find(key)
            && !fade_before(p)
            && let Some(&(v, _, _)) = times(l).iter().find(|&&(_, a, _)| a == p + key.len())
        {
            return (Some(v), None);
        }
    }
    (None, None)
}

/// A trim; `l` is the clause with its clip references masked, `refs` those references.
fn trim(l: &str, refs: &[(ClipRef, Range<usize>)]) -> Option<EditOp> {
    let ts = times(l);
    let cut_words = any(
        l,
        &[
            "cut", "trim", "remove", "delete", "drop", "skip", "keep", "shorten", "only", "剪",
            "删", "去掉", "保留", "截取", "只要", "裁",
        ],
    );
    if ts.is_empty() || !cut_words {
        return None;
    }
    let clip = refs.first().map(|(r, _)| r.clone());
    let keep = any(l, &["keep", "only", "保留", "截取", "只要", "只留"]);
    if ts.len() >= 2 {
        let (a, b) = (ts[0].0.min(ts[1].0), ts[0].0.max(ts[1].0));
        // Two times are a span to keep ("keep 0:05–0:12", "trim to 0:05–0:12"). Removing a
        // span from the middle ("cut 0:05–0:12") is not something the timeline can do:
        // not understood, so the user hears what is possible.
        let removal = any(
            l,
            &[
                "cut", "remove", "delete", "drop", "skip", "剪掉", "删", "去掉",
            ],
        );
        if removal && !keep && !l.contains("trim to") {
            return None;
        }
        return Some(EditOp::Keep {
            clip,
            start_s: Some(a),
            end_s: Some(b),
            last_s: None,
        });
    }
    let n = ts[0].0;
    let start = any(l, &["first", "beginning", "start", "前", "开头", "开始"]);
    let end = any(l, &["last", "end", "final", "后", "最后", "结尾", "末尾"]);
    let keep_range = |end_s: f64| EditOp::Keep {
        clip: clip.clone(),
        start_s: None,
        end_s: Some(end_s),
        last_s: None,
    };
    Some(if keep && start {
        keep_range(n)
    } else if start && !end {
        EditOp::Trim {
            clip,
            remove_first_s: Some(n),
            remove_last_s: None,
        }
    } else if end && !start {
        if keep {
            EditOp::Keep {
                clip,
                start_s: None,
                end_s: None,
                last_s: Some(n),
            }
        } else {
            EditOp::Trim {
                clip,
                remove_first_s: None,
                remove_last_s: Some(n),
            }
        }
    } else if any(
        l,
        &[
            "to ", "shorten", "make it", "long", "剪成", "剪到", "缩短", "长度",
        ],
    ) {
        // "trim it to 8 seconds": keep the first n seconds.
        keep_range(n)
    } else {
        return None;
    })
}

/// Reordering and removing clips. `rest` is `l` with the clip references masked.
fn arrange(
    l: &str,
    rest: &str,
    refs: &[(ClipRef, Range<usize>)],
    names: &Names,
) -> Option<Result<EditOp, String>> {
    let swap = any(l, &["swap", "switch", "exchange", "交换", "互换", "调换"]);
    if swap && refs.len() >= 2 {
        return Some(Ok(EditOp::Swap {
            clip: refs[0].0.clone(),
            with: refs[1].0.clone(),
        }));
    }
    let remove = any(l, REMOVE_EN) || any(l, REMOVE_ZH);
    // ("remove" contains "move".)
    let moving = !remove
        && any(
            l,
            &[
                "put", "move", "place", "make", "reorder", "放", "移", "排", "挪",
            ],
        );
    if moving && let Some((clip, _)) = refs.first() {
        let (mut to, mut before, mut after) = (None, None, None);
        if let Some((other, _)) = refs.get(1) {
            if any(rest, &["before", "ahead of", "前面", "之前", "前边"]) {
                before = Some(other.clone());
            } else if any(rest, &["after", "behind", "后面", "之后", "后边"]) {
                after = Some(other.clone());
            } else if !matches!(other, ClipRef::Name(n) if n != "first" && n != "last") {
                // "make the third clip the first one": a place, not a clip.
                to = Some(other.clone());
            } else {
                return None;
            }
        } else if any(
            rest,
            &[
                "first",
                "start",
                "beginning",
                "front",
                "最前",
                "开头",
                "第一",
            ],
        ) {
            to = Some(ClipRef::Name("first".into()));
        } else if any(rest, &["last", "end", "最后", "末尾", "结尾"]) {
            to = Some(ClipRef::Name("last".into()));
        } else if let Some(n) = position_number(rest) {
            to = Some(ClipRef::Index(n));
        } else {
            return None;
        }
        return Some(Ok(EditOp::Move {
            clip: clip.clone(),
            to,
            before,
            after,
        }));
    }
    if remove {
        if let Some((clip, _)) = refs.first() {
            return Some(Ok(EditOp::Remove { clip: clip.clone() }));
        }
        if any(
            l,
            &["intro", "outro", "片头", "片尾", "clip", "片段", "视频"],
        ) {
            return Some(Err(if has_cjk(l) {
                format!(
                    "没有找到要删除的片段；时间线上的片段是：{}",
                    names.clips.join("、")
                )
            } else {
                format!(
                    "I could not tell which clip to remove; the clips are: {}",
                    names.clips.join(", ")
                )
            }));
        }
    }
    None
}

/// "to position 3", "第3位", "second" as a place to move to.
fn position_number(rest: &str) -> Option<u32> {
    for key in ["position ", "place ", "slot ", "第"] {
        if let Some(p) = rest.find(key)
            && let Some((v, _)) = number_at(rest[p + key.len()..].trim_start())
            && v >= 1.0
        {
            return Some(v as u32);
        }
    }
    const WORDS: &[&str] = &["second", "third", "fourth", "fifth", "sixth"];
    WORDS
        .iter()
        .position(|w| {
            rest.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|x| x == *w)
        })
        .map(|i| i as u32 + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            media: vec![
                "intro.mp4".into(),
                "outro.mp4".into(),
                "lofi.mp3".into(),
                "Beach.JPG".into(),
            ],
            clips: vec!["intro.mp4".into(), "outro.mp4".into()],
            audio: vec!["lofi.mp3".into()],
        }
    }

    fn p(s: &str) -> EditOp {
        parse(s, &names()).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    fn name(s: &str) -> ClipRef {
        ClipRef::Name(s.into())
    }

    #[test]
    fn titles_en_zh() {
        let EditOp::Title {
            text,
            start_s,
            end_s,
            ..
        } = p("add the title 'Urban Dreams' for the first 3 seconds")
        else {
            panic!()
        };
        assert_eq!(text, "Urban Dreams");
        assert_eq!((start_s, end_s), (None, Some(3.0)));
        let EditOp::Title {
            text,
            end_s,
            position,
            colour,
            ..
        } = p("加上标题「城市之梦」，显示前3秒，放在顶部，黄色")
        else {
            panic!()
        };
        assert_eq!(text, "城市之梦");
        assert_eq!(end_s, Some(3.0));
        assert_eq!(position, Some(TitlePosition::Top));
        assert_eq!(colour.as_deref().and_then(colour_rgb), Some((255, 214, 0)));
        let EditOp::Title {
            text,
            start_s,
            end_s,
            position,
            size,
            colour,
            fade,
            ..
        } = p("add a big red caption \"Top Chef\" at the bottom from 2s to 5s with a fade")
        else {
            panic!()
        };
        assert_eq!(text, "Top Chef");
        assert_eq!((start_s, end_s), (Some(2.0), Some(5.0)));
        assert_eq!(position, Some(TitlePosition::Bottom));
        assert_eq!(size, Some(TitleSize::Large));
        assert_eq!(colour.as_deref(), Some("red"));
        assert_eq!(fade, Some(true));
        assert_eq!(p("remove the title"), EditOp::RemoveTitles {});
        assert!(parse("add a title", &names()).unwrap_err().is_some());
    }

    #[test]
    fn music_en_zh() {
        let EditOp::Music { volume, media, .. } = p("add lo-fi music at 35%") else {
            panic!()
        };
        assert_eq!(volume, Some(35.0));
        assert_eq!(media.as_deref(), Some("lofi.mp3"));
        let EditOp::Music {
            volume,
            fade_in_s,
            fade_out_s,
            ..
        } = p("添加背景音乐，音量35%，淡入淡出")
        else {
            panic!()
        };
        assert_eq!(volume, Some(35.0));
        assert_eq!((fade_in_s, fade_out_s), (Some(2.0), Some(2.0)));
        let EditOp::Music { media, volume, .. } = p("set the music volume to 20%") else {
            panic!()
        };
        assert_eq!((media, volume), (None, Some(20.0)));
        let EditOp::Music { ducking, .. } = p("lower the music when I speak") else {
            panic!()
        };
        assert_eq!(ducking, Some(true));
        assert_eq!(
            p("make the music quieter"),
            EditOp::Volume {
                percent: None,
                scale: Some(0.6)
            }
        );
        assert_eq!(p("remove the music"), EditOp::RemoveMusic {});
        let none = Names {
            audio: vec![],
            ..names()
        };
        let e = parse("add a jazz soundtrack", &none).unwrap_err().unwrap();
        assert!(e.contains("upload an audio file"), "{e}");
    }

    #[test]
    fn aspect_trim_arrange() {
        let ratio = |r| EditOp::AspectRatio { ratio: r };
        assert_eq!(p("make it 9:16"), ratio(AspectRatio::Portrait));
        assert_eq!(p("改成9:16竖屏"), ratio(AspectRatio::Portrait));
        assert_eq!(p("make it square"), ratio(AspectRatio::Square));
        assert!(
            parse("make it 4:3", &names())
                .unwrap_err()
                .unwrap()
                .contains("16:9")
        );
        let trim = |clip, first: Option<f64>, last: Option<f64>| EditOp::Trim {
            clip,
            remove_first_s: first,
            remove_last_s: last,
        };
        let keep = |clip, a: Option<f64>, b: Option<f64>| EditOp::Keep {
            clip,
            start_s: a,
            end_s: b,
            last_s: None,
        };
        assert_eq!(p("cut the first 2 seconds"), trim(None, Some(2.0), None));
        assert_eq!(p("keep 0:05–0:12"), keep(None, Some(5.0), Some(12.0)));
        // A span cut out of the middle is not possible: not understood, never a "keep".
        assert!(parse("cut 0:05 to 0:12", &names()).is_err());
        assert_eq!(p("剪掉前2秒"), trim(None, Some(2.0), None));
        assert_eq!(p("保留0:05到0:12"), keep(None, Some(5.0), Some(12.0)));
        assert_eq!(
            p("cut the last 3 seconds of outro.mp4"),
            trim(Some(name("outro.mp4")), None, Some(3.0))
        );
        let to_first = |clip| EditOp::Move {
            clip,
            to: Some(name("first")),
            before: None,
            after: None,
        };
        assert_eq!(p("put outro.mp4 first"), to_first(name("outro.mp4")));
        assert_eq!(p("把outro.mp4放到最前面"), to_first(name("outro.mp4")));
        assert_eq!(
            p("remove the intro"),
            EditOp::Remove {
                clip: name("intro.mp4")
            }
        );
        assert_eq!(
            p("删除第二个片段"),
            EditOp::Remove {
                clip: ClipRef::Index(2)
            }
        );
        assert_eq!(
            p("swap intro.mp4 and outro.mp4"),
            EditOp::Swap {
                clip: name("intro.mp4"),
                with: name("outro.mp4")
            }
        );
    }

    #[test]
    fn backgrounds_target_every_clip_unless_one_is_named() {
        assert_eq!(
            p("blur the background"),
            EditOp::Backdrop {
                backdrop: "blur".into(),
                clip: None
            }
        );
        let EditOp::Backdrop { clip, .. } = p("blur the background of outro.mp4") else {
            panic!()
        };
        assert_eq!(clip, Some(name("outro.mp4")));
        let EditOp::Backdrop { backdrop, .. } = p("use Beach.JPG as the background") else {
            panic!()
        };
        assert_eq!(backdrop, "Beach.JPG");
        let EditOp::Backdrop { clip, .. } = p("blur the background of the second clip") else {
            panic!()
        };
        assert_eq!(clip, Some(ClipRef::Index(2)));
    }

    #[test]
    fn unknown_requests_are_not_understood() {
        assert_eq!(parse("make me a sandwich", &names()), Err(None));
        assert_eq!(parse("speed it up 2x", &names()), Err(None));
    }

    #[test]
    fn clauses_split_at_strong_separators_only() {
        assert_eq!(clauses("make it 9:16; add music at 35%").len(), 2);
        assert_eq!(clauses("改成9:16，然后加上背景音乐").len(), 2);
        assert_eq!(clauses("add the title 'A; B'").len(), 1);
    }
}
