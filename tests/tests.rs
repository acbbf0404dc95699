//! One integration-test binary; modules by theme.

mod backend_http;
mod cli;
mod client;
mod clip_util;
mod engine_clips;
mod mcp;
mod mcp_timeline;
mod quality;
mod register;
mod segment;
mod timeline;
