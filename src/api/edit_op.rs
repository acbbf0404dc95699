//! Typed edit operations: what `edit_video`'s `operations` carries and the local agent's one
//! internal language (free text is parsed into these; one `apply` carries them out). The
//! wire form is a JSON object tagged by `op`, e.g.
//! `{"op":"title","text":"Urban Dreams","start_s":0,"end_s":3,"position":"top"}`.
//!
//! Clips are named by file name, by 1-based position (`2`), or by `"first"` / `"last"`
//! ([`ClipRef`]); positions count the timeline's clips in their order at the moment the
//! operation runs (operations of one call run in order).
//!
//! [`parse_ops`] reads a list of JSON values and checks every operation, so a bad one is an
//! [`OpError`] naming the operation, the field and the accepted values before anything runs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A clip on the timeline: its file name (`"intro.mp4"`), its 1-based position (`3`), or
/// `"first"` / `"last"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ClipRef {
    /// 1-based position in the timeline's current order.
    Index(u32),
    /// A file name as upload_media returned it, or "first" / "last".
    Name(String),
}

impl ClipRef {
    /// The 1-based position this reference names on a timeline of `count` clips, when it is
    /// positional (`first`, `last`, a number); `None` for a name.
    pub fn position(&self, count: usize) -> Option<usize> {
        match self {
            ClipRef::Index(n) => Some(*n as usize),
            ClipRef::Name(s) if s.eq_ignore_ascii_case("first") => Some(1),
            ClipRef::Name(s) if s.eq_ignore_ascii_case("last") => Some(count),
            ClipRef::Name(_) => None,
        }
    }
}

impl std::fmt::Display for ClipRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClipRef::Index(n) => write!(f, "clip {n}"),
            ClipRef::Name(s) if s.eq_ignore_ascii_case("first") => f.write_str("the first clip"),
            ClipRef::Name(s) if s.eq_ignore_ascii_case("last") => f.write_str("the last clip"),
            ClipRef::Name(s) => f.write_str(s),
        }
    }
}

/// Where a title sits, vertically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TitlePosition {
    Top,
    Center,
    Bottom,
}

impl TitlePosition {
    pub fn as_str(self) -> &'static str {
        match self {
            TitlePosition::Top => "top",
            TitlePosition::Center => "center",
            TitlePosition::Bottom => "bottom",
        }
    }
}

/// A title's text size by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TitleSize {
    Small,
    Medium,
    Large,
    Huge,
}

impl TitleSize {
    /// Share of the canvas's short side.
    pub fn fraction(self) -> f32 {
        match self {
            TitleSize::Small => 0.05,
            TitleSize::Medium => 0.08,
            TitleSize::Large => 0.11,
            TitleSize::Huge => 0.14,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TitleSize::Small => "small",
            TitleSize::Medium => "medium",
            TitleSize::Large => "large",
            TitleSize::Huge => "huge",
        }
    }
}

/// The aspect ratios the timeline can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AspectRatio {
    #[serde(rename = "16:9")]
    Landscape,
    #[serde(rename = "9:16")]
    Portrait,
    #[serde(rename = "1:1")]
    Square,
    #[serde(rename = "4:5")]
    Tall,
}

impl AspectRatio {
    pub const ALL: [AspectRatio; 4] = [
        AspectRatio::Landscape,
        AspectRatio::Portrait,
        AspectRatio::Square,
        AspectRatio::Tall,
    ];

    /// (width, height).
    pub fn parts(self) -> (u32, u32) {
        match self {
            AspectRatio::Landscape => (16, 9),
            AspectRatio::Portrait => (9, 16),
            AspectRatio::Square => (1, 1),
            AspectRatio::Tall => (4, 5),
        }
    }

    pub fn from_parts(w: u32, h: u32) -> Option<AspectRatio> {
        Self::ALL.into_iter().find(|r| r.parts() == (w, h))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AspectRatio::Landscape => "16:9",
            AspectRatio::Portrait => "9:16",
            AspectRatio::Square => "1:1",
            AspectRatio::Tall => "4:5",
        }
    }
}

