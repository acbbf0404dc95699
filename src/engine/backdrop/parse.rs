//! Free text → [`BackdropSpec`]: lowercase, Chinese words rewritten to English tokens, the
//! "replace my … background with" preamble and filler words dropped, then the remaining
//! words must all be understood (colours, `#RRGGBB`, kinds, modifiers, numbers). Anything
//! left over is an error that names it — never a silent default.

use super::BackdropSpec;
use super::names::{CHINESE, CHINESE_FILLER, COLOURS, FILLER, colour};

/// What the parser understands, for error messages.
pub const UNDERSTOOD: &str = "a colour name (white, black, grey, red, orange, yellow, green, teal, blue, navy, \
sky blue, purple, pink, beige, … or #RRGGBB), \"blur\"/\"bokeh\" (optionally \"light\"/\"strong\" or a strength \
1-100, e.g. \"blur 30\"), \"transparent\", \"green screen\", \"studio\" / \"dark studio\" (soft studio backdrop), \
\"gradient navy to teal\", \"sunset\", \"paper\" (warm neutral), or a path to an image (png, jpg, webp) or video \
(mp4, mov, webm, mkv, avi); Chinese works too: 白色 黑色 红色 绿色 蓝色 灰色 黄色 紫色 粉色, 绿幕, 透明, 模糊/虚化, 影棚, 渐变";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Blur,
    Transparent,
    GreenScreen,
    Studio,
    Gradient,
    Sunset,
    Paper,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Word {
    Kind(Kind),
    Colour((u8, u8, u8)),
    Dark,
    Light,
    Strong,
    Medium,
    Connector,
    Number(f32),
}

/// Phrases (token sequences joined by one space) that name a kind. Matched before colours,
/// so "green screen" is not the colour green.
const KINDS: &[(&str, Kind)] = &[
    ("green screen", Kind::GreenScreen),
    ("greenscreen", Kind::GreenScreen),
    ("chroma key green", Kind::GreenScreen),
    ("chroma key", Kind::GreenScreen),
    ("chromakey", Kind::GreenScreen),
    ("chroma green", Kind::GreenScreen),
    ("blur", Kind::Blur),
    ("blurred", Kind::Blur),
    ("blurry", Kind::Blur),
    ("blurring", Kind::Blur),
    ("bokeh", Kind::Blur),
    ("defocus", Kind::Blur),
    ("defocused", Kind::Blur),
    ("out of focus", Kind::Blur),
    ("depth of field", Kind::Blur),
    ("portrait mode", Kind::Blur),
    ("transparent", Kind::Transparent),
    ("transparency", Kind::Transparent),
    ("alpha", Kind::Transparent),
    ("alpha channel", Kind::Transparent),
    ("no background", Kind::Transparent),
    ("remove background", Kind::Transparent),
    ("remove the background", Kind::Transparent),
    ("cutout", Kind::Transparent),
    ("studio", Kind::Studio),
    ("photo studio", Kind::Studio),
    ("seamless", Kind::Studio),
    ("gradient", Kind::Gradient),
    ("gradients", Kind::Gradient),
    ("fade", Kind::Gradient),
    ("sunset", Kind::Sunset),
    ("dusk", Kind::Sunset),
    ("golden hour", Kind::Sunset),
    ("paper", Kind::Paper),
    ("warm neutral", Kind::Paper),
    ("neutral", Kind::Paper),
];

const DARK: &[&str] = &[
    "dark", "darker", "deep", "dim", "moody", "low key", "lowkey",
];
const LIGHT: &[&str] = &[
    "light", "lighter", "bright", "slight", "slightly", "soft", "subtle", "gentle", "mild",
    "little", "bit", "weak", "faint", "high key", "highkey",
];
const STRONG: &[&str] = &[
    "strong", "stronger", "heavy", "heavily", "max", "maximum", "extra", "intense", "lots", "very",
    "more", "much", "full", "big", "huge",
];
const MEDIUM: &[&str] = &["medium", "moderate", "normal", "regular"];
const CONNECTORS: &[&str] = &["to", "and", "into", "then", "from", "->", "→"];

/// Default blur strength (1..100) and its light/strong variants.
pub const BLUR_DEFAULT: f32 = 40.0;
const BLUR_LIGHT: f32 = 20.0;
const BLUR_STRONG: f32 = 70.0;

