//! The binary side of the local engine commands (`replace`, `demo`, `segment`): raw clap
//! arguments, their conversion into validated engine options, the terminal progress bar, and
//! one function per command. The library never sees a raw flag.
//! Also the MCP-side commands, one file each: `serve`, `register`, `doctor`.

mod args;
mod bar;
mod commands;
pub mod doctor;
pub mod register;
pub mod serve;

pub use args::{DemoArgs, ReplaceArgs, SegmentArgs};
pub use commands::{demo, replace, segment};
