//! The NemoVideo wire contract: request/response types, error codes, the `Draft` timeline
//! (short keys) and SSE event types with an incremental parser/encoder. Knows nothing of
//! reqwest or axum: both the client and the embedded backend share these types.
