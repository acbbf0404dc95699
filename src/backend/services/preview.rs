//! Before/after previews of background edits: the clip's middle frame next to the same frame
//! on the backdrop the agent chose (`engine::preview`), rendered on a blocking thread and
//! never inside a store transaction, then kept as media of the session. The record's id
//! starts with [`ID_PREFIX`] and it is not in the session's upload list, so the agent never
//! offers it as a clip or backdrop; otherwise it is media like any upload: `/media` serves it
//! to its owner only, retention and the start-up cleanup treat it the same way, and the
//! session state lists it in `generated_media`.

use std::io::Write;
use std::path::PathBuf;

use crate::api;
use crate::backend::error::Error;
use crate::backend::store::{MediaRecord, Store, now_secs, sha256_hex};
use crate::engine;

/// Largest preview JPEG, in bytes (the engine's limit, within the contract's).
pub const MAX_BYTES: usize = engine::preview::MAX_BYTES;
const _: () = assert!(MAX_BYTES <= api::PREVIEW_MAX_BYTES);
/// Largest preview clip, in bytes (the engine's limit, within the contract's).
pub const CLIP_MAX_BYTES: usize = engine::preview_clip::CLIP_MAX_BYTES;
const _: () = assert!(CLIP_MAX_BYTES <= api::PREVIEW_CLIP_MAX_BYTES);

/// Media ids of previews start with this (uploads: `med_`).
pub const ID_PREFIX: &str = "prv_";

/// What to preview: one clip of a session with the backdrop it now has.
#[derive(Debug, Clone)]
pub struct PreviewSource {
    pub user_id: String,
    pub session_id: String,
    /// The clip's name on the timeline (for the preview's name and the log).
    pub clip: String,
    /// The clip's stored file.
    pub file: PathBuf,
    pub backdrop: engine::Backdrop,
}

/// Why no preview was made. Never fails an edit: the caller logs it and answers no URL.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The engine could not read the clip or compose the frame (an unreadable file, a clip
    /// removed by retention meanwhile, a backdrop that cannot be drawn).
    #[error("rendering the preview of {clip}: {source}")]
    Render {
        clip: String,
        #[source]
        source: engine::Error,
    },
    /// The JPEG came out above [`MAX_BYTES`].
    #[error("the preview of {clip} came out at {bytes} bytes, above the {MAX_BYTES} byte limit")]
    TooLarge { clip: String, bytes: usize },
    /// Writing the file or its record failed.
    #[error("storing the preview of {clip}: {source}")]
    Store {
        clip: String,
        #[source]
        source: Error,
    },
}

/// Render the preview of `src`, store it as media of its session and return the record
/// (serve it at `services::media::media_url`). Blocking work runs on blocking threads; the
/// transaction only renames the finished file into place and writes the record.
pub async fn make(store: &Store, src: PreviewSource) -> Result<MediaRecord, PreviewError> {
    let clip = src.clip.clone();
    let store_err = |clip: &str, source: Error| PreviewError::Store {
        clip: clip.to_string(),
        source,
    };
    let media_dir = store.media_dir().to_path_buf();
    let (file, backdrop, name) = (src.file.clone(), src.backdrop.clone(), clip.clone());
    let rendered = tokio::task::spawn_blocking(move || {
        let jpeg = engine::preview::clip_before_after(&file, &backdrop).map_err(|source| {
            PreviewError::Render {
                clip: name.clone(),
                source,
            }
        })?;
        if jpeg.len() > MAX_BYTES {
            return Err(PreviewError::TooLarge {
                clip: name,
                bytes: jpeg.len(),
            });
        }
        // Beside its final place, under a prefix the start-up cleanup removes after a crash.
        let mut tmp = tempfile::Builder::new()
            .prefix(".upload-")
            .tempfile_in(&media_dir)
            .map_err(|e| store_err(&name, e.into()))?;
        tmp.write_all(&jpeg)
            .and_then(|()| tmp.flush())
            .map_err(|e| store_err(&name, e.into()))?;
        let (width, height) = jpeg_size(&jpeg);
        Ok((
            tmp.into_temp_path(),
            jpeg.len(),
            sha256_hex(&jpeg),
            width,
            height,
        ))
    })
    .await
    .map_err(|e| store_err(&clip, e.into()))??;
    let (tmp, bytes, hash, width, height) = rendered;
    let rec = MediaRecord {
        media_id: format!("{ID_PREFIX}{}", uuid::Uuid::new_v4().simple()),
        user_id: src.user_id,
        session_id: src.session_id,
        filename: preview_name(&clip),
        file_type: "image".into(),
        ext: "jpg".into(),
        bytes: bytes as u64,
        duration: 0.0,
        width,
        height,
        fps: 0.0,
        hash,
        created_at: now_secs(),
    };
    store
        .run(move |db| {
            let dest = db.media_file(&rec);
            tmp.persist(&dest)
                .map_err(|e| Error::internal(format!("storing {}: {e}", dest.display())))?;
            if let Err(e) = db.put_media(&rec) {
                let _ = std::fs::remove_file(&dest);
                return Err(e);
            }
            Ok(rec)
        })
        .await
        .map_err(|e| store_err(&clip, e))
}

