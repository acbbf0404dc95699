//! Settings from flags and environment variables, resolved once at startup into plain
//! structs; nothing below reads the environment itself.

pub mod backend;
pub mod client;
pub mod dirs;

pub use backend::{BackendConfig, Faults};
pub use client::{BackendChoice, ClientConfig};
