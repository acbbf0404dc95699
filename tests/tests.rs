//! One integration-test binary; modules by theme.

mod app;
mod app_browser;
mod backend_http;
mod cli;
mod client;
mod clip_util;
mod engine_clips;
mod footage;
mod hosts;
mod mcp;
mod mcp_timeline;
mod packaging;
mod quality;
mod register;
mod segment;
mod support;
mod timeline;
mod ts_sdk;
