//! The embedded backend: an axum server of the NemoVideo API on loopback, with an on-disk
//! store, a local deterministic agent and a render queue backed by `engine`.
