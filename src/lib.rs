//! editor-background-changer: an MCP server that replaces the background of video clips,
//! the NemoVideo client it talks through, and the embedded backend + local engine that serve
//! the same API offline. Module map and dependency rules: see DESIGN.md (arrows point down).

pub mod api;
pub mod backend;
pub mod client;
pub mod config;
pub mod engine;
pub mod fsx;
pub mod host_os;
pub mod mcp;

/// The crate version, sent as `X-Skill-Version` and listed in `mcp-manifest.json`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The skill name, sent as `X-Skill-Source`.
pub const SKILL_SOURCE: &str = "editor-background-changer";
