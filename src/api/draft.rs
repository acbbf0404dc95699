//! The draft timeline in the contract's short keys: `t` tracks · `tt` track type (0 video,
//! 1 audio/BGM, 7 text/title) · `sg` segments · `d` duration in ms · `m` metadata.
//! Read liberally (numbers as integers, floats or numeric strings, `null` parts) and written
//! back untouched: unknown keys are kept in `extra`, and nothing is added (see `Wire`).
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
//! `m.name` display name (file name, or the title's text; cloud drafts use `m.title`, read by
//! `Segment::display_name`).
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
//! Without `m.range`, `st` is 0 and `d` the video's length: music spans the whole timeline.
//! With `m.range: true` the music has a range of its own, `st`..`st + d` on the timeline
//! (cut where the video ends): it is silent outside it, fully gone at `st + d`, and its fades
//! happen inside it.
//!
//! Title segments (`tt` 7): `m.text` the words (any script); `st`/`d` when it shows;
//! `m.pos` "top" | "center" | "bottom"; `m.size` text height as a share of the canvas's
//! short side (0.08 ≈ 86 px at 1080p); `m.color` "#RRGGBB"; `m.fade_ms` fade in/out length.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::lenient;

/// The timeline. Read liberally and written back as it came: see `Wire`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    pub t: Vec<Track>,
    /// Keys other than `t`, untouched.
    pub extra: Map<String, Value>,
    pub(crate) wire: Wire,
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

#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Track type code (`tt`); a missing `tt` reads as 0 (video).
    pub tt: u8,
    pub sg: Vec<Segment>,
    /// Keys other than `tt` and `sg`, untouched.
    pub extra: Map<String, Value>,
    pub(crate) wire: Wire,
}

impl Track {
    pub fn new(kind: TrackType) -> Self {
        Track {
            tt: kind.code(),
            sg: Vec::new(),
            extra: Map::new(),
            wire: Wire::default(),
        }
    }

    pub fn kind(&self) -> TrackType {
        TrackType::from_code(self.tt)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segment {
    /// Segment id; a numeric id is read as its digits (and written back as a number).
    pub id: Option<String>,
    /// Start on the timeline, ms.
    pub st: Option<u64>,
    /// Duration, ms (integers, floats and numeric strings are read; missing → 0).
    pub d: u64,
    /// Metadata (`null` or missing → empty).
    pub m: Map<String, Value>,
    /// Keys other than `id`, `st`, `d` and `m`, untouched.
    pub extra: Map<String, Value>,
    pub(crate) wire: Wire,
}

/// How a part of the draft was written by the service, so it is written back the same way:
/// the original JSON of each known key (`5000.0` stays a float, a numeric id stays a number,
/// `null` stays `null`, a missing key stays missing) unless the field was changed here.
/// Parts built here (`wire.parsed == false`) write every field of ours plainly.
/// Never part of equality: two drafts with the same content are equal however spelled.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wire {
    parsed: bool,
    /// The original value of each known key that was present.
    known: Map<String, Value>,
    /// The part was not an object at all (e.g. a `null` segment): written back as it was
    /// while nothing was set on it.
    opaque: Option<Value>,
}

impl PartialEq for Wire {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Split an object into the known keys' original values (kept in a `Wire`) and the rest.
fn split(v: Value, known: &[&str]) -> (Wire, Map<String, Value>) {
    let mut wire = Wire {
        parsed: true,
        ..Wire::default()
    };
    let mut extra = Map::new();
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if known.contains(&k.as_str()) {
                    wire.known.insert(k, v);
                } else {
                    extra.insert(k, v);
                }
            }
        }
        other => wire.opaque = Some(other),
    }
    (wire, extra)
}

impl Wire {
    fn get(&self, key: &str) -> Option<&Value> {
        self.known.get(key)
    }

    /// Write a scalar field: the original spelling when it still reads as `current`; nothing
    /// when it was missing (or built here as `None`) and still is; else `encode(current)`.
    fn scalar<T: PartialEq>(
        &self,
        out: &mut Map<String, Value>,
        key: &str,
        current: &T,
        read: impl Fn(&Value) -> T,
        missing: T,
        encode: impl Fn(&T) -> Option<Value>,
    ) {
        match self.get(key) {
            Some(orig) if read(orig) == *current => {
                out.insert(key.into(), orig.clone());
            }
            None if self.parsed && *current == missing => {}
            _ => {
                if let Some(v) = encode(current) {
                    out.insert(key.into(), v);
                }
            }
        }
    }

    /// Write a container field (`t`, `sg`, `m`): `null` or missing stays so while it is
    /// still empty; otherwise the content.
    fn container(&self, out: &mut Map<String, Value>, key: &str, empty: bool, content: Value) {
        match self.get(key) {
            Some(orig) if empty && !orig.is_array() && !orig.is_object() => {
                out.insert(key.into(), orig.clone());
            }
            None if self.parsed && empty => {}
            _ => {
                out.insert(key.into(), content);
            }
        }
    }

    /// The original non-object value, while the part is still as it was read.
    fn opaque_if_untouched(&self, untouched: bool) -> Option<&Value> {
        self.opaque.as_ref().filter(|_| untouched)
    }
}

