//! Small readers of the user's words, English and Chinese: quoted text, numbers (also 二, 十五,
//! 百分之三十五), durations and clock times ("2 seconds", "0:05", "前3秒"), percentages,
//! aspect ratios ("9:16", "竖屏") and clip names (by file name or by its stem, "the intro").

/// Texts in quotes, in the original case, with `masked` = the message with each quoted span
/// replaced by spaces-free placeholder `"…"` so keywords inside a title are not read as
/// commands.
pub struct Quoted {
    pub quotes: Vec<String>,
    pub masked: String,
}

const QUOTES: &[(char, char)] = &[
    ('"', '"'),
    ('\'', '\''),
    ('“', '”'),
    ('‘', '’'),
    ('「', '」'),
    ('『', '』'),
    ('《', '》'),
    ('«', '»'),
];

/// Pull out quoted spans. An apostrophe inside a word ("it's") is not a quote.
pub fn quoted(text: &str) -> Quoted {
    let chars: Vec<char> = text.chars().collect();
    let mut quotes = Vec::new();
    let mut masked = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pair = QUOTES.iter().find(|(open, _)| *open == c);
        let word_inner = c == '\''
            && i > 0
            && chars[i - 1].is_alphanumeric()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if let Some(&(_, close)) = pair
            && !word_inner
            && let Some(end) = (i + 1..chars.len()).find(|&j| {
                chars[j] == close
                    && !(close == '\''
                        && chars.get(j + 1).is_some_and(|n| n.is_alphanumeric())
                        && chars[j - 1].is_alphanumeric())
            })
        {
            let inner: String = chars[i + 1..end].iter().collect();
            if !inner.trim().is_empty() {
                quotes.push(inner.trim().to_string());
                masked.push_str(" \"…\" ");
                i = end + 1;
                continue;
            }
        }
        masked.push(c);
        i += 1;
    }
    Quoted { quotes, masked }
}

/// Lowercase ASCII only: byte offsets stay valid and CJK is untouched.
pub fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

pub fn has_cjk(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c as u32, 0x3400..=0x9FFF | 0xF900..=0xFAFF))
}

pub fn any(s: &str, keys: &[&str]) -> bool {
    keys.iter().any(|k| s.contains(k))
}

/// A Chinese numeral up to 99 (一, 二/两, 十, 十五, 二十, 三十五).
fn zh_number(s: &str) -> Option<(f64, usize)> {
    let digit = |c: char| -> Option<u32> {
        Some(match c {
            '零' => 0,
            '一' => 1,
            '二' | '两' => 2,
            '三' => 3,
            '四' => 4,
            '五' => 5,
            '六' => 6,
            '七' => 7,
            '八' => 8,
            '九' => 9,
            _ => return None,
        })
    };
    let mut chars = s.char_indices().peekable();
    let mut value = 0u32;
    let mut seen = false;
    let mut end = 0;
    let mut cur: Option<u32> = None;
    while let Some(&(i, c)) = chars.peek() {
        if let Some(d) = digit(c) {
            cur = Some(d);
            seen = true;
        } else if c == '十' {
            value += cur.unwrap_or(1) * 10;
            cur = None;
            seen = true;
        } else if c == '半' && seen {
            end = i + c.len_utf8();
            return Some((f64::from(value + cur.unwrap_or(0)) + 0.5, end));
        } else {
            break;
        }
        end = i + c.len_utf8();
        chars.next();
    }
    seen.then(|| (f64::from(value + cur.unwrap_or(0)), end))
}

/// A number at the start of `s` (digits with an optional decimal part, or a Chinese
/// numeral); its value and byte length.
pub fn number_at(s: &str) -> Option<(f64, usize)> {
    let bytes = s.as_bytes();
    let mut end = 0;
    while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
        end += 1;
    }
    while end > 0 && bytes[end - 1] == b'.' {
        end -= 1;
    }
    if end > 0 {
        return s[..end].parse().ok().map(|v| (v, end));
    }
    zh_number(s)
}

