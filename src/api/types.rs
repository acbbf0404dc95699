//! Request and answer `data` types of each endpoint. Optional and defaulted fields are lenient
//! on purpose: the cloud omits fields, the contract's docs disagree in places (`outputUrl` vs
//! `output.url`), and unknown fields must not break a client.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::draft::Draft;
use super::lenient::{self, de};

/// `POST /api/auth/anonymous-token` → data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct AnonymousToken {
    pub token: String,
    /// `anon_…` for anonymous users (the seed and v1.9 docs).
    #[serde(default, deserialize_with = "de::string")]
    pub user_id: String,
    /// RFC 3339 or epoch seconds as the server wrote it.
    #[serde(default)]
    pub expires_at: serde_json::Value,
    #[serde(default, deserialize_with = "de::f64")]
    pub credits: f64,
}

/// `POST /api/tasks/me/with-session/nemo_agent` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct CreateSessionRequest {
    pub task_name: String,
    pub language: String,
}

impl Default for CreateSessionRequest {
    fn default() -> Self {
        CreateSessionRequest {
            task_name: "project".into(),
            language: "en".into(),
        }
    }
}

/// … → data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct SessionInfo {
    #[serde(default, deserialize_with = "de::string")]
    pub task_id: String,
    /// A string of digits on the cloud (`"5529798706024415232"`); a number is read as its digits.
    #[serde(deserialize_with = "de::string")]
    pub session_id: String,
    #[serde(default, deserialize_with = "de::string")]
    pub user_id: String,
}

/// `POST /api/auth/claim-token` body: which project the browser link opens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct ClaimTokenRequest {
    pub task_id: String,
    pub session_id: String,
}

/// … → data. The browser link is `$NEMO_WEB_URL/workspace/claim?ct=<claim_token>`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct ClaimToken {
    /// `clm_…`.
    #[serde(deserialize_with = "de::string")]
    pub claim_token: String,
    /// Seconds the claim token is valid.
    #[serde(default, deserialize_with = "de::f64")]
    pub expires_in: f64,
}

/// `POST /run_sse` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct RunSseRequest {
    pub app_name: String,
    pub user_id: String,
    pub session_id: String,
    pub new_message: NewMessage,
}

impl RunSseRequest {
    pub fn new(session_id: &str, text: &str) -> Self {
        RunSseRequest {
            app_name: super::APP_NAME.into(),
            user_id: "me".into(),
            session_id: session_id.into(),
            new_message: NewMessage {
                parts: vec![TextPart {
                    text: text.into(),
                    operations: None,
                }],
            },
        }
    }

    /// A message carrying typed edit operations: `text` says them in words (one sentence
    /// each, what an agent that reads only text understands) and the same part carries them
    /// as data under `operations`, which the embedded backend applies as given.
    pub fn with_operations(
        session_id: &str,
        text: &str,
        operations: Vec<serde_json::Value>,
    ) -> Self {
        let mut req = Self::new(session_id, text);
        req.new_message.parts[0].operations = Some(operations);
        req
    }

    /// The typed operations a part carries, if any (the first part that has them).
    pub fn operations(&self) -> Option<&[serde_json::Value]> {
        self.new_message
            .parts
            .iter()
            .find_map(|p| p.operations.as_deref())
    }