fn list<T: serde::de::DeserializeOwned>(v: Option<&Value>) -> Result<Vec<T>, String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| serde_json::from_value(i.clone()).map_err(|e| e.to_string()))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

fn read_id(v: &Value) -> Option<String> {
    lenient::text(v)
}

fn read_ms(v: &Value) -> Option<u64> {
    lenient::whole(v)
}

fn read_tt(v: &Value) -> u8 {
    lenient::whole(v)
        .and_then(|n| u8::try_from(n).ok())
        .unwrap_or(0)
}

fn read_meta(v: Option<&Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

impl<'de> Deserialize<'de> for Draft {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (wire, extra) = split(Value::deserialize(d)?, &["t"]);
        let t = list(wire.get("t")).map_err(D::Error::custom)?;
        Ok(Draft { t, extra, wire })
    }
}

impl Serialize for Draft {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(v) = self
            .wire
            .opaque_if_untouched(self.t.is_empty() && self.extra.is_empty())
        {
            return v.serialize(s);
        }
        let mut out = Map::new();
        let tracks = serde_json::to_value(&self.t).map_err(serde::ser::Error::custom)?;
        self.wire
            .container(&mut out, "t", self.t.is_empty(), tracks);
        out.extend(self.extra.clone());
        out.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Track {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (wire, extra) = split(Value::deserialize(d)?, &["tt", "sg"]);
        let tt = wire.get("tt").map(read_tt).unwrap_or(0);
        let sg = list(wire.get("sg")).map_err(D::Error::custom)?;
        Ok(Track {
            tt,
            sg,
            extra,
            wire,
        })
    }
}

impl Serialize for Track {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let untouched = self.tt == 0 && self.sg.is_empty() && self.extra.is_empty();
        if let Some(v) = self.wire.opaque_if_untouched(untouched) {
            return v.serialize(s);
        }
        let mut out = Map::new();
        self.wire
            .scalar(&mut out, "tt", &self.tt, read_tt, 0, |tt| {
                Some(Value::from(*tt))
            });
        let segments = serde_json::to_value(&self.sg).map_err(serde::ser::Error::custom)?;
        self.wire
            .container(&mut out, "sg", self.sg.is_empty(), segments);
        out.extend(self.extra.clone());
        out.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Segment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (wire, extra) = split(Value::deserialize(d)?, &["id", "st", "d", "m"]);
        Ok(Segment {
            id: wire.get("id").and_then(read_id),
            st: wire.get("st").and_then(read_ms),
            d: wire.get("d").and_then(read_ms).unwrap_or(0),
            m: read_meta(wire.get("m")),
            extra,
            wire,
        })
    }
}

impl Serialize for Segment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let untouched = self.id.is_none()
            && self.st.is_none()
            && self.d == 0
            && self.m.is_empty()
            && self.extra.is_empty();
        if let Some(v) = self.wire.opaque_if_untouched(untouched) {
            return v.serialize(s);
        }
        let w = &self.wire;
        let mut out = Map::new();
        w.scalar(&mut out, "id", &self.id, read_id, None, |id| {
            id.clone().map(Value::from)
        });
        w.scalar(&mut out, "st", &self.st, read_ms, None, |st| {
            st.map(Value::from)
        });
        w.scalar(
            &mut out,
            "d",
            &self.d,
            |v| read_ms(v).unwrap_or(0),
            0,
            |d| Some(Value::from(*d)),
        );
        w.container(
            &mut out,
            "m",
            self.m.is_empty(),
            Value::Object(self.m.clone()),
        );
        out.extend(self.extra.clone());
        out.serialize(s)
    }
}

/// The schema says what the keys mean and allows anything else: drafts from the cloud carry
/// keys of their own, and every number may be an integer or a float.
impl JsonSchema for Draft {
    fn schema_name() -> Cow<'static, str> {
        "Draft".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": "The timeline in the service's short keys; unknown keys are kept.",
            "properties": {
                "t": {
                    "type": ["array", "null"],
                    "description": "Tracks.",
                    "items": {
                        "type": ["object", "null"],
                        "properties": {
                            "tt": {"description": "Track type: 0 video, 1 audio/BGM, 7 text/title."},
                            "sg": {
                                "type": ["array", "null"],
                                "description": "Segments.",
                                "items": {
                                    "type": ["object", "null"],
                                    "properties": {
                                        "id": {"description": "Segment id (text or number)."},
                                        "st": {"description": "Start on the timeline, ms."},
                                        "d": {"description": "Duration, ms."},
                                        "m": {"type": ["object", "null"], "description": "Metadata (name or title, background, volume, text…)."}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        })
    }
}

impl Segment {
    /// A metadata string, if present.
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        self.m.get(key).and_then(Value::as_str)
    }

    /// The name to show: `m.name` (ours), else the cloud's `m.title`, else `m.filename` /
    /// `m.file_name`; empty names are skipped.
    pub fn display_name(&self) -> Option<&str> {
        ["name", "title", "filename", "file_name"]
            .iter()
            .find_map(|k| self.meta_str(k).filter(|s| !s.trim().is_empty()))
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
