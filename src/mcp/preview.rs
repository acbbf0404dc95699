//! The before/after preview that comes with replace_background: the clip's middle frame next
//! to the same frame on the new backdrop, as a JPEG of at most 64 KB. The backend makes it
//! (the embedded one does; the cloud sends none) and names it in the edit's answer
//! (`RunOutcome::preview_url`); the client fetches it like any other file the service points
//! at, and it goes to the host as image content.

use base64::Engine as _;
use rmcp::model::ContentBlock;

use crate::api::PREVIEW_MAX_BYTES;
use crate::client::NemoClient;

/// The preview as the tool result carries it: the image, and the sentence for the result's
/// `preview` field.
pub struct Preview {
    pub image: Option<ContentBlock>,
    pub note: String,
}

/// Fetch the preview at `url` through `client` and check it is a JPEG of at most
/// [`PREVIEW_MAX_BYTES`]. Never an error: when it cannot be attached, `note` says why.
pub async fn fetch(client: &NemoClient, url: &str) -> Preview {
    match client.fetch_preview(url).await {
        Ok(jpeg) => attach(&jpeg),
        Err(e) => {
            tracing::warn!(error = %e, "the before/after preview could not be fetched");
            Preview {
                image: None,
                note: format!("No preview: {}", e.to_string().trim_end_matches('.')),
            }
        }
    }
}

/// `jpeg` as image content, or why not.
pub fn attach(jpeg: &[u8]) -> Preview {
    let refused = |why: String| Preview {
        image: None,
        note: format!("No preview: {why}."),
    };
    if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return refused("the backend's preview is not a JPEG image".into());
    }
    if jpeg.len() > PREVIEW_MAX_BYTES {
        return refused(format!(
            "the preview came out at {} KB, above the {} KB limit",
            jpeg.len().div_ceil(1024),
            PREVIEW_MAX_BYTES / 1024
        ));
    }
    let kb = jpeg.len().div_ceil(1024);
    Preview {
        image: Some(ContentBlock::image(
            base64::engine::general_purpose::STANDARD.encode(jpeg),
            "image/jpeg",
        )),
        note: format!("Attached: before/after of the clip's middle frame ({kb} KB JPEG)."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_jpegs_are_attached() {
        let ok = attach(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]);
        assert!(
            ok.image.is_some() && ok.note.starts_with("Attached"),
            "{}",
            ok.note
        );
        let png = attach(b"\x89PNG\r\n\x1a\n");
        assert!(
            png.image.is_none() && png.note.contains("not a JPEG"),
            "{}",
            png.note
        );
        let mut big = vec![0xFF, 0xD8, 0xFF];
        big.resize(PREVIEW_MAX_BYTES + 1, 0);
        let big = attach(&big);
        assert!(
            big.image.is_none() && big.note.contains("65 KB"),
            "{}",
            big.note
        );
    }
}
