//! Settings from flags and environment variables, resolved once at startup into plain
//! structs; nothing below reads the environment itself.

pub mod backend;
pub mod client;

pub use backend::BackendConfig;
#[cfg(feature = "faults")]
pub use backend::Faults;
pub use client::{BackendChoice, ClientConfig};