/// Parse a description that is not a file path.
pub fn parse(text: &str) -> Result<BackdropSpec, String> {
    let mut s = text.trim().to_lowercase();
    if s.is_empty() {
        return Err(format!(
            "the description is empty; say what to put behind the person: {UNDERSTOOD}"
        ));
    }
    for (zh, en) in CHINESE {
        if s.contains(zh) {
            s = s.replace(zh, &format!(" {en} "));
        }
    }
    for zh in CHINESE_FILLER {
        s = s.replace(zh, " ");
    }
    let mut tokens = tokenize(&s);
    drop_preamble(&mut tokens);

    let mut words = Vec::new();
    let mut unknown = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some((w, used)) = match_at(&tokens[i..]) {
            words.push(w);
            i += used;
            continue;
        }
        let t = tokens[i].as_str();
        if !FILLER.contains(&t) {
            unknown.push(t.to_string());
        }
        i += 1;
    }
    if !unknown.is_empty() {
        return Err(format!(
            "did not understand {}; understood are: {UNDERSTOOD}",
            unknown
                .iter()
                .map(|u| format!("{u:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    decide(&words)
}

fn tokenize(s: &str) -> Vec<String> {
    let s = s.replace("->", " -> ").replace('→', " → ");
    s.split(|c: char| {
        !(c.is_alphanumeric()
            || c == '#'
            || c == '.'
            || c == '%'
            || c == '\''
            || c == '-'
            || c == '>'
            || c == '→')
    })
    .flat_map(|t| {
        // Hyphens join words ("navy-teal", "off-white"): split them unless the token is
        // an arrow or a negative number.
        if t == "->" || t.starts_with('-') && t[1..].parse::<f32>().is_ok() {
            vec![t.to_string()]
        } else {
            t.split('-').map(str::to_string).collect()
        }
    })
    .map(|t| t.trim_matches(|c| c == '.' || c == '\'').to_string())
    .filter(|t| !t.is_empty())
    .collect()
}

/// "replace my office background with …", "change the backdrop to …", "set background to …":
/// everything up to the preposition after the first "background"/"backdrop" describes the old
/// background (or is a verb), so it is dropped.
fn drop_preamble(tokens: &mut Vec<String>) {
    const VERBS: &[&str] = &[
        "replace", "change", "swap", "switch", "turn", "set", "make", "put", "use", "give",
    ];
    if !tokens.first().is_some_and(|t| VERBS.contains(&t.as_str())) {
        return;
    }
    let bg = tokens.iter().position(|t| {
        matches!(
            t.as_str(),
            "background" | "backdrop" | "bg" | "backgrounds" | "it"
        )
    });
    if let Some(bg) = bg
        && let Some(off) = tokens[bg + 1..]
            .iter()
            .position(|t| matches!(t.as_str(), "with" | "to" | "into" | "for" | "as" | "by"))
    {
        tokens.drain(..bg + 1 + off + 1);
    }
}

/// The longest phrase starting at `tokens[0]`: kinds, colours, modifiers (up to 3 tokens).
fn match_at(tokens: &[String]) -> Option<(Word, usize)> {
    for len in (1..=tokens.len().min(3)).rev() {
        let phrase = tokens[..len].join(" ");
        if let Some(w) = word(&phrase) {
            return Some((w, len));
        }
        // "navyblue", "off white" written together.
        if len > 1 {
            if let Some(rgb) = colour(&phrase.replace(' ', "")) {
                return Some((Word::Colour(rgb), len));
            }
            if let Some(&(_, k)) = KINDS
                .iter()
                .find(|(n, _)| n.replace(' ', "") == phrase.replace(' ', ""))
            {
                return Some((Word::Kind(k), len));
            }
        }
    }
    None
}

fn word(p: &str) -> Option<Word> {
    if let Some(&(_, k)) = KINDS.iter().find(|(n, _)| *n == p) {
        return Some(Word::Kind(k));
    }
    if let Some(rgb) = colour(p) {
        return Some(Word::Colour(rgb));
    }
    if let Some(rgb) = COLOURS
        .iter()
        .find(|(n, ..)| n.replace(' ', "") == p)
        .map(|&(_, r, g, b)| (r, g, b))
    {
        return Some(Word::Colour(rgb));
    }
    if let Some(rgb) = hex(p) {
        return Some(Word::Colour(rgb));
    }
    if DARK.contains(&p) {
        return Some(Word::Dark);
    }
    if LIGHT.contains(&p) {
        return Some(Word::Light);
    }
    if STRONG.contains(&p) {
        return Some(Word::Strong);
    }
    if MEDIUM.contains(&p) {
        return Some(Word::Medium);
    }
    if CONNECTORS.contains(&p) {
        return Some(Word::Connector);
    }
    if let Ok(n) = p.trim_end_matches('%').parse::<f32>()
        && n.is_finite()
    {
        return Some(Word::Number(n));
    }
    None
}

/// `#RRGGBB` or `#RGB`.
pub fn hex(p: &str) -> Option<(u8, u8, u8)> {
    let h = p.strip_prefix('#')?;
    if !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let v = |s: &str| u8::from_str_radix(s, 16).ok();
    match h.len() {
        6 => Some((v(&h[0..2])?, v(&h[2..4])?, v(&h[4..6])?)),
        3 => {
            let d = |i: usize| v(&h[i..i + 1]).map(|x| x * 17);
            Some((d(0)?, d(1)?, d(2)?))
        }
        _ => None,
    }
}

fn decide(words: &[Word]) -> Result<BackdropSpec, String> {
    let mut kinds: Vec<Kind> = words
        .iter()
        .filter_map(|w| {
            if let Word::Kind(k) = w {
                Some(*k)
            } else {
                None
            }
        })
        .collect();
    kinds.dedup();
    let colours: Vec<(u8, u8, u8)> = words
        .iter()
        .filter_map(|w| {
            if let Word::Colour(c) = w {
                Some(*c)
            } else {
                None
            }
        })
        .collect();
    let numbers: Vec<f32> = words
        .iter()
        .filter_map(|w| {
            if let Word::Number(n) = w {
                Some(*n)
            } else {
                None
            }
        })
        .collect();
    let has = |x: Word| words.contains(&x);
    let dark = has(Word::Dark);
    let light = has(Word::Light);

    if kinds.len() > 1 {
        return Err(format!(
            "asks for several backdrops at once ({}); pick one of: {UNDERSTOOD}",
            kinds
                .iter()
                .map(|k| format!("{k:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let no_colours = |what: &str| -> Result<(), String> {
        if colours.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{what} takes no colour; for a colour say just the colour, e.g. \"navy\""
            ))
        }
    };
    let no_numbers = |what: &str| -> Result<(), String> {
        if numbers.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{what} takes no number; only blur has a strength (\"blur 30\")"
            ))
        }
    };
    match kinds.first() {
        Some(Kind::Blur) => {
            no_colours("blur")?;
            let strength = match numbers.as_slice() {
                [] if has(Word::Strong) => BLUR_STRONG,
                [] if light => BLUR_LIGHT,
                [] => BLUR_DEFAULT,
                [n] if (1.0..=100.0).contains(n) => *n,
                [n] => {
                    return Err(format!(
                        "blur strength {n} is out of range; use 1 (faint) to 100 (very strong), e.g. \"blur 30\""
                    ));
                }
                _ => return Err("blur takes one strength, e.g. \"blur 30\"".into()),
            };
            Ok(BackdropSpec::Blur { strength })
        }
        Some(Kind::Transparent) => {
            no_colours("transparent")?;
            no_numbers("transparent")?;
            Ok(BackdropSpec::Transparent)
        }
        Some(Kind::GreenScreen) => {
            no_colours("green screen")?;
            no_numbers("green screen")?;
            Ok(BackdropSpec::GreenScreen)
        }
        Some(Kind::Studio) => {
            no_numbers("studio")?;
            let mut is_dark = dark;
            for &c in &colours {
                let spread = c.0.max(c.1).max(c.2) - c.0.min(c.1).min(c.2);
                if spread > 40 {
                    return Err("the studio backdrop comes in light (\"studio\", \"white studio\") or dark (\"dark studio\"); for a coloured backdrop name the colour alone".into());
                }
                if luma(c) < 0.5 {
                    is_dark = true;
                }
            }
            Ok(BackdropSpec::Studio { dark: is_dark })
        }
        Some(Kind::Gradient) => {
            no_numbers("gradient")?;
            match colours.as_slice() {
                [a, b] => Ok(BackdropSpec::Gradient { from: *a, to: *b }),
                [a] => Ok(BackdropSpec::Gradient { from: *a, to: shade(*a, 0.55) }),
                [] => Err("a gradient needs its colours, e.g. \"gradient navy to teal\" or \"渐变 蓝色到紫色\"".into()),
                _ => Err("a gradient takes two colours, e.g. \"gradient navy to teal\"".into()),
            }
        }
        Some(Kind::Sunset) => {
            no_colours("sunset")?;
            no_numbers("sunset")?;
            Ok(BackdropSpec::Sunset)
        }
        Some(Kind::Paper) => {
            no_colours("paper")?;
            no_numbers("paper")?;
            Ok(BackdropSpec::Paper)
        }
        None => {
            no_numbers("a colour")?;
            match colours.as_slice() {
                [c] => Ok(BackdropSpec::Color {
                    r: adjust(*c, dark, light).0,
                    g: adjust(*c, dark, light).1,
                    b: adjust(*c, dark, light).2,
                }),
                [a, b] if has(Word::Connector) => Ok(BackdropSpec::Gradient { from: *a, to: *b }),
                [] => Err(format!("names no backdrop; understood are: {UNDERSTOOD}")),
                _ => Err("names several colours; for a blend say \"gradient navy to teal\", else pick one colour".into()),
            }
        }
    }
}

fn luma((r, g, b): (u8, u8, u8)) -> f32 {
    (0.2126 * r as f32 + 0.7152 * g as f32 + 0.0722 * b as f32) / 255.0
}

/// Mix toward black by `k` (0..1).
fn shade((r, g, b): (u8, u8, u8), k: f32) -> (u8, u8, u8) {
    let f = |v: u8| (v as f32 * (1.0 - k)).round() as u8;
    (f(r), f(g), f(b))
}

/// Mix toward white by `k` (0..1).
fn tint((r, g, b): (u8, u8, u8), k: f32) -> (u8, u8, u8) {
    let f = |v: u8| (v as f32 + (255.0 - v as f32) * k).round() as u8;
    (f(r), f(g), f(b))
}

/// "dark pink", "light orange": a modifier on a colour that has no own name.
fn adjust(c: (u8, u8, u8), dark: bool, light: bool) -> (u8, u8, u8) {
    match (dark, light) {
        (true, false) => shade(c, 0.4),
        (false, true) => tint(c, 0.45),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(t: &str) -> BackdropSpec {
        parse(t).unwrap_or_else(|e| panic!("{t:?}: {e}"))
    }

    fn color(r: u8, g: u8, b: u8) -> BackdropSpec {
        BackdropSpec::Color { r, g, b }
    }

    #[test]
    fn english_colours() {
        assert_eq!(ok("white"), color(255, 255, 255));
        assert_eq!(ok("  WHITE  "), color(255, 255, 255));
        assert_eq!(ok("a plain white background"), color(255, 255, 255));
        assert_eq!(ok("navy blue"), color(0, 0, 128));
        assert_eq!(ok("navyblue"), color(0, 0, 128));
        assert_eq!(ok("sky-blue backdrop"), color(135, 206, 235));
        assert_eq!(ok("grey"), ok("gray"));
        assert_eq!(ok("dark grey"), color(64, 64, 64));
        assert_eq!(ok("off-white"), color(250, 249, 246));
        assert_eq!(ok("#1E90FF"), color(30, 144, 255));
        assert_eq!(ok("#fff"), color(255, 255, 255));
        assert_eq!(
            ok("use a solid #112233 background"),
            color(0x11, 0x22, 0x33)
        );
        assert_eq!(ok("change the background to red"), color(255, 0, 0));
        assert_eq!(
            ok("replace my office background with teal"),
            color(0, 128, 128)
        );
        // A modifier on a colour without a named variant.
        assert_eq!(ok("dark pink"), color(153, 115, 122));
    }

    #[test]
    fn chinese_colours() {
        assert_eq!(ok("白色"), color(255, 255, 255));
        assert_eq!(ok("把背景换成白色"), color(255, 255, 255));
        assert_eq!(ok("背景换成黑色"), color(0, 0, 0));
        assert_eq!(ok("红色背景"), color(255, 0, 0));
        assert_eq!(ok("请用纯绿色的背景"), color(0, 128, 0));
        assert_eq!(ok("蓝色"), color(0, 0, 255));
        assert_eq!(ok("灰色"), color(128, 128, 128));
        assert_eq!(ok("黄色"), color(255, 255, 0));
        assert_eq!(ok("紫色"), color(128, 0, 128));
        assert_eq!(ok("粉色"), color(255, 192, 203));
        assert_eq!(ok("把背景改为天蓝色"), color(135, 206, 235));
    }

    #[test]
    fn kinds() {
        assert_eq!(ok("transparent"), BackdropSpec::Transparent);
        assert_eq!(
            ok("make the background transparent"),
            BackdropSpec::Transparent
        );
        assert_eq!(ok("透明"), BackdropSpec::Transparent);
        assert_eq!(ok("背景透明"), BackdropSpec::Transparent);
        assert_eq!(ok("green screen"), BackdropSpec::GreenScreen);
        assert_eq!(ok("Greenscreen"), BackdropSpec::GreenScreen);
        assert_eq!(ok("chroma key green"), BackdropSpec::GreenScreen);
        assert_eq!(ok("绿幕"), BackdropSpec::GreenScreen);
        assert_eq!(ok("换成绿幕"), BackdropSpec::GreenScreen);
        assert_eq!(ok("sunset"), BackdropSpec::Sunset);
        assert_eq!(ok("夕阳"), BackdropSpec::Sunset);
        assert_eq!(ok("warm neutral paper"), BackdropSpec::Paper);
    }

    #[test]
    fn blur_and_strength() {
        let blur = |s: f32| BackdropSpec::Blur { strength: s };
        assert_eq!(ok("blur"), blur(BLUR_DEFAULT));
        assert_eq!(ok("bokeh"), blur(BLUR_DEFAULT));
        assert_eq!(ok("blur the background"), blur(BLUR_DEFAULT));
        assert_eq!(ok("blur 30"), blur(30.0));
        assert_eq!(ok("blur: 75%"), blur(75.0));
        assert_eq!(ok("strong blur"), blur(BLUR_STRONG));
        assert_eq!(ok("heavy bokeh"), blur(BLUR_STRONG));
        assert_eq!(ok("a slight blur"), blur(BLUR_LIGHT));
        assert_eq!(ok("背景虚化"), blur(BLUR_DEFAULT));
        assert_eq!(ok("模糊"), blur(BLUR_DEFAULT));
        assert_eq!(ok("背景模糊 强"), blur(BLUR_STRONG));
        assert_eq!(ok("轻微虚化"), blur(BLUR_LIGHT));
        assert!(parse("blur 500").unwrap_err().contains("1 (faint) to 100"));
    }

    #[test]
    fn studio_presets() {
        let light = BackdropSpec::Studio { dark: false };
        let dark = BackdropSpec::Studio { dark: true };
        assert_eq!(ok("clean studio backdrop"), light);
        assert_eq!(
            ok("replace my office background with a clean studio backdrop"),
            light
        );
        assert_eq!(ok("studio"), light);
        assert_eq!(ok("white studio"), light);
        assert_eq!(ok("light studio background"), light);
        assert_eq!(ok("dark studio"), dark);
        assert_eq!(ok("black studio backdrop"), dark);
        assert_eq!(ok("影棚"), light);
        assert_eq!(ok("摄影棚背景"), light);
        assert_eq!(ok("深色影棚"), dark);
        assert!(parse("red studio").is_err());
    }

    #[test]
    fn gradients() {
        let g = |from, to| BackdropSpec::Gradient { from, to };
        let (navy, teal) = ((0, 0, 128), (0, 128, 128));
        assert_eq!(ok("gradient navy to teal"), g(navy, teal));
        assert_eq!(ok("navy to teal gradient"), g(navy, teal));
        assert_eq!(ok("a navy-teal gradient"), g(navy, teal));
        assert_eq!(ok("navy → teal"), g(navy, teal));
        assert_eq!(ok("gradient from #000080 to #008080"), g(navy, teal));
        assert_eq!(ok("渐变 蓝色到紫色"), g((0, 0, 255), (128, 0, 128)));
        assert_eq!(ok("从蓝色到紫色的渐变"), g((0, 0, 255), (128, 0, 128)));
        assert_eq!(ok("blue gradient"), g((0, 0, 255), (0, 0, 115)));
        assert!(parse("gradient").unwrap_err().contains("navy to teal"));
    }

    #[test]
    fn unknown_text_is_an_error_that_lists_what_is_understood() {
        for t in [
            "a beach in hawaii",
            "office",
            "mountain lake",
            "星空",
            "",
            "   ",
            "blue beach",
        ] {
            let e = parse(t).unwrap_err();
            assert!(
                e.contains("green screen") || e.contains("empty"),
                "{t:?}: {e}"
            );
        }
        let e = parse("a tropical beach").unwrap_err();
        assert!(e.contains("\"tropical\"") && e.contains("\"beach\""), "{e}");
        assert!(parse("blur transparent").unwrap_err().contains("several"));
        assert!(parse("red blue").unwrap_err().contains("several colours"));
        assert!(parse("#12345").is_err());
    }
}