    /// The message text (parts joined).
    pub fn text(&self) -> String {
        self.new_message
            .parts
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct NewMessage {
    pub parts: Vec<TextPart>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct TextPart {
    #[serde(default)]
    pub text: String,
    /// Typed edit operations (`api::EditOp` as JSON), an extension of the embedded backend:
    /// sent only to it; `text` says the same in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<Vec<serde_json::Value>>,
}

/// `POST /api/upload-video/nemo_agent/me/S` JSON body (the URL variant).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct UploadUrlsRequest {
    pub urls: Vec<String>,
    /// Always "url".
    pub source_type: String,
}

impl UploadUrlsRequest {
    pub fn new(urls: Vec<String>) -> Self {
        UploadUrlsRequest {
            urls,
            source_type: "url".into(),
        }
    }
}

/// Name of the multipart field carrying files.
pub const UPLOAD_FIELD: &str = "files";

/// One uploaded file as the service describes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct UploadedFile {
    #[serde(default, deserialize_with = "de::string")]
    pub filename: String,
    /// "video", "image" or "audio".
    #[serde(default, deserialize_with = "de::string")]
    pub file_type: String,
    /// A URL the client can fetch the file from.
    #[serde(default, deserialize_with = "de::string")]
    pub cdn_url: String,
    /// Seconds, integer or float (0 when missing: images, older docs).
    #[serde(default, deserialize_with = "de::f64")]
    pub duration: f64,
    #[serde(default, deserialize_with = "de::u32")]
    pub width: u32,
    #[serde(default, deserialize_with = "de::u32")]
    pub height: u32,
    /// Frames per second (0 when missing: older docs send none).
    #[serde(default, deserialize_with = "de::f64")]
    pub fps: f64,
    /// sha256 of the content (hex); "" when missing (older docs send none).
    #[serde(default, deserialize_with = "de::string")]
    pub hash: String,
}

/// Upload → data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct UploadResult {
    #[serde(default, deserialize_with = "de::null_default")]
    pub files: Vec<UploadedFile>,
    #[serde(default, deserialize_with = "de::bool")]
    pub session_state_applied: bool,
}

/// `GET /api/credits/balance/simple` → data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct CreditsData {
    #[serde(deserialize_with = "de::f64")]
    pub available: f64,
    #[serde(default, deserialize_with = "de::f64")]
    pub frozen: f64,
    #[serde(default, deserialize_with = "de::f64")]
    pub total: f64,
}

/// `GET /api/state/nemo_agent/me/S/latest` → data. Older docs also put `session_id`,
/// `task_id` and `task_name` beside `state`; they are ignored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct StateData {
    #[serde(default, deserialize_with = "de::null_default")]
    pub state: SessionState,
}

/// The session state; unknown keys round-trip untouched.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct SessionState {
    #[serde(default)]
    pub draft: Option<Draft>,
    #[serde(default)]
    pub video_infos: serde_json::Value,
    #[serde(default)]
    pub canvas_config: serde_json::Value,
    #[serde(default)]
    pub generated_media: serde_json::Value,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Largest before/after preview an edit's answer may point at, in bytes (a JPEG of at most
/// 64 KB; see `EditToolResult::preview_url`).
pub const PREVIEW_MAX_BYTES: usize = 64 * 1024;

/// Largest before/after preview *clip* an edit's answer may point at, in bytes (an MP4 of at
/// most 2 MiB, ≤ 480 pixels high; see `EditToolResult::preview_clip_url`).
pub const PREVIEW_CLIP_MAX_BYTES: usize = 2 * 1024 * 1024;

/// The `response` of an edit's ADK `functionResponse` (the typed shape: `tool_result.result`),
/// as far as the client reads it. Everything else (`status`, `clip`, `background`, `edits`…)
/// is kept in `extra`, untouched.
///
/// `preview_url` is an extension of the embedded backend: after a background replacement it
/// points at a before/after JPEG (≤ [`PREVIEW_MAX_BYTES`]) of the clip's middle frame, served
/// under `/media/…` with the same bearer token as the session's other media. The cloud sends
/// none. Read liberally: absent, `null`, an empty string or any non-string value is `None`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct EditToolResult {
    #[serde(
        default,
        deserialize_with = "de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub preview_url: Option<String>,
    /// Also the embedded backend's: a few seconds of the clip, before (left) next to after
    /// (right), as an H.264 MP4 of at most [`PREVIEW_CLIP_MAX_BYTES`], served like the JPEG.
    /// Absent for still images and backdrops MP4 cannot hold (transparent). Read as liberally.
    #[serde(
        default,
        deserialize_with = "de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub preview_clip_url: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl EditToolResult {
    /// Read a tool result; anything that is not an object gives the empty result (an edit's
    /// answer in an unknown shape is not an error: the draft in the state is what counts).
    pub fn from_value(v: &serde_json::Value) -> Self {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }
}

