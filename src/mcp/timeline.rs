//! The one-line timeline summary shown to users, in the format of DESIGN.md:
//! `Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. Title: "Urban Dreams" (0-3s)`

use serde_json::Value;

use crate::api::{Draft, Segment, TrackType, lenient};

/// Summarise `draft` (None or no tracks → an empty timeline with what to do next).
pub fn summary(draft: Option<&Draft>) -> String {
    let Some(draft) = draft.filter(|d| !d.t.is_empty()) else {
        return "Timeline (0 tracks): empty — call upload_media to add a clip".to_string();
    };
    let count = draft.t.len();
    let mut line = format!(
        "Timeline ({count} track{}):",
        if count == 1 { "" } else { "s" }
    );
    for (i, track) in draft.t.iter().enumerate() {
        let kind = track.kind();
        let label = match kind {
            TrackType::Video => "Video".to_string(),
            TrackType::Audio => "BGM".to_string(),
            TrackType::Text => "Title".to_string(),
            TrackType::Other(code) => format!("Track type {code}"),
        };
        let segments = if track.sg.is_empty() {
            "(empty)".to_string()
        } else {
            let mut cursor_ms = 0;
            track
                .sg
                .iter()
                .enumerate()
                .map(|(n, seg)| {
                    let start = seg.st.unwrap_or(cursor_ms);
                    cursor_ms = start + seg.d;
                    describe(kind, n, seg, start)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        line.push_str(&format!(" {}. {label}: {segments}", i + 1));
    }
    if let Some(ratio) = draft
        .extra
        .get("canvas")
        .and_then(|c| c.get("ratio"))
        .and_then(Value::as_str)
    {
        line.push_str(&format!("; aspect ratio {ratio}"));
    }
    line
}

fn describe(kind: TrackType, index: usize, seg: &Segment, start_ms: u64) -> String {
    let span = format!("{}-{}s", seconds(start_ms), seconds(start_ms + seg.d));
    let name = seg.display_name().map(str::to_string);
    match kind {
        TrackType::Text => {
            let text = seg
                .meta_str("text")
                .or_else(|| seg.meta_str("content"))
                .map(str::to_string)
                .or(name)
                .unwrap_or_else(|| format!("title {}", index + 1));
            format!("\"{text}\" ({span})")
        }
        TrackType::Audio => {
            let name = name.unwrap_or_else(|| format!("audio {}", index + 1));
            match seg.m.get("vol").and_then(lenient::number) {
                Some(vol) => format!("{name} ({span}, {}%)", trim_number(vol)),
                None => format!("{name} ({span})"),
            }
        }
        TrackType::Video | TrackType::Other(_) => {
            let name = name.unwrap_or_else(|| format!("clip {}", index + 1));
            let in_ms = seg.m.get("in_ms").and_then(lenient::whole).unwrap_or(0);
            let src_ms = seg.m.get("src_ms").and_then(lenient::whole);
            let trimmed = in_ms > 0 || src_ms.is_some_and(|s| s > in_ms + seg.d + 50);
            let span = if trimmed {
                format!(
                    "{span}, source {}-{}s",
                    seconds(in_ms),
                    seconds(in_ms + seg.d)
                )
            } else {
                span
            };
            let backdrop = seg
                .meta_str("bg_desc")
                .or_else(|| seg.meta_str("bg"))
                .filter(|s| !s.is_empty());
            match backdrop {
                Some(bg) => format!("{name} ({span}, background: {bg})"),
                None => format!("{name} ({span})"),
            }
        }
    }
}

/// Milliseconds as seconds: whole numbers plain ("10"), others with one decimal ("2.5").
fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{:.1}", ms as f64 / 1000.0)
    }
}

fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::summary;
    use crate::api::Draft;

    fn draft(json: &str) -> Draft {
        serde_json::from_str(json).expect("test draft")
    }

    #[test]
    fn matches_the_design_example() {
        let d = draft(
            r#"{"t":[
                {"tt":0,"sg":[{"st":0,"d":10000,"m":{"name":"city timelapse"}}]},
                {"tt":1,"sg":[{"st":0,"d":10000,"m":{"name":"Lo-fi","vol":35}}]},
                {"tt":7,"sg":[{"st":0,"d":3000,"m":{"text":"Urban Dreams"}}]}
            ]}"#,
        );
        assert_eq!(
            summary(Some(&d)),
            r#"Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. Title: "Urban Dreams" (0-3s)"#
        );
    }

    #[test]
    fn segments_without_start_follow_each_other() {
        let d = draft(
            r#"{"t":[{"tt":0,"sg":[{"d":2500,"m":{"name":"a.mp4"}},{"d":4000,"m":{"name":"b.mp4","bg":"blur"}}]}]}"#,
        );
        assert_eq!(
            summary(Some(&d)),
            "Timeline (1 track): 1. Video: a.mp4 (0-2.5s), b.mp4 (2.5-6.5s, background: blur)"
        );
    }

    #[test]
    fn trims_and_canvas_are_shown() {
        let d = draft(
            r#"{"t":[{"tt":0,"sg":[{"st":0,"d":3000,"m":{"name":"a.mp4","in_ms":2000,"src_ms":5000}},{"st":3000,"d":2000,"m":{"name":"b.mp4","src_ms":2000}}]},
                {"tt":1,"sg":[{"st":0,"d":5000,"m":{"name":"lofi.mp3","vol":35,"media":"m"}}]},
                {"tt":7,"sg":[{"st":0,"d":3000,"m":{"text":"城市之梦"}}]}],"canvas":{"ratio":"9:16"}}"#,
        );
        assert_eq!(
            summary(Some(&d)),
            r#"Timeline (3 tracks): 1. Video: a.mp4 (0-3s, source 2-5s), b.mp4 (3-5s) 2. BGM: lofi.mp3 (0-5s, 35%) 3. Title: "城市之梦" (0-3s); aspect ratio 9:16"#
        );
    }

    #[test]
    fn resolved_backdrop_wins_over_request_text() {
        let d = draft(
            r#"{"t":[{"tt":0,"sg":[{"st":0,"d":1000,"m":{"name":"x","bg":"studio","bg_desc":"soft light studio backdrop"}}]}]}"#,
        );
        assert!(summary(Some(&d)).ends_with("x (0-1s, background: soft light studio backdrop)"));
    }

    #[test]
    fn empty_and_unnamed_parts_are_described() {
        assert_eq!(
            summary(None),
            "Timeline (0 tracks): empty — call upload_media to add a clip"
        );
        let d = draft(
            r#"{"t":[{"tt":1,"sg":[]},{"tt":5,"sg":[{"d":1000}]},{"tt":7,"sg":[{"d":500}]}]}"#,
        );
        assert_eq!(
            summary(Some(&d)),
            r#"Timeline (3 tracks): 1. BGM: (empty) 2. Track type 5: clip 1 (0-1s) 3. Title: "title 1" (0-0.5s)"#
        );
    }

    /// shared/cases/cloud.md 4 and 6: the cloud names a clip in `m.title` and may write
    /// durations as floats.
    #[test]
    fn cloud_names_and_float_durations_are_read() {
        let d =
            draft(r#"{"t":[{"tt":0,"sg":[{"id":"seg_1a2b","d":5000,"m":{"title":"talk.mp4"}}]}]}"#);
        assert_eq!(
            summary(Some(&d)),
            "Timeline (1 track): 1. Video: talk.mp4 (0-5s)"
        );
        let d = draft(
            r#"{"t":[{"tt":0,"sg":[{"d":5000.0,"m":{"title":"talk.mp4"}}]},{"tt":1,"sg":[{"d":5000.0,"m":{"title":"Lo-fi","vol":35.0}}]},{"tt":7,"sg":[{"d":3000,"m":{"title":"Urban Dreams"}}]}]}"#,
        );
        assert_eq!(
            summary(Some(&d)),
            r#"Timeline (3 tracks): 1. Video: talk.mp4 (0-5s) 2. BGM: Lo-fi (0-5s, 35%) 3. Title: "Urban Dreams" (0-3s)"#
        );
    }
}
