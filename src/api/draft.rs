//! The draft timeline in the contract's short keys: `t` tracks · `tt` track type (0 video,
//! 1 audio/BGM, 7 text/title) · `sg` segments · `d` duration in ms · `m` metadata.
//! Every struct keeps unknown keys in `extra` so a cloud draft round-trips untouched.
//!
//! The fields below are the embedded backend's own conventions (DESIGN.md leaves them to
//! us); a cloud draft may have none of them, and readers treat every one as optional.
//! Times are integer milliseconds; percentages are numbers (35 = 35 %).
//!
//! Draft level:
//! - `canvas`: `{"ratio": "9:16"}` — the output's aspect ratio ("16:9", "9:16", "1:1", "4:5",
//!   any `w:h`); absent = the first clip's own shape. The size follows from the export
//!   resolution (9:16 at 1080p = 1080×1920).
//!
//! Every segment: `id`; `st` start on the timeline, ms; `d` duration on the timeline, ms;
//! `m.name` display name (file name, or the title's text).
//!
//! Video segments (`tt` 0), played back to back in `sg` order:
//! - `m.media` the backend's media id; `m.src` the uploaded file's URL; `m.w`, `m.h`, `m.fps`.
//! - `m.src_ms` the source's full length, ms; `m.in_ms` where the kept span starts in the
//!   source, ms (a trim: the segment shows source `in_ms .. in_ms + d`).
//! - `m.bg` the requested backdrop as text (words, or an uploaded file's name); `m.bg_desc`
//!   what it resolved to, in words; `m.bg_media` the media id when the backdrop is a file
//!   uploaded to the session. No `m.bg`: the clip keeps its own background.
//!
//! Music segments (`tt` 1): `m.media` the audio file's media id; `m.vol` volume, percent
//! (100 = as recorded); `m.loop` repeat when shorter than the video (default true);
//! `m.fade_in_ms`, `m.fade_out_ms`; `m.duck` lower the music under the clips' own sound.
//! `st` is 0 and `d` the video's length: music spans the whole timeline.
//!
//! Title segments (`tt` 7): `m.text` the words (any script); `st`/`d` when it shows;
//! `m.pos` "top" | "center" | "bottom"; `m.size` text height as a share of the canvas's
//! short side (0.08 ≈ 86 px at 1080p); `m.color` "#RRGGBB"; `m.fade_ms` fade in/out length.

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
}