/// `POST /api/render/proxy/lambda` body. Note the camelCase `sessionId`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct RenderRequest {
    /// `render_<unique>`.
    pub id: String,
    #[serde(rename = "sessionId")]
    pub session_id: String,
    pub draft: Draft,
    pub output: RenderOutput,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct RenderOutput {
    /// "mp4".
    pub format: String,
    /// "high" | "medium" | "low".
    pub quality: String,
    /// "1080p" | "720p" (an extension of ours; the cloud ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// "fast" | "balanced" | "quality": the person matte (an extension of ours; the cloud
    /// ignores it). Absent: the backend's default (`MatteMode::default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matte: Option<String>,
}

impl Default for RenderOutput {
    fn default() -> Self {
        RenderOutput {
            format: "mp4".into(),
            quality: "high".into(),
            resolution: None,
            matte: None,
        }
    }
}

/// Render job states.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RenderState {
    Pending,
    Processing,
    Completed,
    Failed,
    Cancelled,
}

impl RenderState {
    /// A status word as the docs and services spell it, case-insensitive: `pending`
    /// (`queued`, `waiting`, `submitted`), `processing` (`running`, `rendering`,
    /// `in_progress`), `completed` (`complete`, `done`, `success`, `succeeded`, `finished`),
    /// `failed` (`error`, `failure`), `cancelled` (`canceled`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "pending" | "queued" | "waiting" | "submitted" | "created" => RenderState::Pending,
            "processing" | "running" | "rendering" | "in_progress" | "started" => {
                RenderState::Processing
            }
            "completed" | "complete" | "done" | "success" | "succeeded" | "finished" => {
                RenderState::Completed
            }
            "failed" | "error" | "failure" => RenderState::Failed,
            "cancelled" | "canceled" => RenderState::Cancelled,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            RenderState::Completed | RenderState::Failed | RenderState::Cancelled
        )
    }
}

/// Render submit / status answer, in any of the three documented shapes (DESIGN.md "The
/// NemoVideo contract"): the seed's and v1.9's bare object (`status` at the top, URL at
/// `output.url`), the pre-4.4 bare object with `taskId`, and v4.4's
/// `{"success":true,"data":{id,status,progress,outputUrl}}`. The envelope decoding hands a
/// bare object over whole; reading it is `RenderStatus::from_value`. Written exactly as below.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct RenderStatus {
    #[serde(default)]
    pub id: String,
    pub status: RenderState,
    /// 0–100.
    #[serde(default)]
    pub progress: f64,
    #[serde(rename = "outputUrl", default, skip_serializing_if = "Option::is_none")]
    pub output_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<RenderOutputUrl>,
    /// Why a render failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The person matte the render is cut with ("fast" | "balanced" | "quality"), the
    /// default's name when the request named none (an extension of ours; the cloud sends
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matte: Option<String>,
}

impl RenderStatus {
    /// `outputUrl`, else `output.url`.
    pub fn url(&self) -> Option<&str> {
        self.output_url
            .as_deref()
            .filter(|u| !u.is_empty())
            .or_else(|| self.output.as_ref().map(|o| o.url.as_str()))
            .filter(|u| !u.is_empty())
    }

    /// Read a render answer liberally: the id from `id`, `taskId`, `task_id` or `render_id`
    /// (text or number); no `status` means a job just submitted (`pending`); `progress` as an
    /// integer, float, numeric string or `null`; the URL from `outputUrl`, `output_url`,
    /// `output.url` or an `output` that is itself a URL; `null` objects as missing.
    pub fn from_value(v: &serde_json::Value) -> Result<Self, String> {
        use serde_json::Value;
        let obj = v
            .as_object()
            .ok_or_else(|| format!("a render answer must be an object, not {v}"))?;
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| obj.get(*n).filter(|v| !v.is_null()))
        };
        let id = field(&["id", "taskId", "task_id", "render_id", "renderId"])
            .and_then(lenient::text)
            .unwrap_or_default();
        let status = match field(&["status", "state"]) {
            None => RenderState::Pending,
            Some(s) => {
                let s = s
                    .as_str()
                    .ok_or_else(|| format!("a render status must be text, not {s}"))?;
                RenderState::parse(s).ok_or_else(|| format!("unknown render status {s:?}"))?
            }
        };
        let progress = field(&["progress"])
            .and_then(lenient::number)
            .unwrap_or(0.0);
        let output_url = field(&["outputUrl", "output_url"])
            .and_then(Value::as_str)
            .map(str::to_string);
        let output = match field(&["output"]) {
            Some(Value::String(url)) => Some(RenderOutputUrl { url: url.clone() }),
            // Pre-4.4 docs add `duration` and `size` beside `url`: not needed here.
            Some(o @ Value::Object(_)) => {
                o.get("url")
                    .and_then(Value::as_str)
                    .map(|url| RenderOutputUrl {
                        url: url.to_string(),
                    })
            }
            _ => None,
        };
        let error = field(&["error", "errorMessage", "error_message"]).and_then(|e| {
            e.as_str()
                .map(str::to_string)
                .or_else(|| e.get("message").and_then(Value::as_str).map(str::to_string))
        });
        // A failed job may only say why in `message`.
        let error = error.or_else(|| {
            (status == RenderState::Failed)
                .then(|| field(&["message", "msg"]).and_then(Value::as_str))
                .flatten()
                .map(str::to_string)
        });
        let matte = field(&["matte"])
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(RenderStatus {
            id,
            status,
            progress,
            output_url,
            output,
            error,
            matte,
        })
    }
}

