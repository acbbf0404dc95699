//! The instruction parser: English or Chinese free text → a background edit, deterministic,
//! no model. It only finds *what* was asked ("blur", "a clean studio backdrop", "beach.jpg");
//! the words of a backdrop are resolved by `engine::backdrop::resolve`, the same resolver the
//! CLI uses, so both understand the same vocabulary.

/// Where the new background comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum BackdropSource {
    /// Words for the backdrop resolver ("blur", "transparent", "white", "clean studio").
    Text(String),
    /// A file uploaded to this session, by its file name.
    Media(String),
    /// A local path (allowed only inside the backend's URL roots).
    Path(String),
}

/// One understood background edit.
#[derive(Debug, Clone, PartialEq)]
pub struct BackgroundEdit {
    pub source: BackdropSource,
    /// The clip it applies to, when the message names one (else the last uploaded).
    pub clip: Option<String>,
}

const REMOVE_EN: &[&str] = &[
    "remove the background",
    "remove background",
    "remove my background",
    "delete the background",
    "get rid of the background",
    "erase the background",
    "cut out",
    "transparent background",
    "background transparent",
    "no background",
    "without background",
    "without a background",
];
const REMOVE_ZH: &[&str] = &[
    "去掉背景",
    "去除背景",
    "移除背景",
    "删除背景",
    "删掉背景",
    "抠图",
    "抠像",
    "透明背景",
    "背景透明",
    "不要背景",
];
const BLUR_EN: &[&str] = &["blur", "bokeh", "defocus", "out of focus"];
const BLUR_ZH: &[&str] = &["虚化", "模糊"];
/// Text after one of these is the new background (English, lowercased).
const TO_EN: &[&str] = &[
    " with ",
    "background to ",
    "backdrop to ",
    "background into ",
    "make the background ",
    "make my background ",
    "background should be ",
    "background be ",
    "in front of ",
];
const TO_ZH: &[&str] = &[
    "替换成",
    "替换为",
    "换成",
    "换为",
    "改成",
    "改为",
    "变成",
    "变为",
    "设为",
    "设置为",
    "换",
];

pub(super) fn mentions_background(lower: &str) -> bool {
    [
        "background",
        "backdrop",
        " bg",
        "bg ",
        "背景",
        "抠图",
        "抠像",
    ]
    .iter()
    .any(|k| lower.contains(k))
        || lower == "bg"
}

/// Parse `text`. `media` are the file names uploaded to the session (videos and images);
/// `clips` the video ones. `None`: not a background request. Matching is case-blind, but a
/// path is returned as written (`~/Pictures/Beach.JPG` stays as it is).
pub fn parse(text: &str, media: &[String], clips: &[String]) -> Option<BackgroundEdit> {
    let orig = text.trim();
    // ASCII-only lowercasing keeps byte offsets, so a span of `lower` is the same span of
    // `orig`.
    let lower = orig.to_ascii_lowercase();
    if lower.is_empty() {
        return None;
    }
    let named_clip = clips
        .iter()
        .find(|c| !c.is_empty() && lower.contains(&c.to_ascii_lowercase()))
        .cloned();
    let source = find_source(&lower, orig, media, named_clip.as_deref())?;
    // A clip named only as the backdrop is not the target.
    let clip = match (&source, &named_clip) {
        (BackdropSource::Media(m), Some(c)) if m == c => None,
        _ => named_clip,
    };
    Some(BackgroundEdit { source, clip })
}

/// The span of `orig` at the place `part` (a slice of `lower`) has in `lower`.
fn same_span<'a>(lower: &str, part: &'a str, orig: &'a str) -> &'a str {
    let off = (part.as_ptr() as usize).saturating_sub(lower.as_ptr() as usize);
    orig.get(off..off + part.len()).unwrap_or(part)
}

fn find_source(
    lower: &str,
    orig: &str,
    media: &[String],
    named_clip: Option<&str>,
) -> Option<BackdropSource> {
    let has_bg = mentions_background(lower);
    // "use beach.jpg as the background", "用 beach.jpg 作为背景"
    if let Some(x) = between(lower, "use ", &[" as ", " for "])
        .or_else(|| between(lower, "用", &["作为", "做", "当"]))
        && has_bg
    {
        return Some(classify(x, same_span(lower, x, orig), media, named_clip));
    }
    if REMOVE_EN.iter().any(|k| lower.contains(k)) || REMOVE_ZH.iter().any(|k| lower.contains(k)) {
        return Some(BackdropSource::Text("transparent".into()));
    }
    if has_bg
        && (BLUR_EN.iter().any(|k| lower.contains(k)) || BLUR_ZH.iter().any(|k| lower.contains(k)))
    {
        return Some(BackdropSource::Text("blur".into()));
    }
    if !has_bg {
        return None;
    }
    for key in TO_EN.iter().chain(TO_ZH) {
        if let Some(pos) = lower.rfind(key) {
            let raw = &lower[pos + key.len()..];
            let rest = tidy(raw);
            if !rest.is_empty() {
                return Some(classify(
                    rest,
                    same_span(lower, rest, orig),
                    media,
                    named_clip,
                ));
            }
        }
    }
    // An uploaded file named together with "background".
    if let Some(m) = media
        .iter()
        .find(|m| Some(m.as_str()) != named_clip && lower.contains(&m.to_ascii_lowercase()))
    {
        return Some(BackdropSource::Media(m.clone()));
    }
    // Leave the rest ("a beach background please", "背景白色") to the resolver.
    Some(BackdropSource::Text(tidy(lower).to_string()))
}

