//! Tool arguments and structured results. Arguments derive `Deserialize + JsonSchema` (their
//! doc comments become the field descriptions the model reads); results derive
//! `Serialize + JsonSchema` and become each tool's `outputSchema`.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::api::Draft;

/// Which stage a long call is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Running,
    Completed,
    Failed,
}

/// Carried by every result of a tool that can outlive one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobFields {
    /// Which backend served the call: "local" (embedded, offline) or "cloud" (NemoVideo).
    pub backend: String,
    /// "running" (call the same tool again with this job_id to keep waiting), "completed" or "failed".
    pub status: JobStatus,
    /// Set when the work outlived one call; pass it back as `{"job_id": …}` to continue waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// Accept `"a.mp4"` as well as `["a.mp4"]`: models often send one string for a one-item list.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadMediaRequest {
    /// Local file paths (absolute, or starting with ~) and/or http(s) URLs of videos, images or
    /// audio to add to the project. Several at once are fine. Never base64 data.
    /// Accepted: video mp4 mov avi webm mkv · image jpg png gif webp · audio mp3 wav m4a aac; up to 500 MB each.
    #[serde(default, deserialize_with = "one_or_many")]
    pub media: Vec<String>,
    /// Continue waiting for an earlier upload_media call that returned status "running".
    #[serde(default)]
    pub job_id: Option<String>,
}

/// One uploaded file as the project now knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UploadedMedia {
    /// The name to refer to it by (e.g. in replace_background's `media`).
    pub name: String,
    /// "video", "image" or "audio".
    pub kind: String,
    /// Seconds (0 for images).
    pub duration_s: f64,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UploadMediaResponse {
    #[serde(flatten)]
    pub job: JobFields,
    /// What happened, for the user.
    pub message: String,
    /// The uploaded files (when completed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<UploadedMedia>,
    /// The timeline after the upload (when completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceBackgroundRequest {
    /// What to do, in the user's words, e.g. "replace my office background with a clean studio backdrop".
    #[serde(default)]
    pub instruction: Option<String>,
    /// The new background: a description ("clean studio backdrop", "gradient navy to teal",
    /// "blur", "#1E90FF", "green screen", "transparent") or a local path/URL of an image or video.
    #[serde(default)]
    pub backdrop: Option<String>,
    /// Which clip: the name upload_media returned, or a local path/URL (uploaded first).
    /// Omit to apply to every video clip in the project.
    #[serde(default)]
    pub media: Option<String>,
    /// Continue waiting for an earlier replace_background call that returned status "running".
    #[serde(default)]
    pub job_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditVideoRequest {
    /// The edits as typed operations, applied together (all or none, one new timeline
    /// version), in order. Prefer these over `instruction`. Clips are named by file name, by
    /// 1-based position, or "first"/"last".
    #[serde(default)]
    #[schemars(with = "Option<Vec<crate::api::EditOp>>")]
    pub operations: Option<Vec<serde_json::Value>>,
    /// The edit in plain words, for what `operations` cannot say, e.g. "add the title
    /// 'Urban Dreams' for 3 seconds", "make it 9:16", "cut the first 2 seconds of the third clip".
    #[serde(default)]
    pub instruction: Option<String>,
    /// Continue waiting for an earlier edit_video call that returned status "running".
    #[serde(default)]
    pub job_id: Option<String>,
}

/// The result of a message to the editing agent (replace_background, edit_video).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EditResponse {
    #[serde(flatten)]
    pub job: JobFields,
    /// What the editor did, for the user (GUI directions already turned into tool calls).
    pub message: String,
    /// Changes to the timeline, one per line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// The timeline after the edit (summary line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
    /// The reply stream dropped and the result was recovered by reading the project state
    /// (the request was not sent twice).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered_after_disconnect: bool,
    /// About the before/after preview image: attached, or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// A few seconds of the clip, before (left) | after (right), as an MP4 to read with
    /// `resources/read` (`ui://editor-background-changer/preview/….mp4`); for the MCP App.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_clip: Option<String>,
}