/// Colour names a title accepts (English and Chinese), with their RGB; `#RRGGBB` works too.
pub const COLOURS: &[(&str, (u8, u8, u8))] = &[
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

/// A colour name from [`COLOURS`] or `#RRGGBB`, as RGB.
pub fn colour_rgb(s: &str) -> Option<(u8, u8, u8)> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let v = u32::from_str_radix(hex, 16).ok()?;
            return Some(((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
        return None;
    }
    let l = s.to_ascii_lowercase();
    let l = l.trim_end_matches('色');
    COLOURS.iter().find(|(n, _)| *n == l).map(|(_, rgb)| *rgb)
}

/// One edit. Operations of one call are applied together: all or none, charged once, one
/// new timeline version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum EditOp {
    /// Cut seconds off the start and/or the end of the video (or of one clip).
    Trim {
        /// The clip to trim; omit to trim the whole timeline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clip: Option<ClipRef>,
        /// Seconds to remove from the start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remove_first_s: Option<f64>,
        /// Seconds to remove from the end.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remove_last_s: Option<f64>,
    },
    /// Keep only a range of the video (or of one clip): `start_s`–`end_s`, or the last `last_s` seconds.
    Keep {
        /// The clip; omit for the whole timeline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clip: Option<ClipRef>,
        /// Start of the range kept, seconds (default 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_s: Option<f64>,
        /// End of the range kept, seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_s: Option<f64>,
        /// Keep only the last this many seconds (instead of start_s/end_s).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_s: Option<f64>,
    },
    /// Move a clip: `to` a position (1-based, "first", "last"), or `before`/`after` another clip.
    Move {
        clip: ClipRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<ClipRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<ClipRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<ClipRef>,
    },
    /// Swap two clips' places.
    Swap { clip: ClipRef, with: ClipRef },
    /// Take a clip off the timeline (the uploaded file is kept).
    Remove { clip: ClipRef },
    /// Add a title (text over the video) for a range of the timeline.
    Title {
        text: String,
        /// Start on the timeline, seconds (default 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_s: Option<f64>,
        /// End on the timeline, seconds; the title is fully gone at end_s (default start + 3 s).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_s: Option<f64>,
        /// Show it for the last this many seconds of the video instead.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_s: Option<f64>,
        /// "top", "center" (default) or "bottom".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<TitlePosition>,
        /// "small", "medium" (default), "large" or "huge".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<TitleSize>,
        /// A colour name (white, black, yellow, gold, orange, red, pink, purple, blue, cyan,
        /// green, grey) or "#RRGGBB"; default white.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        colour: Option<String>,
        /// Fade in and out (inside the range).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fade: Option<bool>,
    },
    /// Remove every title.
    RemoveTitles {},
    /// Background music from an uploaded audio file, or new settings for the music there.
    Music {
        /// The audio file's name from upload_media; omit to change the music already on the
        /// timeline (or, when there is none, to use the latest uploaded audio).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media: Option<String>,
        /// Volume, percent (0–200; default 30).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        volume: Option<f64>,
        /// Fade-in length, seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fade_in_s: Option<f64>,
        /// Fade-out length, seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fade_out_s: Option<f64>,
        /// Lower the music while someone speaks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ducking: Option<bool>,
        /// Loop music shorter than the video (default true).
        #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
        looped: Option<bool>,
        /// Where the music starts on the timeline, seconds (default 0: the start).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_s: Option<f64>,
        /// Where it ends on the timeline, seconds; the music is fully gone at end_s and its
        /// fades happen inside [start_s, end_s] (default: the end of the video).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_s: Option<f64>,
    },
    /// Remove the background music (the clips keep their own sound).
    RemoveMusic {},
    /// The music's volume: `percent` (0–200), or `scale` times the current one (e.g. 0.6 = quieter).
    Volume {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        percent: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scale: Option<f64>,
    },
    /// The timeline's aspect ratio: "16:9", "9:16", "1:1" or "4:5".
    AspectRatio { ratio: AspectRatio },
    /// A new background behind the people: a description ("clean studio backdrop", "blur",
    /// "#1E90FF", "transparent") or the name of an uploaded image/video.
    Backdrop {
        backdrop: String,
        /// One clip; omit for every clip.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clip: Option<ClipRef>,
    },
    /// Go back to the timeline before the last edit(s).
    Undo {
        /// How many edits to undo (default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        steps: Option<u32>,
    },
    /// Redo edit(s) undone.
    Redo {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        steps: Option<u32>,
    },
}

/// The `op` names, in schema order.
pub const OP_NAMES: &[&str] = &[
    "trim",
    "keep",
    "move",
    "swap",
    "remove",
    "title",
    "remove_titles",
    "music",
    "remove_music",
    "volume",
    "aspect_ratio",
    "backdrop",
    "undo",
    "redo",
];

impl EditOp {
    /// The `op` tag.
    pub fn name(&self) -> &'static str {
        match self {
            EditOp::Trim { .. } => "trim",
            EditOp::Keep { .. } => "keep",
            EditOp::Move { .. } => "move",
            EditOp::Swap { .. } => "swap",
            EditOp::Remove { .. } => "remove",
            EditOp::Title { .. } => "title",
            EditOp::RemoveTitles {} => "remove_titles",
            EditOp::Music { .. } => "music",
            EditOp::RemoveMusic {} => "remove_music",
            EditOp::Volume { .. } => "volume",
            EditOp::AspectRatio { .. } => "aspect_ratio",
            EditOp::Backdrop { .. } => "backdrop",
            EditOp::Undo { .. } => "undo",
            EditOp::Redo { .. } => "redo",
        }
    }

    /// Undo or redo: works on the stored timeline versions, not on the timeline.
    pub fn is_history(&self) -> bool {
        matches!(self, EditOp::Undo { .. } | EditOp::Redo { .. })
    }

    /// The checks the types cannot express; `Err((field, message))`.
    fn check(&self) -> Result<(), (&'static str, String)> {
        fn secs(field: &'static str, v: Option<f64>) -> Result<(), (&'static str, String)> {
            match v {
                Some(x) if !x.is_finite() || x < 0.0 => {
                    Err((field, format!("must be a number of seconds ≥ 0, got {x}")))
                }
                _ => Ok(()),
            }
        }
        fn clip(field: &'static str, c: &ClipRef) -> Result<(), (&'static str, String)> {
            match c {
                ClipRef::Index(0) => Err((
                    field,
                    "positions start at 1; accepted: a clip's file name, a 1-based position, \"first\" or \"last\"".into(),
                )),
                ClipRef::Name(s) if s.trim().is_empty() => Err((
                    field,
                    "is empty; accepted: a clip's file name, a 1-based position, \"first\" or \"last\"".into(),
                )),
                _ => Ok(()),
            }
        }
        match self {
            EditOp::Trim {
                clip: c,
                remove_first_s,
                remove_last_s,
            } => {
                if let Some(c) = c {
                    clip("clip", c)?;
                }
                secs("remove_first_s", *remove_first_s)?;
                secs("remove_last_s", *remove_last_s)?;
                if remove_first_s.unwrap_or(0.0) <= 0.0 && remove_last_s.unwrap_or(0.0) <= 0.0 {
                    return Err((
                        "remove_first_s",
                        "give remove_first_s and/or remove_last_s (seconds > 0)".into(),
                    ));
                }
            }
            EditOp::Keep {
                clip: c,
                start_s,
                end_s,
                last_s,
            } => {
                if let Some(c) = c {
                    clip("clip", c)?;
                }
                secs("start_s", *start_s)?;
                secs("end_s", *end_s)?;
                secs("last_s", *last_s)?;
                match (start_s, end_s, last_s) {
                    (None, None, Some(l)) if *l > 0.0 => {}
                    (_, Some(e), None) if *e > start_s.unwrap_or(0.0) => {}
                    (_, _, Some(_)) => {
                        return Err((
                            "last_s",
                            "give either last_s (> 0) or start_s/end_s, not both".into(),
                        ));
                    }
                    _ => {
                        return Err((
                            "end_s",
                            "give end_s greater than start_s (seconds), or last_s".into(),
                        ));
                    }
                }
            }
            EditOp::Move {
                clip: c,
                to,
                before,
                after,
            } => {
                clip("clip", c)?;
                let given = [to, before, after].iter().filter(|x| x.is_some()).count();
                if given != 1 {
                    return Err((
                        "to",
                        "give exactly one of to (a 1-based position, \"first\" or \"last\"), before or after (a clip)".into(),
                    ));
                }
                for (f, v) in [("to", to), ("before", before), ("after", after)] {
                    if let Some(v) = v {
                        clip(f, v)?;
                    }
                }
            }
            EditOp::Swap { clip: a, with } => {
                clip("clip", a)?;
                clip("with", with)?;
            }
            EditOp::Remove { clip: c } => clip("clip", c)?,
            EditOp::Title {
                text,
                start_s,
                end_s,
                last_s,
                colour,
                ..
            } => {
                if text.trim().is_empty() {
                    return Err(("text", "is empty; give the title's words".into()));
                }
                secs("start_s", *start_s)?;
                secs("end_s", *end_s)?;
                secs("last_s", *last_s)?;
                if let (Some(a), Some(b)) = (start_s, end_s)
                    && b <= a
                {
                    return Err(("end_s", format!("must be after start_s ({a}), got {b}")));
                }
                if last_s.is_some() && (start_s.is_some() || end_s.is_some()) {
                    return Err((
                        "last_s",
                        "give either last_s or start_s/end_s, not both".into(),
                    ));
                }
                if let Some(c) = colour
                    && colour_rgb(c).is_none()
                {
                    let names: Vec<&str> = COLOURS
                        .iter()
                        .map(|(n, _)| *n)
                        .filter(|n| n.is_ascii())
                        .collect();
                    return Err((
                        "colour",
                        format!(
                            "\"{c}\" is not a colour; accepted: {} or #RRGGBB",
                            names.join(", ")
                        ),
                    ));
                }
            }
            EditOp::Music {
                media,
                volume,
                fade_in_s,
                fade_out_s,
                start_s,
                end_s,
                ..
            } => {
                if media.as_deref().is_some_and(|m| m.trim().is_empty()) {
                    return Err(("media", "is empty; give the audio file's name".into()));
                }
                percent("volume", *volume)?;
                secs("fade_in_s", *fade_in_s)?;
                secs("fade_out_s", *fade_out_s)?;
                secs("start_s", *start_s)?;
                secs("end_s", *end_s)?;
                if let Some(b) = end_s
                    && *b <= start_s.unwrap_or(0.0)
                {
                    return Err((
                        "end_s",
                        format!(
                            "must be after start_s ({}), got {b}",
                            start_s.unwrap_or(0.0)
                        ),
                    ));
                }
            }
            EditOp::Volume { percent: p, scale } => {
                percent("percent", *p)?;
                match (p, scale) {
                    (Some(_), None) => {}
                    (None, Some(s)) if s.is_finite() && *s > 0.0 && *s <= 10.0 => {}
                    (None, Some(s)) => {
                        return Err(("scale", format!("must be > 0 and ≤ 10, got {s}")));
                    }
                    _ => {
                        return Err((
                            "percent",
                            "give either percent (0–200) or scale (e.g. 0.6 for quieter)".into(),
                        ));
                    }
                }
            }
            EditOp::Backdrop { backdrop, clip: c } => {
                if backdrop.trim().is_empty() {
                    return Err((
                        "backdrop",
                        "is empty; give a description (\"clean studio backdrop\", \"blur\", \"#1E90FF\") or an uploaded image's name".into(),
                    ));
                }
                if let Some(c) = c {
                    clip("clip", c)?;
                }
            }
            EditOp::Undo { steps } | EditOp::Redo { steps } => {
                if *steps == Some(0) {
                    return Err(("steps", "must be at least 1".into()));
                }
            }
            EditOp::RemoveTitles {} | EditOp::RemoveMusic {} | EditOp::AspectRatio { .. } => {}
        }
        Ok(())
    }
}

