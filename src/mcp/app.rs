//! The MCP App (`io.modelcontextprotocol/ui`, SEP-1865; spec 2026-01-26 of
//! `@modelcontextprotocol/ext-apps`): one self-contained HTML document built from `app/` by
//! `app/build.mjs` (ext-apps 2.0.4 bundled in, no network at run time) and embedded here,
//! served as [`APP_URI`] with mimeType [`APP_MIME`] through `resources/list` and
//! `resources/read`. Tools that show it carry `_meta.ui.resourceUri` ([`tool_meta`]).
//!
//! The preview clips of `replace_background` (a few seconds, before | after, ≤ 2 MiB MP4)
//! are kept here, a few at a time, and read by the app as `resources/read` blobs under
//! [`PREVIEW_PREFIX`]: the host's default content security policy lets media in only as
//! `data:` URLs, and the app cannot reach the loopback backend.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rmcp::model::{MetaObject, ReadResourceResult, Resource, ResourceContents};
use serde_json::json;

use crate::api::BACKDROP_PRESETS;

/// The app's resource URI.
pub const APP_URI: &str = "ui://editor-background-changer/editor.html";
/// The MIME type of MCP App documents (ext-apps `RESOURCE_MIME_TYPE`).
pub const APP_MIME: &str = "text/html;profile=mcp-app";
/// Preview clips are read at `ui://editor-background-changer/preview/<id>.mp4`.
pub const PREVIEW_PREFIX: &str = "ui://editor-background-changer/preview/";
/// The tools whose results the app shows.
pub const APP_TOOLS: &[&str] = &["replace_background", "show_timeline", "export_video"];

/// The built app (`app/build.mjs` → `assets/app/editor.html`; the test
/// `app_bundle_matches_its_sources` rebuilds it and compares).
const APP_HTML: &str = include_str!("../../assets/app/editor.html");
/// Where the backdrop presets go into the document at serve time.
const PRESETS_SLOT: &str = r#"<script id="ebc-presets" type="application/json">[]</script>"#;
/// Preview clips kept for reading (each ≤ 2 MiB).
const KEEP_CLIPS: usize = 6;

/// The document as served: the built HTML with the backdrop presets filled in.
pub fn document() -> String {
    let presets = serde_json::to_string(BACKDROP_PRESETS)
        .unwrap_or_else(|_| "[]".into())
        // Inside <script>: no `</` may appear.
        .replace("</", "<\\/");
    APP_HTML.replacen(
        PRESETS_SLOT,
        &format!(r#"<script id="ebc-presets" type="application/json">{presets}</script>"#),
        1,
    )
}

/// `_meta` of a tool that shows the app.
pub fn tool_meta() -> MetaObject {
    let mut meta = MetaObject::default();
    meta.0
        .insert("ui".into(), json!({ "resourceUri": APP_URI }));
    meta
}

/// The app as listed by `resources/list`.
pub fn listed() -> Resource {
    Resource::new(APP_URI, "editor")
        .with_title("Background editor")
        .with_description(
            "Before/after player, timeline, backdrop picker and export for the project (an MCP App).",
        )
        .with_mime_type(APP_MIME)
}

/// What `resources/read` answers for `uri`; `None` when it names nothing here.
pub fn read(uri: &str, clips: &PreviewClips) -> Option<ReadResourceResult> {
    if uri == APP_URI {
        let mut meta = MetaObject::default();
        // No network at all: the default policy (ext-apps spec) is what the app needs.
        meta.0.insert(
            "ui".into(),
            json!({ "prefersBorder": true, "csp": { "connectDomains": [], "resourceDomains": [] } }),
        );
        return Some(ReadResourceResult::new(vec![
            ResourceContents::TextResourceContents {
                uri: APP_URI.into(),
                mime_type: Some(APP_MIME.into()),
                text: document(),
                meta: Some(meta),
            },
        ]));
    }
    let id = uri.strip_prefix(PREVIEW_PREFIX)?.strip_suffix(".mp4")?;
    let bytes = clips.get(id)?;
    Some(ReadResourceResult::new(vec![
        ResourceContents::BlobResourceContents {
            uri: uri.into(),
            mime_type: Some("video/mp4".into()),
            blob: base64::engine::general_purpose::STANDARD.encode(bytes.as_slice()),
            meta: None,
        },
    ]))
}

/// The last few preview clips, by id.
#[derive(Default)]
pub struct PreviewClips {
    clips: Mutex<VecDeque<(String, Arc<Vec<u8>>)>>,
}

impl PreviewClips {
    /// Keep `mp4`; its resource URI.
    pub fn put(&self, mp4: Vec<u8>) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut clips = self.clips.lock().unwrap_or_else(|e| e.into_inner());
        if clips.len() >= KEEP_CLIPS {
            clips.pop_front();
        }
        clips.push_back((id.clone(), Arc::new(mp4)));
        format!("{PREVIEW_PREFIX}{id}.mp4")
    }

    fn get(&self, id: &str) -> Option<Arc<Vec<u8>>> {
        let clips = self.clips.lock().unwrap_or_else(|e| e.into_inner());
        clips.iter().find(|(k, _)| k == id).map(|(_, v)| v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_self_contained_and_carries_the_presets() {
        let html = document();
        assert!(html.starts_with("<!doctype html>"), "{}", &html[..40]);
        assert!(!html.contains(PRESETS_SLOT), "presets slot not filled");
        assert!(html.contains(r#""backdrop":"dark studio""#));
        // No network at run time: nothing loaded from elsewhere.
        for needle in [
            "<script src",
            "<link ",
            "src=\"http",
            "href=\"http",
            "url(http",
            "import(",
        ] {
            assert!(!html.contains(needle), "the app refers to {needle}");
        }
    }

    #[test]
    fn clips_are_read_back_as_blobs_and_old_ones_dropped() {
        let clips = PreviewClips::default();
        let first = clips.put(vec![1, 2, 3]);
        let r = read(&first, &clips).expect("readable");
        match &r.contents[0] {
            ResourceContents::BlobResourceContents {
                blob, mime_type, ..
            } => {
                assert_eq!(blob, "AQID");
                assert_eq!(mime_type.as_deref(), Some("video/mp4"));
            }
            other => panic!("{other:?}"),
        }
        for _ in 0..KEEP_CLIPS {
            clips.put(vec![0]);
        }
        assert!(read(&first, &clips).is_none());
        assert!(read("ui://editor-background-changer/nothing", &clips).is_none());
    }
}
