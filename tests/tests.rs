//! One integration-test binary; modules by theme.

mod cli;
mod clip_util;
mod engine_clips;
mod mcp;
mod register;
mod segment;
