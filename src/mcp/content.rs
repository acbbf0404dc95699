//! What a tool result may hold under the protocol version the host negotiated. Hosts validate
//! results against their version's schema, so a content type that version does not define
//! makes the whole call fail on the host even though the work was done (TypeScript SDK 1.0.4:
//! `ZodError invalid_union … "resource_link"`).
//!
//! Sources: the schema of each revision, <https://modelcontextprotocol.io/specification/>
//! `2024-11-05/schema.ts` (content: text, image, resource), `2025-03-26` (adds audio),
//! `2025-06-18` (adds resource_link, `structuredContent` and the tool's `outputSchema`).
//! A tool listed with an `outputSchema` must answer with `structuredContent` (2025-06-18
//! "Structured Content"); the TypeScript SDK 1.32.2 client enforces it (`callTool` throws
//! -32600 "Tool … has an output schema but did not return structured content"), so a version
//! without structured content gets its tools without output schemas (`tools_for_version`).

use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, ProtocolVersion, Tool};

/// What one revision's `CallToolResult` can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub audio: bool,
    pub resource_link: bool,
    pub structured_content: bool,
}

impl Allowed {
    /// The content of `version`; an unknown or absent version is treated as the newest, a
    /// version older than 2024-11-05 as 2024-11-05. Versions are `YYYY-MM-DD`, so they order
    /// as strings.
    pub fn for_version(version: Option<&ProtocolVersion>) -> Self {
        let v = version.map(ProtocolVersion::as_str).unwrap_or("9999-12-31");
        Allowed {
            audio: v >= ProtocolVersion::V_2025_03_26.as_str(),
            resource_link: v >= ProtocolVersion::V_2025_06_18.as_str(),
            structured_content: v >= ProtocolVersion::V_2025_06_18.as_str(),
        }
    }

    fn keeps(&self, block: &ContentBlock) -> bool {
        match block {
            ContentBlock::Text(_) | ContentBlock::Image(_) | ContentBlock::Resource(_) => true,
            ContentBlock::Audio(_) => self.audio,
            ContentBlock::ResourceLink(_) => self.resource_link,
            // A content type newer than this code: only for hosts as new as the newest known.
            _ => self.resource_link,
        }
    }
}

/// `result` with only what `version` defines. Dropped resource links lose nothing: every tool
/// also puts the path in its text, and the structured fields are repeated as JSON text.
pub fn for_version(result: CallToolResult, version: Option<&ProtocolVersion>) -> CallToolResult {
    let allowed = Allowed::for_version(version);
    let mut result = result;
    result.content.retain(|block| allowed.keeps(block));
    if !allowed.structured_content {
        result.structured_content = None;
    }
    result
}

/// `tools` as `version` defines them: no `outputSchema` where results carry no structured
/// content (before 2025-06-18), so that hosts do not reject every result.
pub fn tools_for_version(tools: Vec<Tool>, version: Option<&ProtocolVersion>) -> Vec<Tool> {
    if Allowed::for_version(version).structured_content {
        return tools;
    }
    tools
        .into_iter()
        .map(|mut t| {
            t.output_schema = None;
            t
        })
        .collect()
}

/// The same for a whole tool response; only a completed call carries content.
pub fn response_for_version(
    response: CallToolResponse,
    version: Option<&ProtocolVersion>,
) -> CallToolResponse {
    match response {
        CallToolResponse::Complete(result) => {
            CallToolResponse::Complete(for_version(result, version))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::Resource;

    #[test]
    fn output_schemas_only_where_results_are_structured() {
        let schema = std::sync::Arc::new(serde_json::Map::new());
        let tool = Tool::new("t", "d", schema.clone()).with_raw_output_schema(schema);
        for (v, kept) in [
            (ProtocolVersion::V_2024_11_05, false),
            (ProtocolVersion::V_2025_03_26, false),
            (ProtocolVersion::V_2025_06_18, true),
            (ProtocolVersion::V_2026_07_28, true),
        ] {
            let tools = tools_for_version(vec![tool.clone()], Some(&v));
            assert_eq!(tools[0].output_schema.is_some(), kept, "{v:?}");
        }
    }

    fn result() -> CallToolResult {
        let mut r = CallToolResult::structured(serde_json::json!({"path": "/tmp/a.mp4"}));
        r.content = vec![
            ContentBlock::text("Saved the video to /tmp/a.mp4"),
            ContentBlock::resource_link(Resource::new("file:///tmp/a.mp4", "a.mp4")),
            ContentBlock::image("AAAA", "image/jpeg"),
        ];
        r
    }

    #[test]
    fn resource_links_only_from_2025_06_18() {
        for (version, links) in [
            (ProtocolVersion::V_2024_11_05, false),
            (ProtocolVersion::V_2025_03_26, false),
            (ProtocolVersion::V_2025_06_18, true),
            (ProtocolVersion::V_2025_11_25, true),
            (ProtocolVersion::V_2026_07_28, true),
        ] {
            let r = for_version(result(), Some(&version));
            let has_link = r.content.iter().any(|c| c.as_resource_link().is_some());
            assert_eq!(has_link, links, "{version}");
            assert_eq!(r.structured_content.is_some(), links, "{version}");
            assert!(r.content[0].as_text().unwrap().text.contains("/tmp/a.mp4"));
            assert!(
                r.content.iter().any(|c| c.as_image().is_some()),
                "{version}"
            );
        }
        assert!(
            for_version(result(), None)
                .content
                .iter()
                .any(|c| c.as_resource_link().is_some())
        );
    }
}
