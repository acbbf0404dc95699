//! The draft timeline in the contract's short keys: `t` tracks · `tt` track type (0 video,
//! 1 audio/BGM, 7 text/title) · `sg` segments · `d` duration ms · `m` metadata.
//! Every struct keeps unknown keys in `extra` so a cloud draft round-trips untouched.
//!
//! Segment fields the embedded backend writes (all optional for cloud drafts):
//! - `id`: segment id; `st`: start on the timeline in ms; `d`: duration in ms.
//! - `m.name`: display name (file name or title); `m.src`: the uploaded file's URL;
//!   `m.media`: the backend's media id.
//! - video segments: `m.bg`: the requested backdrop as text; `m.bg_desc`: what it resolved
//!   to, in words; `m.bg_media`: the backend media id when the backdrop is a file uploaded
//!   to the session ("use beach.jpg as the background"); `m.w`, `m.h`, `m.fps`.
//! - audio segments: `m.vol`: volume in percent.  Title segments: `m.text`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Draft {
    #[serde(default)]
    pub t: Vec<Track>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackType {
    Video,
    Audio,
    Text,
    Other(u8),
}

impl TrackType {
    pub fn code(self) -> u8 {
        match self {
            TrackType::Video => 0,
            TrackType::Audio => 1,
            TrackType::Text => 7,
            TrackType::Other(c) => c,
        }
    }

    pub fn from_code(code: u8) -> Self {
        match code {
            0 => TrackType::Video,
            1 => TrackType::Audio,
            7 => TrackType::Text,
            c => TrackType::Other(c),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Track {
    #[serde(default)]
    pub tt: u8,
    #[serde(default)]
    pub sg: Vec<Segment>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Track {
    pub fn new(kind: TrackType) -> Self {
        Track {
            tt: kind.code(),
            sg: Vec::new(),
            extra: Map::new(),
        }
    }

    pub fn kind(&self) -> TrackType {
        TrackType::from_code(self.tt)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Segment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Start on the timeline, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub st: Option<u64>,
    /// Duration, ms.
    #[serde(default)]
    pub d: u64,
    #[serde(default)]
    pub m: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Segment {
    /// A metadata string, if present.
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        self.m.get(key).and_then(Value::as_str)
    }

    pub fn set_meta(&mut self, key: &str, value: impl Into<Value>) {
        self.m.insert(key.to_string(), value.into());
    }
}

impl Draft {
    /// Ready for export when some track has a non-empty `sg`.
    pub fn is_exportable(&self) -> bool {
        self.t.iter().any(|t| !t.sg.is_empty())
    }

    /// The first track of a kind, created at the end if missing.
    pub fn track_mut(&mut self, kind: TrackType) -> &mut Track {
        if let Some(i) = self.t.iter().position(|t| t.kind() == kind) {
            return &mut self.t[i];
        }
        self.t.push(Track::new(kind));
        self.t.last_mut().expect("just pushed")
    }

    /// Segments of all video tracks, in order.
    pub fn video_segments(&self) -> impl Iterator<Item = &Segment> {
        self.t
            .iter()
            .filter(|t| t.kind() == TrackType::Video)
            .flat_map(|t| t.sg.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_round_trip() {
        let src = r#"{"t":[{"tt":0,"sg":[{"d":10000,"m":{"name":"city","zz":[1,2]},"fx":{"k":1}}],"lock":true}],"ver":3,"canvas":{"w":1920}}"#;
        let d: Draft = serde_json::from_str(src).unwrap();
        let back = serde_json::to_value(&d).unwrap();
        let orig: Value = serde_json::from_str(src).unwrap();
        assert_eq!(back, orig);
        assert!(d.is_exportable());
    }

    #[test]
    fn empty_draft_is_not_exportable() {
        let d: Draft = serde_json::from_str(r#"{"t":[{"tt":1,"sg":[]}]}"#).unwrap();
        assert!(!d.is_exportable());
    }

    /// A draft as the cloud writes it comes back out exactly as it came in: nothing added
    /// (no `"d":0`, `"sg":[]`, `"m":{}`), floats stay floats, `null`s stay `null`, ids stay
    /// numbers, unknown keys stay.
    #[test]
    fn cloud_draft_round_trips_untouched() {
        for src in [
            r#"{"t":[{"tt":0,"sg":[{"id":"seg_1a2b","d":5000,"m":{"title":"talk.mp4"}}]}]}"#,
            r#"{"t":[{"tt":0,"sg":[{"id":"seg_1","d":5000.0,"m":{"title":"talk.mp4"}}]}]}"#,
            r#"{"t":[{"tt":1},{"sg":[{"id":17,"m":null}],"name":"main"},{"tt":7,"sg":null}]}"#,
            r#"{"t":[{"tt":0,"sg":[{"st":0.0,"d":"2500","src":{"k":[1,2.5,null]},"m":{}}]}],"ver":3,"canvas":null}"#,
            r#"{}"#,
            r#"{"t":null}"#,
        ] {
            let d: Draft = serde_json::from_str(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            let back = serde_json::to_value(&d).unwrap();
            let orig: Value = serde_json::from_str(src).unwrap();
            assert_eq!(back, orig, "{src}");
        }
    }

    #[test]
    fn liberal_numbers_are_read_as_ms() {
        let d: Draft = serde_json::from_str(
            r#"{"t":[{"tt":0.0,"sg":[{"st":1000.0,"d":5000.0},{"d":"2500"},{"d":null},{"id":12}]}]}"#,
        )
        .unwrap();
        let sg = &d.t[0].sg;
        assert_eq!(d.t[0].kind(), TrackType::Video);
        assert_eq!((sg[0].st, sg[0].d), (Some(1000), 5000));
        assert_eq!(sg[1].d, 2500);
        assert_eq!(sg[2].d, 0);
        assert_eq!(sg[3].id.as_deref(), Some("12"));
    }

    #[test]
    fn edited_fields_are_written_plainly() {
        let mut d: Draft =
            serde_json::from_str(r#"{"t":[{"tt":0,"sg":[{"id":12,"d":5000.0,"m":null}]}]}"#)
                .unwrap();
        let seg = &mut d.t[0].sg[0];
        seg.d = 4000;
        seg.set_meta("bg", "blur");
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"t":[{"tt":0,"sg":[{"id":12,"d":4000,"m":{"bg":"blur"}}]}]})
        );
        // A draft built here writes only what was set.
        let mut ours = Draft::default();
        ours.track_mut(TrackType::Audio);
        assert_eq!(
            serde_json::to_value(&ours).unwrap(),
            serde_json::json!({"t":[{"tt":1,"sg":[]}]})
        );
    }
}