impl<'de> Deserialize<'de> for RenderStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        RenderStatus::from_value(&v).map_err(serde::de::Error::custom)
    }
}

/// `output` of a render answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct RenderOutputUrl {
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_request_uses_camel_case_session_id() {
        let r = RenderRequest {
            id: "render_1".into(),
            session_id: "s1".into(),
            draft: Draft::default(),
            output: RenderOutput::default(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["sessionId"], "s1");
        assert!(v.get("session_id").is_none());
    }

    #[test]
    fn render_status_reads_either_url_field() {
        let a: RenderStatus = serde_json::from_str(
            r#"{"id":"r","status":"completed","progress":100,"outputUrl":"http://x/a.mp4"}"#,
        )
        .unwrap();
        let b: RenderStatus = serde_json::from_str(
            r#"{"id":"r","status":"completed","progress":100,"output":{"url":"http://x/a.mp4"}}"#,
        )
        .unwrap();
        assert_eq!(a.url(), b.url());
    }

    /// Render answers in the three documented shapes (DESIGN.md "The NemoVideo contract";
    /// shared/cases/cloud.md 1–2), through the same envelope decoding the client uses.
    #[test]
    fn render_answers_in_every_documented_shape_decode() {
        use crate::api::decode_envelope;
        let decode = |body: &str| -> RenderStatus {
            decode_envelope::<RenderStatus>(200, body.as_bytes())
                .unwrap_or_else(|e| panic!("{body}: {e}"))
        };
        // seed + v1.9: bare object, status at top level, URL at output.url.
        let seed = decode(
            r#"{"id":"render_x","status":"completed","progress":100,"output":{"url":"http://h/x.mp4"}}"#,
        );
        assert_eq!(
            (seed.id.as_str(), seed.status, seed.url()),
            ("render_x", RenderState::Completed, Some("http://h/x.mp4"))
        );
        // pre-4.4: taskId, output with duration and size.
        let legacy = decode(r#"{"taskId":"render_x","status":"processing","progress":50}"#);
        assert_eq!(
            (legacy.id.as_str(), legacy.status, legacy.progress),
            ("render_x", RenderState::Processing, 50.0)
        );
        let legacy = decode(
            r#"{"taskId":"render_x","status":"completed","progress":100,"output":{"url":"http://h/x.mp4","duration":5.0,"size":455033}}"#,
        );
        assert_eq!(legacy.url(), Some("http://h/x.mp4"));
        // v4.4: success envelope, outputUrl.
        let v44 = decode(
            r#"{"success":true,"data":{"id":"render_x","status":"completed","progress":100,"outputUrl":"http://h/x.mp4"}}"#,
        );
        assert_eq!(
            (v44.id.as_str(), v44.url()),
            ("render_x", Some("http://h/x.mp4"))
        );
        // A submit answer without status is a pending job; ids may be numbers; null objects.
        let submitted = decode(r#"{"taskId":"render_x","progress":0}"#);
        assert_eq!(submitted.status, RenderState::Pending);
        let numeric = decode(r#"{"code":0,"data":{"id":5529798706024415232,"status":"pending"}}"#);
        assert_eq!(numeric.id, "5529798706024415232");
        let nulls = decode(
            r#"{"id":"r","status":"processing","progress":null,"output":null,"outputUrl":null,"error":null}"#,
        );
        assert_eq!((nulls.progress, nulls.url()), (0.0, None));
        let float = decode(r#"{"id":"r","status":"processing","progress":42.5}"#);
        assert_eq!(float.progress, 42.5);
    }

    /// The embedded backend's `preview_url`: absent (the cloud), `null`, text; other kinds of
    /// value and other shapes of answer are no URL, never an error.
    #[test]
    fn edit_results_read_the_optional_preview_url() {
        use serde_json::json;
        let read = |v: serde_json::Value| EditToolResult::from_value(&v).preview_url;
        assert_eq!(read(json!({"status": "ok", "clip": "a.mp4"})), None);
        assert_eq!(read(json!({"status": "ok", "preview_url": null})), None);
        assert_eq!(
            read(json!({"status": "ok", "preview_url": "http://127.0.0.1:9/media/prv_1.jpg"})),
            Some("http://127.0.0.1:9/media/prv_1.jpg".to_string())
        );
        assert_eq!(read(json!({"preview_url": "  "})), None);
        assert_eq!(read(json!({"preview_url": 5})), None);
        assert_eq!(read(json!({"preview_url": {"url": "x"}})), None);
        assert_eq!(read(json!("done")), None);
        assert_eq!(read(serde_json::Value::Null), None);
        // The other fields are kept as they came.
        let r = EditToolResult::from_value(&json!({"status": "ok", "preview_url": "/media/p.jpg"}));
        assert_eq!(r.extra["status"], "ok");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"status": "ok", "preview_url": "/media/p.jpg"})
        );
    }

    /// Integers or floats, ids as strings or numbers, `null` objects, missing optional fields.
    #[test]
    fn every_answer_type_is_liberal() {
        use crate::api::decode_envelope;
        let files: UploadResult = decode_envelope(
            200,
            br#"{"code":0,"data":{"files":[
                {"filename":"talk.mp4","file_type":"video","cdn_url":"http://h/t.mp4","duration":5.0,"width":1920.0,"height":1080},
                {"filename":"bg.png","file_type":"image","cdn_url":"http://h/b.png","width":800,"height":600},
                {"filename":"a.mp3","file_type":"audio","cdn_url":"http://h/a.mp3","duration":null,"width":null,"height":null,"fps":null,"hash":null}
            ]}}"#,
        )
        .unwrap();
        assert_eq!(files.files.len(), 3);
        assert_eq!((files.files[0].width, files.files[0].duration), (1920, 5.0));
        assert_eq!(files.files[1].duration, 0.0);
        assert_eq!(files.files[2].hash, "");

        let session: SessionInfo = decode_envelope(
            200,
            br#"{"code":0,"data":{"task_id":77,"session_id":5529798706024415232,"user_id":null}}"#,
        )
        .unwrap();
        assert_eq!(session.session_id, "5529798706024415232");
        assert_eq!(session.task_id, "77");

        let token: AnonymousToken = decode_envelope(
            200,
            br#"{"code":0,"data":{"token":"nmv_usr_x","user_id":"anon_4c1d","credits":100,"expires_at":"2026-12-07T00:00:00Z"}}"#,
        )
        .unwrap();
        assert_eq!(
            (token.user_id.as_str(), token.credits),
            ("anon_4c1d", 100.0)
        );

        let credits: CreditsData = decode_envelope(
            200,
            br#"{"code":0,"data":{"available":100,"frozen":null,"total":"100"}}"#,
        )
        .unwrap();
        assert_eq!(
            (credits.available, credits.frozen, credits.total),
            (100.0, 0.0, 100.0)
        );

        // Older docs: session_id, task_id and task_name beside `state`; `null` parts.
        let state: StateData = decode_envelope(
            200,
            br#"{"code":0,"data":{"session_id":"1","task_id":"2","task_name":"project","state":{"draft":{"t":[{"tt":0,"sg":[{"d":5000.0,"m":{"title":"talk.mp4"}}]}]},"video_infos":null,"canvas_config":null,"generated_media":null}}}"#,
        )
        .unwrap();
        let draft = state.state.draft.unwrap();
        assert_eq!(draft.t[0].sg[0].d, 5000);
    }
}