/// Encoder quality of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportQuality {
    #[default]
    High,
    Medium,
    Low,
}

impl ExportQuality {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportQuality::High => "high",
            ExportQuality::Medium => "medium",
            ExportQuality::Low => "low",
        }
    }
}

/// The person matte of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportMatte {
    /// The renderer's default.
    #[default]
    Default,
    /// The selfie segmentation model alone: fastest.
    Fast,
    /// Portrait matting on every 2nd frame, carried between: close to `quality`'s edges at
    /// a third of its cost.
    Balanced,
    /// The selfie model fused with portrait matting on every frame: hair-level edges,
    /// slowest.
    Quality,
}

impl ExportMatte {
    /// The render request's `output.matte`, `None` for the renderer's default.
    pub fn as_option(self) -> Option<&'static str> {
        match self {
            ExportMatte::Default => None,
            ExportMatte::Fast => Some("fast"),
            ExportMatte::Balanced => Some("balanced"),
            ExportMatte::Quality => Some("quality"),
        }
    }
}

/// Output resolution: fits 1920×1080 or 1280×720 (portrait: 1080×1920, 720×1280), aspect
/// kept, never upscaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum ExportResolution {
    #[default]
    #[serde(rename = "1080p", alias = "1080", alias = "1080P", alias = "fhd")]
    P1080,
    #[serde(rename = "720p", alias = "720", alias = "720P", alias = "hd")]
    P720,
}

