//! What the user asked for, English or Chinese, as one of the edits the local agent can do:
//! a background, a title, music, the aspect ratio, a trim, moving or removing a clip.
//! Deterministic, no model. Anything else is `Err` with the list of what is possible.

use super::parser::{self, BackdropSource};
use super::words::{
    any, has_cjk, lower, mentioned, number_at, ordinal, percent, quoted, ratio, times,
};

/// Which clips an edit applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Every video clip on the timeline.
    All,
    /// The clip with this file name.
    Clip(String),
}

/// Where a title goes, vertically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Top,
    Center,
    Bottom,
}

impl Place {
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Top => "top",
            Place::Center => "center",
            Place::Bottom => "bottom",
        }
    }
}

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

#[derive(Debug, Clone, PartialEq)]
pub struct MusicEdit {
    /// An uploaded audio file named in the message.
    pub file: Option<String>,
    /// Percent.
    pub volume: Option<f64>,
    pub looped: Option<bool>,
    pub fade_in_s: Option<f64>,
    pub fade_out_s: Option<f64>,
    pub duck: Option<bool>,
    /// Only the volume (or other settings) of the music already there changes.
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
    /// Keep only [a, b).
    Keep(f64, f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum MoveTo {
    First,
    Last,
    /// 1-based position.
    Index(usize),
    Before(String),
    After(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Background {
        source: BackdropSource,
        target: Target,
    },
    Title(TitleEdit),
    RemoveTitles,
    Music(MusicEdit),
    RemoveMusic,
    Aspect((u32, u32)),
    Trim {
        clip: Option<String>,
        cut: Cut,
    },
    Move {
        clip: String,
        to: MoveTo,
    },
    Swap(String, String),
    RemoveClip(String),
}

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
pub fn parse(text: &str, names: &Names) -> Result<Intent, Option<String>> {
    let q = quoted(text.trim());
    let masked = lower(&q.masked);
    let l = masked.as_str();
    if l.trim().is_empty() && q.quotes.is_empty() {
        return Err(None);
    }
    let zh = has_cjk(text);
    // Background first: it is what most messages are about, and its words ("remove the
    // background", "use beach.jpg as the background") overlap with the rest.
    if parser::mentions_background(l)
        && !any(l, MUSIC_EN)
        && !any(l, MUSIC_ZH)
        && let Some(edit) = parser::parse(text, &names.media, &names.clips)
    {
        let target = match edit.clip {
            Some(c) => Target::Clip(c),
            None => Target::All,
        };
        return Ok(Intent::Background {
            source: edit.source,
            target,
        });
    }
    if any(l, TITLE_EN) || any(l, TITLE_ZH) {
        return title(l, &q.quotes, zh).map_err(Some);
    }
    if any(l, MUSIC_EN) || any(l, MUSIC_ZH) || l.contains("soundtrack") {
        return music(l, names);
    }
    if let Some(i) = trim(l, names) {
        return Ok(i);
    }
    if let Some(r) = ratio(l)
        && (any(l, ASPECT_WORDS) || l.contains(':') || l.contains('：') || l.len() < 24)
    {
        return Ok(Intent::Aspect(r));
    }
    if let Some(i) = arrange(l, names) {
        return i.map_err(Some);
    }
    Err(None)
}

fn title(l: &str, quotes: &[String], zh: bool) -> Result<Intent, String> {
    if (any(l, REMOVE_EN) || any(l, REMOVE_ZH)) && quotes.is_empty() {
        return Ok(Intent::RemoveTitles);
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
    let mut edit = TitleEdit {
        text,
        start_s: 0.0,
        end_s: None,
        from_end_s: None,
        position: None,
        size: None,
        color: None,
        fade: None,
    };
    let last = any(l, &["last ", "final ", "end", "最后", "结尾", "末尾"]);
    match ts.as_slice() {
        [] => {}
        [(a, _, _), (b, _, _), ..] => {
            edit.start_s = a.min(*b);
            edit.end_s = Some(a.max(*b));
        }
        [(n, at, _)] => {
            let before = &l[..*at];
            if last {
                edit.from_end_s = Some(*n);
            } else if any(before, &["from ", "at ", "starting", "after ", "从", "第"])
                && !any(before, &["first", "前"])
            {
                edit.start_s = *n;
            } else {
                edit.end_s = Some(*n);
            }
        }
    }
    edit.position = if any(l, &["top", "upper", "上方", "顶部", "顶端", "上面", "上边"]) {
        Some(Place::Top)
    } else if any(
        l,
        &["bottom", "lower", "下方", "底部", "底端", "下面", "下边"],
    ) {
        Some(Place::Bottom)
    } else if any(
        l,
        &["center", "centre", "middle", "中间", "居中", "中央", "正中"],
    ) {
        Some(Place::Center)
    } else {
        None
    };
    edit.size = if any(l, &["huge", "very large", "very big", "超大", "特大"]) {
        Some(0.14)
    } else if any(l, &["large", "big", "大号", "大一点", "大字", "大的"]) {
        Some(0.11)
    } else if any(l, &["small", "tiny", "小号", "小一点", "小字", "小的"]) {
        Some(0.05)
    } else if any(l, &["medium", "中号"]) {
        Some(0.08)
    } else {
        px_size(l)
    };
    edit.color = colour(l);
    if any(l, &["no fade", "without fade", "不要淡入", "不淡入"]) {
        edit.fade = Some(false);
    } else if any(l, &["fade", "淡入", "淡出", "渐显", "渐隐"]) {
        edit.fade = Some(true);
    }
    Ok(Intent::Title(edit))
}

/// "size 60" / "60px": pixels on a 1080-px short side.
fn px_size(l: &str) -> Option<f32> {
    for key in ["size ", "字号"] {
        if let Some(p) = l.find(key)
            && let Some((v, _)) = number_at(l[p + key.len()..].trim_start())
            && (8.0..=400.0).contains(&v)
        {
            return Some(v as f32 / 1080.0);
        }
    }
    let p = l.find("px")?;
    let head = l[..p].trim_end();
    let start = head
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let v: f32 = head[start..].parse().ok()?;
    (8.0..=400.0).contains(&v).then_some(v / 1080.0)
}

/// A text colour named in the message (English or Chinese names, or #RRGGBB).
fn colour(l: &str) -> Option<(u8, u8, u8)> {
    if let Some(p) = l.find('#') {
        let hex: String = l[p + 1..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        if hex.len() == 6 {
            let v = u32::from_str_radix(&hex, 16).ok()?;
            return Some(((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
    }
    const NAMES: &[(&str, (u8, u8, u8))] = &[
        ("white", (255, 255, 255)),
        ("白", (255, 255, 255)),
        ("black", (0, 0, 0)),
        ("黑", (0, 0, 0)),
        ("yellow", (255, 214, 0)),
        ("黄", (255, 214, 0)),
        ("gold", (255, 196, 37)),
        ("金", (255, 196, 37)),
        ("orange", (255, 140, 0)),
        ("橙", (255, 140, 0)),
        ("red", (230, 30, 40)),
        ("红", (230, 30, 40)),
        ("pink", (255, 105, 180)),
        ("粉", (255, 105, 180)),
        ("purple", (150, 70, 220)),
        ("紫", (150, 70, 220)),
        ("blue", (40, 120, 255)),
        ("蓝", (40, 120, 255)),
        ("cyan", (0, 210, 230)),
        ("青", (0, 210, 230)),
        ("green", (40, 200, 80)),
        ("绿", (40, 200, 80)),
        ("grey", (160, 160, 160)),
        ("gray", (160, 160, 160)),
        ("灰", (160, 160, 160)),
    ];
    let words: Vec<&str> = l
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for (name, rgb) in NAMES {
        if name.is_ascii() {
            if words.contains(name) {
                return Some(*rgb);
            }
        } else if l.contains(&format!("{name}色")) {
            return Some(*rgb);
        }
    }
    None
}

fn music(l: &str, names: &Names) -> Result<Intent, Option<String>> {
    let zh = has_cjk(l);
    if (any(l, REMOVE_EN) || any(l, REMOVE_ZH) || l.contains("without") || l.contains("mute"))
        && !l.contains("add")
        && percent(l).is_none()
    {
        return Ok(Intent::RemoveMusic);
    }
    let file = mentioned(l, &names.audio).into_iter().next().map(|m| m.0);
    let mut edit = MusicEdit {
        file,
        volume: percent(l),
        looped: None,
        fade_in_s: None,
        fade_out_s: None,
        duck: None,
        adjust_only: false,
    };
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
    ) && edit.volume.is_none()
        && !any(l, &["when", "while", "说话", "讲话"])
    {
        edit.volume = Some(-1.0);
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
    ) && edit.volume.is_none()
    {
        edit.volume = Some(-2.0);
    }
    if any(
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
        edit.looped = Some(false);
    } else if any(l, &["loop", "repeat", "循环", "重复"]) {
        edit.looped = Some(true);
    }
    let ts = times(l);
    let secs = |key: &str| -> Option<f64> {
        let p = l.find(key)?;
        ts.iter()
            .find(|&&(_, a, _)| a >= p && a < p + key.len() + 12)
            .map(|&(v, _, _)| v)
    };
    let fade_both = any(l, &["fade in and out", "fade in/out", "fades", "淡入淡出"]);
    if fade_both || any(l, &["fade in", "fade-in", "淡入"]) {
        edit.fade_in_s = Some(secs("fade in").or_else(|| secs("淡入")).unwrap_or(2.0));
    }
    if fade_both || any(l, &["fade out", "fade-out", "淡出"]) {
        edit.fade_out_s = Some(secs("fade out").or_else(|| secs("淡出")).unwrap_or(2.0));
    }
    if any(l, &["no fade", "without fade", "不要淡"]) {
        edit.fade_in_s = Some(0.0);
        edit.fade_out_s = Some(0.0);
    }
    if any(
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
    ) {
        edit.duck = Some(!any(l, &["don't duck", "no duck", "不要闪避"]));
    }
    let adding = any(
        l,
        &[
            "add", "put", "use", "play", "with ", "加", "添加", "配上", "放", "用",
        ],
    );
    if !adding
        && edit.file.is_none()
        && (edit.volume.is_some()
            || edit.looped.is_some()
            || edit.fade_in_s.is_some()
            || edit.fade_out_s.is_some()
            || edit.duck.is_some())
    {
        edit.adjust_only = true;
    }
    if !edit.adjust_only && edit.file.is_none() && names.audio.is_empty() {
        return Err(Some(if zh {
            "本地编辑器无法生成或下载音乐：请先用 upload_media 上传一个音频文件（mp3、wav、m4a、aac），再说“添加背景音乐，音量35%”".into()
        } else {
            "the local editor cannot make or download music: upload an audio file (mp3, wav, m4a, aac) with upload_media first, then ask again, e.g. \"add the music at 35%\"".into()
        }));
    }
    Ok(Intent::Music(edit))
}

fn trim(l: &str, names: &Names) -> Option<Intent> {
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
    let clip = mentioned(l, &names.clips).into_iter().next().map(|m| m.0);
    let keep = any(l, &["keep", "only", "保留", "截取", "只要", "只留"]);
    let cut = if ts.len() >= 2 {
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
        Cut::Keep(a, b)
    } else {
        let n = ts[0].0;
        let start = any(l, &["first", "beginning", "start", "前", "开头", "开始"]);
        let end = any(l, &["last", "end", "final", "后", "最后", "结尾", "末尾"]);
        if keep && start {
            Cut::Keep(0.0, n)
        } else if start && !end {
            Cut::Start(n)
        } else if end && !start {
            if keep {
                return Some(Intent::Trim {
                    clip,
                    cut: Cut::End(-n),
                });
            }
            Cut::End(n)
        } else if any(
            l,
            &[
                "to ", "shorten", "make it", "long", "剪成", "剪到", "缩短", "长度",
            ],
        ) {
            // "trim it to 8 seconds": keep the first n seconds.
            Cut::Keep(0.0, n)
        } else {
            return None;
        }
    };
    Some(Intent::Trim { clip, cut })
}

/// Reordering and removing clips.
fn arrange(l: &str, names: &Names) -> Option<Result<Intent, String>> {
    let named = mentioned(l, &names.clips);
    let by_index = ordinal(l).and_then(|n| {
        if n == usize::MAX {
            names.clips.last().cloned()
        } else {
            names.clips.get(n.saturating_sub(1)).cloned()
        }
    });
    let swap = any(l, &["swap", "switch", "exchange", "交换", "互换", "调换"]);
    if swap && named.len() >= 2 {
        return Some(Ok(Intent::Swap(named[0].0.clone(), named[1].0.clone())));
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
    if moving && let Some((clip, _)) = named.first() {
        let to = if any(
            l,
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
            MoveTo::First
        } else if any(l, &["last", "end", "最后", "末尾", "结尾"]) {
            MoveTo::Last
        } else if let Some((other, _)) = named.get(1) {
            if any(l, &["before", "ahead of", "前面", "之前", "前边"]) {
                MoveTo::Before(other.clone())
            } else if any(l, &["after", "behind", "后面", "之后", "后边"]) {
                MoveTo::After(other.clone())
            } else {
                return None;
            }
        } else if let Some(n) = ordinal(l).filter(|&n| n != usize::MAX) {
            MoveTo::Index(n)
        } else {
            return None;
        };
        return Some(Ok(Intent::Move {
            clip: clip.clone(),
            to,
        }));
    }
    if remove {
        if let Some((clip, _)) = named.first() {
            return Some(Ok(Intent::RemoveClip(clip.clone())));
        }
        if let Some(clip) = by_index {
            return Some(Ok(Intent::RemoveClip(clip)));
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

    fn p(s: &str) -> Intent {
        parse(s, &names()).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn titles_en_zh() {
        let Intent::Title(t) = p("add the title 'Urban Dreams' for the first 3 seconds") else {
            panic!()
        };
        assert_eq!(t.text, "Urban Dreams");
        assert_eq!((t.start_s, t.end_s), (0.0, Some(3.0)));
        let Intent::Title(t) = p("加上标题「城市之梦」，显示前3秒，放在顶部，黄色")
        else {
            panic!()
        };
        assert_eq!(t.text, "城市之梦");
        assert_eq!(t.end_s, Some(3.0));
        assert_eq!(t.position, Some(Place::Top));
        assert_eq!(t.color, Some((255, 214, 0)));
        let Intent::Title(t) =
            p("add a big red caption \"Top Chef\" at the bottom from 2s to 5s with a fade")
        else {
            panic!()
        };
        assert_eq!(t.text, "Top Chef");
        assert_eq!((t.start_s, t.end_s), (2.0, Some(5.0)));
        assert_eq!(t.position, Some(Place::Bottom));
        assert_eq!(t.size, Some(0.11));
        assert_eq!(t.color, Some((230, 30, 40)));
        assert_eq!(t.fade, Some(true));
        assert_eq!(p("remove the title"), Intent::RemoveTitles);
        assert!(parse("add a title", &names()).unwrap_err().is_some());
    }

    #[test]
    fn music_en_zh() {
        let Intent::Music(m) = p("add lo-fi music at 35%") else {
            panic!()
        };
        assert_eq!(m.volume, Some(35.0));
        assert!(!m.adjust_only);
        let Intent::Music(m) = p("添加背景音乐，音量35%，淡入淡出") else {
            panic!()
        };
        assert_eq!(m.volume, Some(35.0));
        assert_eq!((m.fade_in_s, m.fade_out_s), (Some(2.0), Some(2.0)));
        let Intent::Music(m) = p("set the music volume to 20%") else {
            panic!()
        };
        assert!(m.adjust_only);
        let Intent::Music(m) = p("lower the music when I speak") else {
            panic!()
        };
        assert_eq!(m.duck, Some(true));
        assert_eq!(p("remove the music"), Intent::RemoveMusic);
        let none = Names {
            audio: vec![],
            ..names()
        };
        let e = parse("add a jazz soundtrack", &none).unwrap_err().unwrap();
        assert!(e.contains("upload an audio file"), "{e}");
    }

    #[test]
    fn aspect_trim_arrange() {
        assert_eq!(p("make it 9:16"), Intent::Aspect((9, 16)));
        assert_eq!(p("改成9:16竖屏"), Intent::Aspect((9, 16)));
        assert_eq!(p("make it square"), Intent::Aspect((1, 1)));
        assert_eq!(
            p("cut the first 2 seconds"),
            Intent::Trim {
                clip: None,
                cut: Cut::Start(2.0)
            }
        );
        assert_eq!(
            p("keep 0:05–0:12"),
            Intent::Trim {
                clip: None,
                cut: Cut::Keep(5.0, 12.0)
            }
        );
        // A span cut out of the middle is not possible: not understood, never a "keep".
        assert!(parse("cut 0:05 to 0:12", &names()).is_err());
        assert_eq!(
            p("剪掉前2秒"),
            Intent::Trim {
                clip: None,
                cut: Cut::Start(2.0)
            }
        );
        assert_eq!(
            p("保留0:05到0:12"),
            Intent::Trim {
                clip: None,
                cut: Cut::Keep(5.0, 12.0)
            }
        );
        assert_eq!(
            p("cut the last 3 seconds of outro.mp4"),
            Intent::Trim {
                clip: Some("outro.mp4".into()),
                cut: Cut::End(3.0)
            }
        );
        assert_eq!(
            p("put outro.mp4 first"),
            Intent::Move {
                clip: "outro.mp4".into(),
                to: MoveTo::First
            }
        );
        assert_eq!(
            p("把outro.mp4放到最前面"),
            Intent::Move {
                clip: "outro.mp4".into(),
                to: MoveTo::First
            }
        );
        assert_eq!(
            p("remove the intro"),
            Intent::RemoveClip("intro.mp4".into())
        );
        assert_eq!(p("删除第二个片段"), Intent::RemoveClip("outro.mp4".into()));
        assert_eq!(
            p("swap intro.mp4 and outro.mp4"),
            Intent::Swap("intro.mp4".into(), "outro.mp4".into())
        );
    }

    #[test]
    fn backgrounds_target_every_clip_unless_one_is_named() {
        assert_eq!(
            p("blur the background"),
            Intent::Background {
                source: BackdropSource::Text("blur".into()),
                target: Target::All
            }
        );
        let Intent::Background { target, .. } = p("blur the background of outro.mp4") else {
            panic!()
        };
        assert_eq!(target, Target::Clip("outro.mp4".into()));
        let Intent::Background { source, .. } = p("use Beach.JPG as the background") else {
            panic!()
        };
        assert_eq!(source, BackdropSource::Media("Beach.JPG".into()));
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