fn percent(field: &'static str, v: Option<f64>) -> Result<(), (&'static str, String)> {
    match v {
        Some(x) if !x.is_finite() || !(0.0..=200.0).contains(&x) => Err((
            field,
            format!("must be a percentage from 0 to 200, got {x}"),
        )),
        _ => Ok(()),
    }
}

/// An operation that cannot be carried out as given: which one (1-based, with its `op`), the
/// field, and what is accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("operation {index} ({op}): {}{message}", field.as_deref().map(|f| format!("field `{f}` ")).unwrap_or_default())]
pub struct OpError {
    /// 1-based place in the list.
    pub index: usize,
    /// The `op` as written ("?" when it is missing).
    pub op: String,
    pub field: Option<String>,
    pub message: String,
}

/// Read and check `values` as operations. Every problem is an [`OpError`] naming the
/// operation, the field and the accepted values.
pub fn parse_ops(values: &[Value]) -> Result<Vec<EditOp>, OpError> {
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let index = i + 1;
        let op_name = v
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let err = |field: Option<String>, message: String| OpError {
            index,
            op: op_name.clone(),
            field,
            message,
        };
        let Some(obj) = v.as_object() else {
            return Err(err(
                None,
                format!(
                    "an operation is an object such as {{\"op\":\"trim\",\"remove_first_s\":2}}, got {v}"
                ),
            ));
        };
        match obj.get("op") {
            Some(Value::String(name)) if OP_NAMES.contains(&name.as_str()) => {}
            other => {
                let got = other.map_or("nothing".to_string(), Value::to_string);
                return Err(err(
                    Some("op".into()),
                    format!("accepted: {}; got {got}", OP_NAMES.join(", ")),
                ));
            }
        }
        let op: EditOp = match serde_json::from_value(v.clone()) {
            Ok(op) => op,
            Err(e) => {
                let msg = e.to_string();
                let field = field_of(obj, &msg);
                return Err(err(field, accepted_hint(&msg)));
            }
        };
        op.check()
            .map_err(|(field, message)| err(Some(field.into()), message))?;
        out.push(op);
    }
    Ok(out)
}

