//! The NemoVideo wire contract: request/response types, error codes, the `Draft` timeline
//! (short keys) and SSE event types with an incremental parser/encoder. Knows nothing of
//! reqwest or axum: both the client and the embedded backend share these types.

mod backdrops;
mod codes;
mod draft;
mod edit_op;
pub mod edit_sentence;
mod envelope;
pub mod lenient;
pub mod sse;
pub mod sse_parser;
pub mod timestamp;
mod types;

pub use backdrops::{BACKDROP_PRESETS, BackdropPreset};
pub use codes::*;
pub use draft::{Draft, Segment, Track, TrackType};
pub use edit_op::{
    AspectRatio, COLOURS, ClipRef, EditOp, OP_NAMES, OpError, TitlePosition, TitleSize, colour_rgb,
    parse_ops,
};
pub use envelope::{ApiFailure, Envelope, ErrorBody, decode_envelope};
pub use types::*;

/// `app_name` of every agent call.
pub const APP_NAME: &str = "nemo_agent";
/// Default cloud base URL.
pub const DEFAULT_CLOUD_URL: &str = "https://mega-api-prod.nemovideo.ai";

/// Request headers of the contract.
pub mod headers {
    pub const CLIENT_ID: &str = "X-Client-Id";
    pub const SKILL_SOURCE: &str = "X-Skill-Source";
    pub const SKILL_VERSION: &str = "X-Skill-Version";
    pub const SKILL_PLATFORM: &str = "X-Skill-Platform";
    /// The local backend's per-process key (never sent to the cloud).
    pub const ACCESS_KEY: &str = "X-Access-Key";
}

/// Endpoint paths (session-scoped ones take the session id).
pub mod paths {
    pub const ANONYMOUS_TOKEN: &str = "/api/auth/anonymous-token";
    pub const CLAIM_TOKEN: &str = "/api/auth/claim-token";
    pub const CREATE_SESSION: &str = "/api/tasks/me/with-session/nemo_agent";
    pub const RUN_SSE: &str = "/run_sse";
    pub const CREDITS: &str = "/api/credits/balance/simple";
    pub const RENDER: &str = "/api/render/proxy/lambda";

    pub fn upload(session_id: &str) -> String {
        format!("/api/upload-video/nemo_agent/me/{session_id}")
    }
    pub fn state(session_id: &str) -> String {
        format!("/api/state/nemo_agent/me/{session_id}/latest")
    }
    pub fn render_status(render_id: &str) -> String {
        format!("/api/render/proxy/lambda/{render_id}")
    }
    pub fn render_cancel(render_id: &str) -> String {
        format!("/api/render/proxy/lambda/{render_id}/cancel")
    }
    pub fn render_download(render_id: &str) -> String {
        format!("/api/render/proxy/{render_id}/download")
    }
}

/// Media formats the service accepts, by extension, for messages and local checks.
pub const VIDEO_FORMATS: &[&str] = &["mp4", "mov", "avi", "webm", "mkv"];
pub const IMAGE_FORMATS: &[&str] = &["jpg", "jpeg", "png", "gif", "webp"];
pub const AUDIO_FORMATS: &[&str] = &["mp3", "wav", "m4a", "aac"];
/// Upload size limit of the service.
pub const MAX_UPLOAD_BYTES: u64 = 500 * 1024 * 1024;

/// "video mp4 mov avi webm mkv · image jpg png gif webp · audio mp3 wav m4a aac"
pub fn accepted_formats_text() -> String {
    format!(
        "video {} · image {} · audio {}",
        VIDEO_FORMATS.join(" "),
        IMAGE_FORMATS.join(" "),
        AUDIO_FORMATS.join(" ")
    )
}