/// Every number in `s` with its byte range, English words one…twenty too.
pub fn numbers(s: &str) -> Vec<(f64, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if !s.is_char_boundary(i) {
            i += 1;
            continue;
        }
        if let Some((v, n)) = number_at(&s[i..]) {
            let prev_digit = i > 0 && s.as_bytes()[i - 1].is_ascii_digit();
            if !prev_digit {
                out.push((v, i, i + n));
            }
            i += n.max(1);
            continue;
        }
        i += 1;
    }
    const WORDS: &[(&str, f64)] = &[
        ("one", 1.0),
        ("two", 2.0),
        ("three", 3.0),
        ("four", 4.0),
        ("five", 5.0),
        ("six", 6.0),
        ("seven", 7.0),
        ("eight", 8.0),
        ("nine", 9.0),
        ("ten", 10.0),
        ("fifteen", 15.0),
        ("twenty", 20.0),
        ("thirty", 30.0),
        ("half a", 0.5),
    ];
    for (w, v) in WORDS {
        let mut from = 0;
        while let Some(p) = s[from..].find(w) {
            let at = from + p;
            let end = at + w.len();
            let before = s[..at].chars().next_back();
            let after = s[end..].chars().next();
            if !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
            {
                out.push((*v, at, end));
            }
            from = end;
        }
    }
    out.sort_by_key(|&(_, a, _)| a);
    out
}

/// Seconds written as a clock time at the start of `s`: "0:05", "1:02:03", "0:05.5".
pub fn clock_at(s: &str) -> Option<(f64, usize)> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if i == start {
            return None;
        }
        parts.push(s[start..i].parse::<f64>().ok()?);
        if i < bytes.len() && bytes[i] == b':' && parts.len() < 3 {
            i += 1;
            continue;
        }
        break;
    }
    if parts.len() < 2 {
        return None;
    }
    let secs = parts.iter().fold(0.0, |acc, p| acc * 60.0 + p);
    Some((secs, i))
}

/// Every time in `s`, in seconds, with its byte range: clock times ("0:05") and numbers
/// followed by a unit (s, sec, second(s), 秒, min, minute(s), 分钟, ms).
pub fn times(s: &str) -> Vec<(f64, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if !s.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let prev_digit = i > 0 && s.as_bytes()[i - 1].is_ascii_digit();
        if !prev_digit && let Some((v, n)) = clock_at(&s[i..]) {
            out.push((v, i, i + n));
            i += n;
            continue;
        }
        i += 1;
    }
    for (v, a, b) in numbers(s) {
        if out.iter().any(|&(_, x, y)| a < y && b > x) {
            continue;
        }
        let rest = s[b..].trim_start();
        let gap = s.len() - b - rest.len();
        let units: &[(&str, f64)] = &[
            ("ms", 0.001),
            ("milliseconds", 0.001),
            ("minutes", 60.0),
            ("minute", 60.0),
            ("mins", 60.0),
            ("min", 60.0),
            ("分钟", 60.0),
            ("seconds", 1.0),
            ("second", 1.0),
            ("secs", 1.0),
            ("sec", 1.0),
            ("s", 1.0),
            ("秒钟", 1.0),
            ("秒", 1.0),
        ];
        for (u, k) in units {
            if let Some(after) = rest.strip_prefix(u)
                && !after
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
            {
                out.push((v * k, a, b + gap + u.len()));
                break;
            }
        }
    }
    out.sort_by_key(|&(_, a, _)| a);
    out
}

/// A span of time written as its two ends: "from 0:02 to 0:05", "0:02-0:05", "2 to 5
/// seconds", "between 2 and 5 s", "第2到5秒", "2至5秒": (start, end) in s and the byte range
/// it covers. A bare first number takes the unit of the second ("2 to 5 seconds").
pub fn span(s: &str) -> Option<(f64, f64, usize, usize)> {
    const JOIN: &[&str] = &["to", "until", "till", "and", "-", "–", "—", "~", "到", "至"];
    let joined = |gap: &str| JOIN.contains(&gap.trim());
    let ts = times(s);
    for w in ts.windows(2) {
        let ((a, x0, x1), (b, y0, y1)) = (w[0], w[1]);
        if joined(&s[x1..y0]) && b > a {
            return Some((a, b, x0, y1));
        }
    }
    let nums = numbers(s);
    for &(b, y0, y1) in &ts {
        // The unit of the second end, as a factor of its number ("5 min" → 60).
        let unit = numbers(&s[y0..y1])
            .first()
            .filter(|n| n.0 > 0.0)
            .map_or(1.0, |n| b / n.0);
        for &(a, x0, x1) in &nums {
            let in_time = ts.iter().any(|&(_, t0, t1)| x0 < t1 && x1 > t0);
            if x1 <= y0 && !in_time && joined(&s[x1..y0]) && b > a * unit {
                return Some((a * unit, b, x0, y1));
            }
        }
    }
    None
}