/// Text after `start` up to the first of `ends`.
fn between<'a>(s: &'a str, start: &str, ends: &[&str]) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let rest = &s[from..];
    let to = ends.iter().filter_map(|e| rest.find(e)).min()?;
    let x = rest[..to].trim();
    (!x.is_empty()).then_some(x)
}

/// Drop articles, trailing punctuation and a trailing "background"/"背景".
fn tidy(s: &str) -> &str {
    let mut s = s
        .trim()
        .trim_end_matches(['.', '!', '?', '。', '！', '？', ',', '，', ' ']);
    for suffix in [" please", " background", " backdrop", "的背景", "背景"] {
        if let Some(x) = s.strip_suffix(suffix) {
            s = x.trim_end();
        }
    }
    for prefix in ["a ", "an ", "the ", "my ", "some "] {
        if let Some(x) = s.strip_prefix(prefix) {
            s = x.trim_start();
        }
    }
    s.trim()
}

/// `x`: the backdrop words, lowercased; `orig`: the same span as written.
fn classify(x: &str, orig: &str, media: &[String], named_clip: Option<&str>) -> BackdropSource {
    let quotes = ['"', '\'', '“', '”', '「', '」'];
    let x = tidy(x.trim_matches(quotes));
    let orig = tidy_orig(orig.trim().trim_matches(quotes), x.len());
    if let Some(m) = media.iter().find(|m| m.to_ascii_lowercase() == x) {
        return BackdropSource::Media(m.clone());
    }
    // A path is that file, even when an upload has the same name.
    if x.starts_with('/') || x.starts_with("~/") || x.starts_with("file://") {
        return BackdropSource::Path(orig.to_string());
    }
    if let Some(m) = media
        .iter()
        .find(|m| Some(m.as_str()) != named_clip && x.contains(&m.to_ascii_lowercase()))
    {
        return BackdropSource::Media(m.clone());
    }
    BackdropSource::Text(x.to_string())
}

/// The as-written twin of a `tidy`'d span of `len` bytes: `tidy` only trims, so the kept
/// text is the first `len` bytes after the same leading words.
fn tidy_orig(orig: &str, len: usize) -> &str {
    let lower = orig.to_ascii_lowercase();
    let kept = tidy(&lower);
    let off = (kept.as_ptr() as usize).saturating_sub(lower.as_ptr() as usize);
    orig.get(off..off + len).unwrap_or(orig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Option<BackdropSource> {
        let media = vec!["talk.mp4".to_string(), "beach.jpg".to_string()];
        let clips = vec!["talk.mp4".to_string()];
        parse(text, &media, &clips).map(|e| e.source)
    }

    fn text(s: &str) -> Option<BackdropSource> {
        Some(BackdropSource::Text(s.into()))
    }

    #[test]
    fn english_requests() {
        assert_eq!(
            p("replace my office background with a clean studio backdrop"),
            text("clean studio")
        );
        assert_eq!(p("Blur the background"), text("blur"));
        assert_eq!(p("remove the background"), text("transparent"));
        assert_eq!(
            p("use beach.jpg as the background"),
            Some(BackdropSource::Media("beach.jpg".into()))
        );
        assert_eq!(p("change the background to white."), text("white"));
        assert_eq!(p("make the background #1E90FF"), text("#1e90ff"));
        assert_eq!(
            p("make the background a gradient from navy to teal"),
            text("gradient from navy to teal")
        );
        assert_eq!(
            p("use /srv/pics/sky.png as the background"),
            Some(BackdropSource::Path("/srv/pics/sky.png".into()))
        );
        // Paths keep their case (mcp-hosts.md item 7).
        assert_eq!(
            p("Use ~/Pictures/Beach.JPG as the background"),
            Some(BackdropSource::Path("~/Pictures/Beach.JPG".into()))
        );
        assert_eq!(
            p("replace the background with /Srv/My Pics/Sky.PNG"),
            Some(BackdropSource::Path("/Srv/My Pics/Sky.PNG".into()))
        );
    }

    #[test]
    fn chinese_requests() {
        assert_eq!(p("把背景换成白色"), text("白色"));
        assert_eq!(p("背景虚化"), text("blur"));
        assert_eq!(p("去掉背景"), text("transparent"));
        assert_eq!(
            p("用beach.jpg作为背景"),
            Some(BackdropSource::Media("beach.jpg".into()))
        );
    }

    #[test]
    fn named_clip_and_unrelated_text() {
        let media = vec!["a.mp4".to_string(), "b.mp4".to_string()];
        let e = parse("blur the background of b.mp4", &media, &media).unwrap();
        assert_eq!(e.clip.as_deref(), Some("b.mp4"));
        assert_eq!(p("add some jazz music"), None);
        assert_eq!(p(""), None);
    }
}
