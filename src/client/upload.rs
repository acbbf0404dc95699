//! Uploads: local checks before anything is sent (type by extension AND content signature,
//! size against the 500 MB limit), so 4001/4002 are caught on this machine; and multipart
//! parts that stream each file from disk instead of reading it into memory.

use std::io::Read;
use std::path::{Path, PathBuf};

use reqwest::Method;
use reqwest::multipart::{Form, Part};

use super::Inner;
use super::call::{Call, Needs};
use super::error::ClientError;
use crate::api::{
    AUDIO_FORMATS, IMAGE_FORMATS, MAX_UPLOAD_BYTES, UPLOAD_FIELD, UploadResult, UploadUrlsRequest,
    UploadedFile, VIDEO_FORMATS, paths,
};

/// `http://` or `https://`: an upload by URL rather than a local file.
pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

impl Inner {
    /// Local files, checked for type and size before upload, streamed from disk; recorded in
    /// the session's uploads.
    pub(crate) async fn upload_paths(
        &self,
        paths: &[PathBuf],
    ) -> Result<Vec<UploadedFile>, ClientError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        // Every file is checked before anything is sent.
        let files = paths
            .iter()
            .map(|p| check_file(p))
            .collect::<Result<Vec<_>, _>>()?;
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let http = self.http.clone();
        let call = Call {
            file: Some(names.join(", ")),
            ..Call::new("upload", Needs::Session)
        };
        let result: UploadResult = self
            .call_json_untimed(call, &mut |c| {
                Ok(http
                    .request(Method::POST, &paths::upload(&c.session_id), Some(&c.token))
                    .multipart(form(&files)?))
            })
            .await?;
        let sources: Vec<String> = paths
            .iter()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        self.update_state(|s| s.session_uploads.extend(sources))?;
        Ok(result.files)
    }

    /// Files by URL (the service fetches them); recorded in the session's uploads.
    pub(crate) async fn upload_url_list(
        &self,
        urls: &[String],
    ) -> Result<Vec<UploadedFile>, ClientError> {
        if urls.is_empty() {
            return Ok(Vec::new());
        }
        let http = self.http.clone();
        let call = Call {
            file: Some(urls.join(", ")),
            ..Call::new("upload", Needs::Session)
        };
        let body = UploadUrlsRequest::new(urls.to_vec());
        let result: UploadResult = self
            .call_json_untimed(call, &mut |c| {
                Ok(http
                    .request(Method::POST, &paths::upload(&c.session_id), Some(&c.token))
                    .json(&body))
            })
            .await?;
        self.update_state(|s| s.session_uploads.extend(urls.iter().cloned()))?;
        Ok(result.files)
    }
}

/// A local file that passed the checks.
#[derive(Debug, Clone)]
pub struct CheckedFile {
    pub path: std::path::PathBuf,
    pub file_name: String,
    pub size: u64,
    pub mime: &'static str,
}

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// ISO base media (`ftyp`, or an old QuickTime atom): mp4 / mov / m4a.
    IsoBmff,
    /// EBML: webm / mkv.
    Matroska,
    Avi,
    Wav,
    WebP,
    Jpeg,
    Png,
    Gif,
    /// ID3 tag or an MPEG audio / ADTS frame sync: mp3 / aac.
    MpegAudio,
    Unknown,
}

impl Signature {
    pub fn of(head: &[u8]) -> Signature {
        let at = |i: usize, s: &[u8]| head.len() >= i + s.len() && &head[i..i + s.len()] == s;
        if at(4, b"ftyp")
            || [b"moov", b"mdat", b"wide", b"free", b"skip"]
                .iter()
                .any(|a| at(4, *a))
        {
            Signature::IsoBmff
        } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
            Signature::Matroska
        } else if at(0, b"RIFF") && at(8, b"AVI ") {
            Signature::Avi
        } else if at(0, b"RIFF") && at(8, b"WAVE") {
            Signature::Wav
        } else if at(0, b"RIFF") && at(8, b"WEBP") {
            Signature::WebP
        } else if at(0, &[0xFF, 0xD8, 0xFF]) {
            Signature::Jpeg
        } else if at(0, b"\x89PNG\r\n\x1a\n") {
            Signature::Png
        } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
            Signature::Gif
        } else if at(0, b"ID3")
            || at(0, b"ADIF")
            || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0)
        {
            Signature::MpegAudio
        } else {
            Signature::Unknown
        }
    }

    /// The extensions this content may carry.
    fn extensions(self) -> &'static [&'static str] {
        match self {
            Signature::IsoBmff => &["mp4", "mov", "m4a"],
            Signature::Matroska => &["webm", "mkv"],
            Signature::Avi => &["avi"],
            Signature::Wav => &["wav"],
            Signature::WebP => &["webp"],
            Signature::Jpeg => &["jpg", "jpeg"],
            Signature::Png => &["png"],
            Signature::Gif => &["gif"],
            Signature::MpegAudio => &["mp3", "aac"],
            Signature::Unknown => &[],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Signature::IsoBmff => "an MP4/MOV file",
            Signature::Matroska => "a WebM/MKV file",
            Signature::Avi => "an AVI file",
            Signature::Wav => "a WAV file",
            Signature::WebP => "a WebP image",
            Signature::Jpeg => "a JPEG image",
            Signature::Png => "a PNG image",
            Signature::Gif => "a GIF image",
            Signature::MpegAudio => "an MP3/AAC file",
            Signature::Unknown => "no known media format",
        }
    }
}

fn mime_of(ext: &str) -> &'static str {
    match ext {
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        _ => "application/octet-stream",
    }
}