impl ExportResolution {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportResolution::P1080 => "1080p",
            ExportResolution::P720 => "720p",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportVideoRequest {
    /// Where to save the MP4: a file path ending in .mp4, or an existing folder. Absolute,
    /// starting with ~, or a file:// URI. Default: the user's Videos folder (else home), named
    /// after the time.
    #[serde(default)]
    pub output_path: Option<String>,
    /// Replace the file at output_path if it exists. Default false: an existing file is never
    /// replaced, and the call fails naming it. Names chosen in a folder are always new files.
    #[serde(default)]
    pub overwrite: bool,
    /// "high" (default), "medium" or "low".
    #[serde(default)]
    pub quality: Option<ExportQuality>,
    /// "1080p" (default) or "720p".
    #[serde(default)]
    pub resolution: Option<ExportResolution>,
    /// Person matte: "quality" (sharp hair and edges, slowest), "balanced" (nearly as sharp,
    /// quicker) or "fast" (quickest). Not the encoder's `quality`. Default: "balanced".
    #[serde(default)]
    pub matte: Option<ExportMatte>,
    /// Export one clip alone, with its own trim and background (no titles or music): its
    /// name from upload_media, its 1-based position, or "first"/"last". Default: the whole
    /// timeline.
    #[serde(default)]
    #[schemars(with = "Option<crate::api::ClipRef>")]
    pub media: Option<serde_json::Value>,
    /// Export every clip to its own file (each alone, with its own trim and background),
    /// named after the clips, in the folder output_path (default: the Videos folder, a new
    /// folder named after the time). Default false: the whole timeline in one file.
    #[serde(default)]
    pub each: bool,
    /// Continue waiting for an earlier export_video call that returned status "running".
    #[serde(default)]
    pub job_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExportVideoResponse {
    #[serde(flatten)]
    pub job: JobFields,
    /// What happened, for the user.
    pub message: String,
    /// The saved MP4 (when completed; with `each`, the first file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// With `each`: every saved file, one per clip, in timeline order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ExportedClip>,
    /// With `each`: one export job per clip, in timeline order (its id, clip, state, and its
    /// file once saved). Follow one with `{"job_id": …}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<ClipJob>,
    /// Its size in bytes (when completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The file at output_path existed and was replaced (only with `overwrite: true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaced: bool,
    /// Render progress, 0–100, while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<ExportQuality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ExportResolution>,
    /// The person matte the video was cut with ("fast" | "balanced" | "quality"), the
    /// default's name when none was asked for; as the local backend reports it (the cloud
    /// does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matte: Option<String>,
    /// With a cloud export: a link that opens the project on the NemoVideo website
    /// (`https://nemovideo.com/workspace/claim?ct=…`), to keep editing in the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_link: Option<String>,
}

/// One clip exported to its own file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExportedClip {
    /// The clip's name on the timeline.
    pub clip: String,
    pub path: String,
    pub bytes: u64,
}

/// One clip's export job of an `each: true` export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClipJob {
    /// Pass back as `{"job_id": …}` to export_video to follow this clip's export alone.
    pub job_id: String,
    /// The clip's name on the timeline.
    pub clip: String,
    /// "running", "completed" or "failed".
    pub status: JobStatus,
    /// The saved file (when completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Its size in bytes (when completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Why it failed, or how far it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CreditsResponse {
    /// Which backend served the call: "local" or "cloud".
    pub backend: String,
    /// Credits that can be spent now.
    pub available: f64,
    /// Credits held by running work.
    pub frozen: f64,
    pub total: f64,
    /// The balance in words.
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TimelineResponse {
    /// Which backend served the call: "local" or "cloud".
    pub backend: String,
    /// One line, e.g. `Timeline (2 tracks): 1. Video: city.mp4 (0-10s, background: studio) 2. BGM: Lo-fi (0-10s, 35%)`.
    pub summary: String,
    pub tracks: usize,
    /// Some track has content, so export_video can render it.
    pub exportable: bool,
    /// Which stored version of the timeline this is (undo/redo move between them), when the
    /// backend keeps versions (the local one does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<TimelineVersion>,
    /// The version in words, e.g. "Version 2 of 3 of the timeline (undo/redo with edit_video)."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_note: Option<String>,
    /// The draft in the service's short keys: `t` tracks · `tt` type (0 video, 1 audio, 7 title) · `sg` segments · `d` ms · `m` metadata.
    pub draft: Draft,
}

/// Where the timeline's undo history stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineVersion {
    /// The version shown (0 before the first edit).
    pub current: u32,
    /// The newest version (redo goes up to it).
    pub latest: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_accepts_one_string_or_a_list() {
        let one: UploadMediaRequest = serde_json::from_str(r#"{"media":"a.mp4"}"#).unwrap();
        let many: UploadMediaRequest =
            serde_json::from_str(r#"{"media":["a.mp4","https://x/b.mov"]}"#).unwrap();
        let none: UploadMediaRequest = serde_json::from_str(r#"{"job_id":"job_1"}"#).unwrap();
        assert_eq!(one.media, vec!["a.mp4"]);
        assert_eq!(many.media.len(), 2);
        assert!(none.media.is_empty());
        assert_eq!(none.job_id.as_deref(), Some("job_1"));
    }

    #[test]
    fn export_options_read_their_wire_names() {
        let r: ExportVideoRequest = serde_json::from_str(
            r#"{"output_path":"/tmp/a.mp4","quality":"medium","resolution":"720p"}"#,
        )
        .unwrap();
        assert_eq!(r.quality, Some(ExportQuality::Medium));
        assert_eq!(r.resolution, Some(ExportResolution::P720));
        let r: ExportVideoRequest = serde_json::from_str(r#"{"resolution":"1080"}"#).unwrap();
        assert_eq!(r.resolution, Some(ExportResolution::P1080));
        assert!(serde_json::from_str::<ExportVideoRequest>(r#"{"quality":"ultra"}"#).is_err());
        // An argument a tool does not know is an error naming it and the known ones.
        let e = serde_json::from_str::<ExportVideoRequest>(r#"{"eech":true}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("eech") && e.contains("each") && e.contains("output_path"),
            "{e}"
        );
    }

    #[test]
    fn running_results_are_valid_without_the_final_fields() {
        let v = serde_json::json!({"backend":"local","status":"running","job_id":"job_1","message":"…"});
        let r: ExportVideoResponse = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.job.status, JobStatus::Running);
        let e: EditResponse = serde_json::from_value(v).unwrap();
        assert!(e.changes.is_empty());
    }
}