/// The field serde's message is about: the one it names (missing, unknown), else the one
/// whose value it quotes. (An internally tagged enum buffers its fields, so serde itself
/// cannot say where in the object a wrong value was.)
fn field_of(obj: &serde_json::Map<String, Value>, msg: &str) -> Option<String> {
    for key in ["missing field `", "unknown field `"] {
        if let Some(p) = msg.find(key) {
            let rest = &msg[p + key.len()..];
            if let Some(end) = rest.find('`') {
                return Some(rest[..end].to_string());
            }
        }
    }
    obj.iter()
        .filter(|(k, _)| k.as_str() != "op")
        .find(|(_, v)| {
            let shown = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            msg.contains(&format!("`{shown}`"))
                || msg.contains(&format!("\"{shown}\""))
                || msg.contains(&format!(" {shown},"))
                || msg.contains(&format!(" {shown} "))
        })
        .map(|(k, _)| k.clone())
}

/// serde's message with the accepted values spelled out where serde does not.
fn accepted_hint(msg: &str) -> String {
    if msg.contains("data did not match any variant of untagged enum ClipRef") {
        return "accepted: a clip's file name, a 1-based position, \"first\" or \"last\"".into();
    }
    msg.replace("unknown variant", "not accepted:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ops_read_their_wire_form() {
        let ops = parse_ops(&[
            json!({"op":"trim","clip":3,"remove_first_s":2}),
            json!({"op":"keep","clip":"last","start_s":5,"end_s":12}),
            json!({"op":"title","text":"Hi","start_s":0,"end_s":3,"position":"top","size":"large","colour":"yellow","fade":true}),
            json!({"op":"music","media":"lofi.mp3","volume":35,"fade_in_s":1,"fade_out_s":2,"ducking":true,"start_s":2,"end_s":5}),
            json!({"op":"aspect_ratio","ratio":"9:16"}),
            json!({"op":"backdrop","backdrop":"blur","clip":"intro.mp4"}),
            json!({"op":"undo"}),
            json!({"op":"remove_titles"}),
        ])
        .unwrap();
        assert_eq!(
            ops[0],
            EditOp::Trim {
                clip: Some(ClipRef::Index(3)),
                remove_first_s: Some(2.0),
                remove_last_s: None
            }
        );
        assert_eq!(ops[1].name(), "keep");
        assert_eq!(ops[6], EditOp::Undo { steps: None });
        // And back: the wire form round-trips.
        for op in &ops {
            let v = serde_json::to_value(op).unwrap();
            assert_eq!(&parse_ops(&[v]).unwrap()[0], op);
        }
    }

    #[test]
    fn bad_operations_name_the_operation_the_field_and_the_accepted_values() {
        let e = parse_ops(&[
            json!({"op":"undo"}),
            json!({"op":"title","text":"Hi","position":"upper"}),
        ])
        .unwrap_err();
        assert_eq!((e.index, e.op.as_str()), (2, "title"));
        assert_eq!(e.field.as_deref(), Some("position"));
        let s = e.to_string();
        for want in ["operation 2 (title)", "position", "top", "center", "bottom"] {
            assert!(s.contains(want), "{want} missing in: {s}");
        }
        let e = parse_ops(&[json!({"op":"fade"})]).unwrap_err();
        assert!(e.to_string().contains("trim, keep, move"), "{e}");
        let e = parse_ops(&[json!({"op":"aspect_ratio","ratio":"4:3"})]).unwrap_err();
        assert!(
            e.to_string().contains("16:9") && e.to_string().contains("ratio"),
            "{e}"
        );
        let e = parse_ops(&[json!({"op":"title","text":"x","colour":"mauve"})]).unwrap_err();
        assert!(
            e.to_string().contains("`colour`") && e.to_string().contains("yellow"),
            "{e}"
        );
        let e = parse_ops(&[json!({"op":"trim","clip":0,"remove_first_s":1})]).unwrap_err();
        assert!(
            e.to_string().contains("`clip`") && e.to_string().contains("first"),
            "{e}"
        );
        let e = parse_ops(&[json!({"op":"music","volum":3})]).unwrap_err();
        assert!(
            e.to_string().contains("volum") && e.to_string().contains("volume"),
            "{e}"
        );
        let e = parse_ops(&[json!({"op":"music","start_s":5,"end_s":2})]).unwrap_err();
        assert!(e.to_string().contains("`end_s`"), "{e}");
        let e = parse_ops(&[json!({"op":"volume","percent":500})]).unwrap_err();
        assert!(e.to_string().contains("0 to 200"), "{e}");
        let e = parse_ops(&[json!({"op":"move","clip":1})]).unwrap_err();
        assert!(e.to_string().contains("before"), "{e}");
    }

    #[test]
    fn colours_by_name_or_hex() {
        assert_eq!(colour_rgb("Yellow"), Some((255, 214, 0)));
        assert_eq!(colour_rgb("#FF0000"), Some((255, 0, 0)));
        assert_eq!(colour_rgb("红色"), Some((230, 30, 40)));
        assert_eq!(colour_rgb("#12"), None);
    }
}