/// A percentage: "35%", "35 %", "35 percent", "百分之三十五", "音量35", "volume 35", "35％".
pub fn percent(s: &str) -> Option<f64> {
    if let Some(p) = s.find("百分之")
        && let Some((v, _)) = number_at(&s[p + "百分之".len()..])
    {
        return Some(v);
    }
    for (v, _, b) in numbers(s) {
        let rest = s[b..].trim_start();
        if rest.starts_with('%') || rest.starts_with('％') || rest.starts_with("percent") {
            return Some(v);
        }
    }
    for key in ["volume to ", "volume at ", "volume of ", "volume ", "音量"] {
        if let Some(p) = s.find(key) {
            let rest = s[p + key.len()..].trim_start();
            let rest = rest
                .strip_prefix("to ")
                .or_else(|| rest.strip_prefix("为"))
                .or_else(|| rest.strip_prefix("调到"))
                .or_else(|| rest.strip_prefix("设为"))
                .or_else(|| rest.strip_prefix("是"))
                .unwrap_or(rest)
                .trim_start();
            if let Some((v, _)) = number_at(rest)
                && v <= 200.0
            {
                return Some(if v <= 1.0 && rest.contains('.') {
                    v * 100.0
                } else {
                    v
                });
            }
        }
    }
    None
}

/// An aspect ratio: "9:16", "9 by 16", "9x16", "16比9", or words ("vertical", "竖屏",
/// "square", "横屏"). Only ratios between 1:3 and 3:1 with parts up to 32.
pub fn ratio(s: &str) -> Option<(u32, u32)> {
    let bytes = s.as_bytes();
    for (v, a, b) in numbers(s) {
        if v.fract() != 0.0 || !(1.0..=32.0).contains(&v) {
            continue;
        }
        let _ = a;
        let rest = &s[b..];
        let trimmed = rest.trim_start();
        for sep in [":", "：", "x", "×", "/", "by", "比"] {
            if let Some(after) = trimmed.strip_prefix(sep) {
                let after_t = after.trim_start();
                if let Some((w2, _)) = number_at(after_t)
                    && w2.fract() == 0.0
                    && (1.0..=32.0).contains(&w2)
                {
                    // "0:05"-style clock times are not ratios.
                    if sep == ":" && after_t.len() >= 2 && after_t.as_bytes()[0] == b'0' {
                        continue;
                    }
                    let (x, y) = (v as u32, w2 as u32);
                    let r = f64::from(x) / f64::from(y);
                    if (1.0 / 3.0..=3.0).contains(&r) {
                        return Some((x, y));
                    }
                }
            }
        }
    }
    let _ = bytes;
    const WORDS: &[(&str, (u32, u32))] = &[
        ("vertical", (9, 16)),
        ("portrait", (9, 16)),
        ("tiktok", (9, 16)),
        ("reels", (9, 16)),
        ("shorts", (9, 16)),
        ("竖屏", (9, 16)),
        ("竖版", (9, 16)),
        ("竖向", (9, 16)),
        ("抖音", (9, 16)),
        ("square", (1, 1)),
        ("正方形", (1, 1)),
        ("方形", (1, 1)),
        ("方屏", (1, 1)),
        ("horizontal", (16, 9)),
        ("landscape", (16, 9)),
        ("widescreen", (16, 9)),
        ("横屏", (16, 9)),
        ("横版", (16, 9)),
        ("横向", (16, 9)),
        ("宽屏", (16, 9)),
    ];
    WORDS.iter().find(|(w, _)| s.contains(w)).map(|(_, r)| *r)
}

/// True when `name` occurs in `s` as a whole word (ASCII letters/digits do not continue it).
fn whole_word(s: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(p) = s[from..].find(name) {
        let at = from + p;
        let end = at + name.len();
        let before = s[..at].chars().next_back();
        let after = s[end..].chars().next();
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return true;
        }
        from = end;
    }
    false
}