/// Check one local file the way the service would, without uploading it.
pub fn check_file(path: &Path) -> Result<CheckedFile, ClientError> {
    let name = path.display().to_string();
    let file_err = |source| ClientError::File {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(file_err)?;
    if !meta.is_file() {
        return Err(ClientError::UnsupportedFile {
            name,
            detail: "this is a directory, not a media file".into(),
        });
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let accepted = VIDEO_FORMATS
        .iter()
        .chain(IMAGE_FORMATS)
        .chain(AUDIO_FORMATS)
        .any(|f| *f == ext);
    if !accepted {
        let detail = if ext.is_empty() {
            "the file has no extension, so its type is unknown".to_string()
        } else {
            format!("'.{ext}' files are not accepted")
        };
        return Err(ClientError::UnsupportedFile { name, detail });
    }
    if meta.len() > MAX_UPLOAD_BYTES {
        return Err(ClientError::FileTooLarge {
            name,
            size: Some(meta.len()),
        });
    }
    if meta.len() == 0 {
        return Err(ClientError::UnsupportedFile {
            name,
            detail: "the file is empty".into(),
        });
    }
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(file_err)?;
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]).map_err(file_err)? {
            0 => break,
            n => filled += n,
        }
    }
    let sig = Signature::of(&head[..filled]);
    if !sig.extensions().contains(&ext.as_str()) {
        let detail = match sig {
            Signature::Unknown => {
                format!("its content is not a .{ext} file (no known media format)")
            }
            other => format!(
                "its content is {}, not a .{ext} file; rename it to .{}",
                other.describe(),
                other.extensions()[0]
            ),
        };
        return Err(ClientError::UnsupportedFile { name, detail });
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("upload.{ext}"));
    Ok(CheckedFile {
        path: path.to_path_buf(),
        file_name,
        size: meta.len(),
        mime: mime_of(&ext),
    })
}

/// A multipart form with one `files` part per file, each streamed from disk. Built anew for
/// every attempt (a streamed body cannot be replayed).
pub fn form(files: &[CheckedFile]) -> Result<Form, ClientError> {
    let mut form = Form::new();
    for f in files {
        let std_file = std::fs::File::open(&f.path).map_err(|source| ClientError::File {
            path: f.path.clone(),
            source,
        })?;
        let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(std_file));
        let part = Part::stream_with_length(reqwest::Body::wrap_stream(stream), f.size)
            .file_name(f.file_name.clone())
            .mime_str(f.mime)
            .map_err(|e| ClientError::Message(format!("cannot build the upload: {e}")))?;
        form = form.part(UPLOAD_FIELD, part);
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        std::env::var_os("EBC_FIXTURES")
            .map(Into::into)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
            })
    }

    #[test]
    fn signatures() {
        assert_eq!(Signature::of(b"\0\0\0 ftypisom"), Signature::IsoBmff);
        assert_eq!(
            Signature::of(&[0x1A, 0x45, 0xDF, 0xA3, 1]),
            Signature::Matroska
        );
        assert_eq!(Signature::of(b"RIFF\0\0\0\0WAVEfmt "), Signature::Wav);
        assert_eq!(Signature::of(b"RIFF\0\0\0\0AVI LIST"), Signature::Avi);
        assert_eq!(Signature::of(b"\x89PNG\r\n\x1a\n"), Signature::Png);
        assert_eq!(Signature::of(&[0xFF, 0xD8, 0xFF, 0xE0]), Signature::Jpeg);
        assert_eq!(Signature::of(&[0xFF, 0xFB, 0x90]), Signature::MpegAudio);
        assert_eq!(Signature::of(b"This is not"), Signature::Unknown);
        assert_eq!(Signature::of(b""), Signature::Unknown);
    }

    #[test]
    fn fixture_clip_passes_and_text_file_named_mp4_does_not() {
        let ok = check_file(&fixtures().join("clips/noaudio_640x360.mp4")).unwrap();
        assert_eq!(ok.mime, "video/mp4");
        assert_eq!(ok.file_name, "noaudio_640x360.mp4");
        let err = check_file(&fixtures().join("clips/not_a_video.mp4")).unwrap_err();
        assert!(matches!(err, ClientError::UnsupportedFile { .. }), "{err}");
        assert!(err.to_string().contains("not_a_video.mp4"));
    }

    #[test]
    fn extension_content_mismatch_and_bad_extension() {
        let dir = tempfile::tempdir().unwrap();
        let webm_as_mp4 = dir.path().join("a.mp4");
        std::fs::write(&webm_as_mp4, [0x1A, 0x45, 0xDF, 0xA3, 0, 0, 0, 0]).unwrap();
        let e = check_file(&webm_as_mp4).unwrap_err().to_string();
        assert!(e.contains("rename it to .webm"), "{e}");
        let flv = dir.path().join("a.flv");
        std::fs::write(&flv, b"FLV\x01").unwrap();
        let e = check_file(&flv).unwrap_err().to_string();
        assert!(
            e.contains("'.flv' files are not accepted") && e.contains("mp4 mov"),
            "{e}"
        );
        let missing = check_file(&dir.path().join("nope.mp4")).unwrap_err();
        assert!(matches!(missing, ClientError::File { .. }));
    }

    #[test]
    fn over_500_mb_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.mp4");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_UPLOAD_BYTES + 1).unwrap(); // sparse: no disk used
        let e = check_file(&big).unwrap_err();
        assert!(
            matches!(e, ClientError::FileTooLarge { size: Some(_), .. }),
            "{e}"
        );
        assert!(e.to_string().contains("501 MB") && e.to_string().contains("500 MB"));
    }
}
