//! Services the routes call, below HTTP: the local agent, the render queue and the drafts it
//! renders as timelines, the rate limiter, media staging, the one path gate and the backdrops it guards, previews, and
//! (test builds only) the fault box.

pub mod agent;
pub mod backdrop;
#[cfg(feature = "faults")]
pub mod faults;
pub mod fetch;
pub mod limits;
pub mod media;
pub mod paths;
pub mod preview;
pub mod ratelimit;
pub mod render_queue;
pub mod request_log;
pub mod sweeper;
pub mod timeline;