/// File names from `names` that `lower_text` mentions, by full name or by stem ("intro" for
/// intro.mp4), with where the mention starts; in order of mention.
pub fn mentioned(lower_text: &str, names: &[String]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for n in names {
        let ln = lower(n);
        let stem = match ln.rsplit_once('.') {
            Some((s, _)) if !s.is_empty() => s.to_string(),
            _ => ln.clone(),
        };
        let pos = lower_text.find(&ln).or_else(|| {
            (stem.chars().count() >= 2 && whole_word(lower_text, &stem))
                .then(|| lower_text.find(&stem))
                .flatten()
        });
        if let Some(p) = pos
            && !out.iter().any(|(m, _)| m == n)
        {
            out.push((n.clone(), p));
        }
    }
    out.sort_by_key(|&(_, p)| p);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_keep_case_and_mask() {
        let q = quoted("add the title 'Urban Dreams' at the top");
        assert_eq!(q.quotes, vec!["Urban Dreams"]);
        assert!(!q.masked.contains("Urban"));
        let q = quoted("加上标题「城市之梦」");
        assert_eq!(q.quotes, vec!["城市之梦"]);
        let q = quoted("it's a title called \"Top Chef\"");
        assert_eq!(q.quotes, vec!["Top Chef"]);
    }

    #[test]
    fn numbers_times_percentages() {
        assert_eq!(number_at("35%"), Some((35.0, 2)));
        assert_eq!(number_at("三十五").map(|x| x.0), Some(35.0));
        assert_eq!(number_at("两").map(|x| x.0), Some(2.0));
        assert_eq!(number_at("十").map(|x| x.0), Some(10.0));
        let t: Vec<f64> = times("keep 0:05-0:12").iter().map(|x| x.0).collect();
        assert_eq!(t, vec![5.0, 12.0]);
        let t: Vec<f64> = times("cut the first 2 seconds")
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(t, vec![2.0]);
        let t: Vec<f64> = times("剪掉前两秒").iter().map(|x| x.0).collect();
        assert_eq!(t, vec![2.0]);
        let t: Vec<f64> = times("for the first three seconds")
            .iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(t, vec![3.0]);
        let t: Vec<f64> = times("from 2.5s to 4s").iter().map(|x| x.0).collect();
        assert_eq!(t, vec![2.5, 4.0]);
        assert_eq!(percent("add lo-fi music at 35%"), Some(35.0));
        assert_eq!(percent("音量百分之三十五"), Some(35.0));
        assert_eq!(percent("音量35"), Some(35.0));
        assert_eq!(percent("set the volume to 20"), Some(20.0));
        assert_eq!(percent("add music"), None);
    }

    #[test]
    fn ratios() {
        assert_eq!(ratio("make it 9:16"), Some((9, 16)));
        assert_eq!(ratio("改成9：16"), Some((9, 16)));
        assert_eq!(ratio("4:5 for instagram"), Some((4, 5)));
        assert_eq!(ratio("make it square"), Some((1, 1)));
        assert_eq!(ratio("改成竖屏"), Some((9, 16)));
        assert_eq!(ratio("keep 0:05 to 0:12"), None);
        assert_eq!(ratio("16 by 9"), Some((16, 9)));
    }

    #[test]
    fn clip_mentions() {
        let names = vec!["intro.mp4".to_string(), "Outro.MP4".to_string()];
        let m = mentioned("put outro.mp4 first", &names);
        assert_eq!(m[0].0, "Outro.MP4");
        let m = mentioned("remove the intro", &names);
        assert_eq!(m[0].0, "intro.mp4");
        assert!(mentioned("introduce a title", &names).is_empty());
    }

    #[test]
    fn spans_of_time() {
        for (text, want) in [
            ("music from 0:02 to 0:05", (2.0, 5.0)),
            ("play it 0:02-0:05", (2.0, 5.0)),
            ("from 2 to 5 seconds", (2.0, 5.0)),
            ("between 2 and 5 s", (2.0, 5.0)),
            ("只在第2到5秒放音乐", (2.0, 5.0)),
            ("在2至5秒", (2.0, 5.0)),
            ("from 1 to 2 minutes", (60.0, 120.0)),
        ] {
            let (a, b, _, _) = span(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((a, b), want, "{text}");
        }
        for text in ["fade in 1 s, fade out 2 s", "at 35%", "the first 3 seconds"] {
            assert_eq!(span(text), None, "{text}");
        }
    }
}
