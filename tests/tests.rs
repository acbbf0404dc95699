//! One integration-test binary; modules by theme.

mod app;
mod app_browser;
mod attacks;
mod backend_http;
mod cli;
mod client;
mod clip_util;
mod consent;
mod edit_ops;
mod engine_clips;
mod footage;
mod footage2;
mod hosts;
mod matrix;
mod mcp;
mod mcp_timeline;
mod packaging;
mod portability;
mod quality;
mod register;
mod segment;
mod support;
mod tasks;
mod timeline;
mod timing;
mod ts_sdk;
