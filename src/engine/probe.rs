//! ffprobe: what a media file is (kind, size after rotation, fps, frame count, audio, codec).
// OWNER: engine-io helper. Signatures are the contract other modules compile against.

use std::path::Path;

use super::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Video,
    Image,
    Audio,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MediaInfo {
    pub kind: MediaKind,
    /// Container format name as ffprobe reports it (e.g. "mov,mp4,m4a,3gp,3g2,mj2").
    pub format_name: String,
    pub video_codec: Option<String>,
    /// Displayed size: rotation already applied (a sideways-coded phone clip reports 720x1280).
    pub width: u32,
    pub height: u32,
    /// Clockwise rotation in degrees the decoder applies (0, 90, 180, 270).
    pub rotation: u32,
    pub fps: f64,
    pub frames: u64,
    pub duration_s: f64,
    pub has_audio: bool,
    pub audio_codec: Option<String>,
}

pub fn probe(path: &Path) -> Result<MediaInfo> {
    let _ = path;
    todo!("engine-io helper")
}