/// Render the before/after *clip* of `src` (`engine::preview_clip`: a few seconds, side by
/// side, ≤ 480 pixels high, ≤ [`CLIP_MAX_BYTES`]) and store it as media of its session, like
/// the JPEG. Still images and transparent backdrops have none (a `Render` error).
pub async fn make_clip(store: &Store, src: PreviewSource) -> Result<MediaRecord, PreviewError> {
    let clip = src.clip.clone();
    let store_err = |clip: &str, source: Error| PreviewError::Store {
        clip: clip.to_string(),
        source,
    };
    let media_dir = store.media_dir().to_path_buf();
    let (file, backdrop, name) = (src.file.clone(), src.backdrop.clone(), clip.clone());
    let rendered = tokio::task::spawn_blocking(move || {
        // Beside its final place, under a prefix the start-up cleanup removes after a crash.
        let tmp = tempfile::Builder::new()
            .prefix(".upload-")
            .suffix(".mp4")
            .tempfile_in(&media_dir)
            .map_err(|e| store_err(&name, e.into()))?
            .into_temp_path();
        engine::preview_clip::clip_before_after_video(&file, &backdrop, &tmp).map_err(
            |source| PreviewError::Render {
                clip: name.clone(),
                source,
            },
        )?;
        let bytes = std::fs::read(&tmp).map_err(|e| store_err(&name, e.into()))?;
        if bytes.len() > CLIP_MAX_BYTES {
            return Err(PreviewError::TooLarge {
                clip: name,
                bytes: bytes.len(),
            });
        }
        let info = engine::probe(&tmp).map_err(|source| PreviewError::Render {
            clip: name.clone(),
            source,
        })?;
        Ok((tmp, bytes.len(), sha256_hex(&bytes), info))
    })
    .await
    .map_err(|e| store_err(&clip, e.into()))??;
    let (tmp, bytes, hash, info) = rendered;
    let rec = MediaRecord {
        media_id: format!("{ID_PREFIX}{}", uuid::Uuid::new_v4().simple()),
        user_id: src.user_id,
        session_id: src.session_id,
        filename: preview_name(&clip).replace(".jpg", ".mp4"),
        file_type: "video".into(),
        ext: "mp4".into(),
        bytes: bytes as u64,
        duration: info.duration_s,
        width: info.width,
        height: info.height,
        fps: info.fps,
        hash,
        created_at: now_secs(),
    };
    store
        .run(move |db| {
            let dest = db.media_file(&rec);
            tmp.persist(&dest)
                .map_err(|e| Error::internal(format!("storing {}: {e}", dest.display())))?;
            if let Err(e) = db.put_media(&rec) {
                let _ = std::fs::remove_file(&dest);
                return Err(e);
            }
            Ok(rec)
        })
        .await
        .map_err(|e| store_err(&clip, e))
}

/// `talk.mp4` → `talk before-after.jpg`.
fn preview_name(clip: &str) -> String {
    let stem = std::path::Path::new(clip)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("clip");
    format!("{stem} before-after.jpg")
}

/// Width and height of a JPEG from its header; (0, 0) when unreadable.
fn jpeg_size(jpeg: &[u8]) -> (u32, u32) {
    image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg)
        .into_dimensions()
        .unwrap_or((0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The app's backdrop buttons send words the engine understands (issue 22).
    #[test]
    fn every_backdrop_preset_resolves() {
        for p in api::BACKDROP_PRESETS {
            let b = engine::backdrop::resolve(p.backdrop)
                .unwrap_or_else(|e| panic!("preset {:?}: {e}", p.label));
            assert!(!b.description.is_empty(), "{}", p.label);
        }
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(preview_name("talk.mp4"), "talk before-after.jpg");
        assert_eq!(preview_name(""), "clip before-after.jpg");
    }

    #[tokio::test]
    async fn an_unreadable_clip_is_an_error_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        let file = dir.path().join("not_a_video.mp4");
        std::fs::write(&file, b"This is not a video.").unwrap();
        let src = PreviewSource {
            user_id: "anon_x".into(),
            session_id: "ses_x".into(),
            clip: "not_a_video.mp4".into(),
            file,
            backdrop: engine::backdrop::resolve("blur").unwrap(),
        };
        let err = make(&store, src).await.unwrap_err();
        assert!(matches!(err, PreviewError::Render { .. }), "{err}");
        let left: Vec<_> = std::fs::read_dir(store.media_dir()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
