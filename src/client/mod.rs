//! `NemoClient`: token and session lifecycle, attribution headers, retries, uploads, SSE,
//! state, credits and renders against any server speaking the NemoVideo API.
