//! Settings from flags and environment variables, resolved once at startup into plain
//! structs; nothing below reads the environment itself.

pub mod backend;
pub mod client;
pub mod dirs;
pub mod os_paths;

#[cfg(feature = "faults")]
pub use backend::Faults;
pub use backend::{BackendConfig, Dialect, Limits, SseDialect};
pub use client::{BackendChoice, ClientConfig, PollPace};
