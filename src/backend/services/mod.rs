//! Services the routes call, below HTTP: the render queue, the rate limiter, media staging,
//! the local-path rules, previews, and (test builds only) the fault box.

#[cfg(feature = "faults")]
pub mod faults;
pub mod media;
pub mod paths;
pub mod preview;
pub mod ratelimit;
pub mod render_queue;
pub mod request_log;
pub mod sweeper;
