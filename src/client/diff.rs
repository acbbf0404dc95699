//! What an agent turn changed in the draft, in words, for turns that end with no text (and
//! for recovery after a disconnect). Knows the embedded backend's segment keys (`m.bg_desc`,
//! `m.vol`, `m.text`, … see `api/draft.rs`) and treats anything else generically: tracks and
//! segments added or removed, keys that changed.

use serde_json::{Map, Value};

use crate::api::{Draft, Segment, Track, TrackType};

/// Human-readable changes from `before` to `after`; empty when nothing changed.
pub fn describe_changes(before: Option<&Draft>, after: Option<&Draft>) -> Vec<String> {
    let empty = Draft::default();
    let before = before.unwrap_or(&empty);
    let after = after.unwrap_or(&empty);
    if before == after {
        return Vec::new();
    }
    let mut out = Vec::new();
    let n = before.t.len().max(after.t.len());
    for i in 0..n {
        match (before.t.get(i), after.t.get(i)) {
            (None, Some(t)) => {
                out.push(format!("added {} track", a_kind(t.kind())));
                for s in &t.sg {
                    out.push(format!("{}: added{}", seg_label(t, s, 0), span(s)));
                }
            }
            (Some(t), None) => out.push(format!(
                "removed {} track ({} segments)",
                a_kind(t.kind()),
                t.sg.len()
            )),
            (Some(a), Some(b)) => track_changes(a, b, &mut out),
            (None, None) => {}
        }
    }
    let ratio = |d: &Draft| {
        d.extra
            .get("canvas")
            .and_then(|c| c.get("ratio"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (mut be, mut ae) = (before.extra.clone(), after.extra.clone());
    if ratio(before) != ratio(after) {
        out.push(match ratio(after) {
            Some(r) => format!("aspect ratio set to {r}"),
            None => "aspect ratio back to the clips' own".to_string(),
        });
        be.remove("canvas");
        ae.remove("canvas");
    }
    key_changes("timeline", &be, &ae, &mut out);
    if out.is_empty() {
        out.push("the timeline changed".into());
    }
    out
}

fn track_changes(a: &Track, b: &Track, out: &mut Vec<String>) {
    if a.tt != b.tt {
        out.push(format!(
            "{} track became {} track",
            a_kind(a.kind()),
            a_kind(b.kind())
        ));
    }
    // Segments pair up by id when both carry ids, else by position.
    let keyed = |s: &Segment, i: usize| s.id.clone().unwrap_or_else(|| format!("#{i}"));
    let before: Vec<(String, &Segment)> =
        a.sg.iter()
            .enumerate()
            .map(|(i, s)| (keyed(s, i), s))
            .collect();
    let after: Vec<(String, &Segment)> =
        b.sg.iter()
            .enumerate()
            .map(|(i, s)| (keyed(s, i), s))
            .collect();
    for (i, (key, old)) in before.iter().enumerate() {
        match after.iter().find(|(k, _)| k == key) {
            Some((_, new)) => segment_changes(b, old, new, i, out),
            None => out.push(format!("{}: removed", seg_label(a, old, i))),
        }
    }
    for (i, (key, new)) in after.iter().enumerate() {
        if !before.iter().any(|(k, _)| k == key) {
            out.push(format!("{}: added{}", seg_label(b, new, i), span(new)));
        }
    }
    key_changes(
        &format!("{} track", kind_name(b.kind())),
        &a.extra,
        &b.extra,
        out,
    );
}

fn segment_changes(track: &Track, old: &Segment, new: &Segment, i: usize, out: &mut Vec<String>) {
    if old == new {
        return;
    }
    let label = seg_label(track, new, i);
    let mut what = Vec::new();
    let mut keys: Vec<&String> = old.m.keys().chain(new.m.keys()).collect();
    keys.sort();
    keys.dedup();
    let bg_described = new.m.get("bg_desc") != old.m.get("bg_desc");
    for key in keys {
        let (o, n) = (old.m.get(key), new.m.get(key));
        if o == n {
            continue;
        }
        match (key.as_str(), n) {
            ("bg_desc", Some(v)) => what.push(format!("background set to {}", text_of(v))),
            ("bg", Some(v)) if !bg_described => {
                what.push(format!("background set to {}", text_of(v)))
            }
            ("bg", Some(_)) => {}
            ("bg" | "bg_desc", None) => what.push("background restored to the original".into()),
            ("vol", Some(v)) => what.push(format!("volume set to {}%", text_of(v))),
            ("in_ms", Some(v)) => what.push(format!(
                "now starts {} into its source",
                secs(v.as_u64().unwrap_or(0))
            )),
            ("src_ms", _) => {}
            ("pos", Some(v)) => what.push(format!("placed at the {}", text_of(v))),
            ("color", Some(v)) => what.push(format!("colour {}", text_of(v))),
            ("loop", Some(v)) => what.push(if v.as_bool() == Some(false) {
                "plays once".to_string()
            } else {
                "loops".to_string()
            }),
            ("duck", Some(v)) => what.push(if v.as_bool() == Some(true) {
                "dips under speech".to_string()
            } else {
                "no longer dips under speech".to_string()
            }),
            ("text", Some(v)) => what.push(format!("text set to \"{}\"", text_of(v))),
            ("name" | "title", Some(v)) => what.push(format!("renamed to '{}'", text_of(v))),
            (k, Some(v)) if o.is_none() => what.push(format!("{k} set to {}", short(v))),
            (k, Some(v)) => what.push(format!("{k} changed to {}", short(v))),
            (k, None) => what.push(format!("{k} removed")),
        }
    }
    if old.d != new.d {
        what.push(format!("duration {} → {}", secs(old.d), secs(new.d)));
    }
    if old.st != new.st {
        what.push(format!("moved to {}", secs(new.st.unwrap_or(0))));
    }
    let mut extra = Vec::new();
    key_changes("", &old.extra, &new.extra, &mut extra);
    what.extend(extra);
    if what.is_empty() {
        what.push("changed".into());
    }
    out.push(format!("{label}: {}", what.join(", ")));
}

/// Keys added, removed or changed in a map of unknown (cloud) fields.
fn key_changes(scope: &str, a: &Map<String, Value>, b: &Map<String, Value>, out: &mut Vec<String>) {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (o, n) = (a.get(key), b.get(key));
        if o == n {
            continue;
        }
        let prefix = if scope.is_empty() {
            String::new()
        } else {
            format!("{scope} ")
        };
        out.push(match n {
            Some(v) if o.is_none() => format!("{prefix}{key} set to {}", short(v)),
            Some(v) => format!("{prefix}{key} changed to {}", short(v)),
            None => format!("{prefix}{key} removed"),
        });
    }
}

fn kind_name(kind: TrackType) -> String {
    match kind {
        TrackType::Video => "video".into(),
        TrackType::Audio => "audio".into(),
        TrackType::Text => "title".into(),
        TrackType::Other(c) => format!("type-{c}"),
    }
}

fn a_kind(kind: TrackType) -> String {
    let name = kind_name(kind);
    if name.starts_with('a') {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}

fn seg_label(track: &Track, s: &Segment, i: usize) -> String {
    let name = s
        .display_name()
        .or_else(|| s.meta_str("text"))
        .map(str::to_string)
        .or_else(|| s.id.clone())
        .unwrap_or_else(|| format!("#{}", i + 1));
    format!("{} '{}'", kind_name(track.kind()), name)
}

fn span(s: &Segment) -> String {
    let start = s.st.unwrap_or(0);
    format!(" ({}–{})", secs(start), secs(start + s.d))
}

fn secs(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    if (s - s.round()).abs() < 1e-9 {
        format!("{}s", s.round() as u64)
    } else {
        format!("{s:.1}s")
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value shown to the user: short scalars as they are, structures summarised.
fn short(v: &Value) -> String {
    match v {
        Value::Object(_) => "a new setting".into(),
        Value::Array(a) => format!("{} items", a.len()),
        other => {
            let s = text_of(other);
            if s.chars().count() > 60 {
                format!("{}…", s.chars().take(60).collect::<String>())
            } else {
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn draft(v: Value) -> Draft {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn background_change_is_described_by_its_words() {
        let before = draft(
            json!({"t":[{"tt":0,"sg":[{"id":"s1","d":5000,"m":{"name":"talking_720p.mp4"}}]}]}),
        );
        let after = draft(
            json!({"t":[{"tt":0,"sg":[{"id":"s1","d":5000,"m":{"name":"talking_720p.mp4","bg":"studio","bg_desc":"soft light studio backdrop"}}]}]}),
        );
        assert_eq!(
            describe_changes(Some(&before), Some(&after)),
            vec!["video 'talking_720p.mp4': background set to soft light studio backdrop"]
        );
        assert!(describe_changes(Some(&after), Some(&after)).is_empty());
    }

    #[test]
    fn cloud_drafts_generically() {
        let before =
            draft(json!({"t":[{"tt":0,"sg":[{"d":10000,"m":{"name":"city"}}]}],"ratio":"16:9"}));
        let after = draft(json!({
            "t":[{"tt":0,"sg":[{"d":8000,"m":{"name":"city","speed":2}}]},
                 {"tt":1,"sg":[{"d":8000,"m":{"name":"Lo-fi","vol":35}}]},
                 {"tt":7,"sg":[{"st":0,"d":3000,"m":{"text":"Urban Dreams"}}]}],
            "ratio":"9:16"}));
        let c = describe_changes(Some(&before), Some(&after));
        assert_eq!(
            c,
            vec![
                "video 'city': speed set to 2, duration 10s → 8s",
                "added an audio track",
                "audio 'Lo-fi': added (0s–8s)",
                "added a title track",
                "title 'Urban Dreams': added (0s–3s)",
                "timeline ratio changed to 9:16",
            ]
        );
        let removed = describe_changes(Some(&after), Some(&before));
        assert!(
            removed.contains(&"removed an audio track (1 segments)".to_string()),
            "{removed:?}"
        );
        let from_nothing = describe_changes(None, Some(&before));
        assert_eq!(from_nothing[0], "added a video track");
    }
}
