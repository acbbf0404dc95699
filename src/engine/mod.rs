//! The local rendering engine: media I/O over ffmpeg/ffprobe pipes, the segmentation model
//! runtime, matte refinement, backdrops, compositing, the staged frame pipeline, and the
//! timeline renderer (several clips, titles, music, aspect ratio) built on them.
//! Knows nothing of HTTP or MCP.

pub mod error;
pub mod frame;
pub mod progress;

pub use error::Error;
pub use frame::{Matte, YuvFrame};
pub use progress::{NoProgress, Progress, ProgressReporter};

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub mod backdrop;
pub mod clock;
pub mod color;
pub mod composite;
pub mod demo;
pub mod ffmpeg;
pub mod matte;
pub mod pipeline;
pub mod preview;
pub mod preview_clip;
pub mod probe;
pub mod segment;
pub mod timeline;

pub use backdrop::{Backdrop, BackdropSpec};
pub use pipeline::{Quality, ReplaceOptions, ReplaceReport, SegmentOptions, replace, segment};
pub use probe::{MediaInfo, MediaKind, probe};
pub use timeline::{TimelineOptions, TimelineReport, render_timeline};
