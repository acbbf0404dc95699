//! Everything decided before a frame moves: the input probed, the output size and container,
//! the pixel layout on the encoder pipe, and every refusal a user can fix (output = input,
//! unknown extension, transparency in a container that cannot hold it).

use std::path::{Path, PathBuf};

use super::source::{self, Source};
use super::{Quality, ReplaceOptions, SegmentOptions};
use crate::engine::backdrop::BackdropSpec;
use crate::engine::clock::Clock;
use crate::engine::color::HdrMode;
use crate::engine::composite::Compositor;
use crate::engine::ffmpeg::{Carry, Container, PixelLayout, output_size};
use crate::engine::matte::MatteOptions;
use crate::engine::probe::{ACCEPTED_FORMATS, MediaInfo, MediaKind, ProbeDetail, probe_detail};
use crate::engine::{Error, Result};

/// What the composite stage does to each frame.
pub(super) enum Look {
    /// Person over the backdrop (or alpha); `bg_video` is looped under it when set.
    Composite {
        compositor: Box<Compositor>,
        bg_video: Option<PathBuf>,
    },
    /// The matte itself, as a gray frame.
    Matte,
}

pub(super) struct Plan {
    pub input: PathBuf,
    pub output: PathBuf,
    pub info: MediaInfo,
    pub frame_rate: String,
    /// How the picture is decoded, the frames' matrix and the output's tags.
    pub source: Source,
    /// The one map from input to output time.
    pub clock: Clock,
    pub time_base: (u64, u64),
    pub carry: Carry,
    /// Problems found while planning (e.g. a subtitle track the output cannot hold).
    pub warnings: Vec<String>,
    pub width: u32,
    pub height: u32,
    pub container: Container,
    pub layout: PixelLayout,
    pub look: Look,
    pub matte: MatteOptions,
    pub quality: Quality,
    pub x264_preset: String,
    pub preview: Option<PathBuf>,
    /// The backdrop in words (or "matte" for `segment`).
    pub backdrop: String,
}

impl Plan {
    pub fn for_replace(opts: &ReplaceOptions) -> Result<Plan> {
        let container = output_container(&opts.output)?;
        refuse_same_file(&opts.input, &opts.output)?;
        if let Some(p) = &opts.preview {
            let jpg = p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"));
            if !jpg {
                return Err(Error::Setting {
                    name: "preview",
                    message: format!("{}: the preview is a JPEG; name it .jpg", p.display()),
                });
            }
            refuse_same_file(&opts.input, p)?;
        }
        if opts.x264_preset.trim().is_empty() || opts.x264_preset.contains(char::is_whitespace) {
            return Err(Error::Setting {
                name: "preset",
                message: format!(
                    "{:?} is not an x264 preset; use one of ultrafast, superfast, veryfast, faster, fast, medium, slow",
                    opts.x264_preset
                ),
            });
        }
        let (mut info, detail) = probe_detail(&opts.input)?;
        check_kind(&opts.input, &opts.output, &info, container)?;
        let source = decide(&opts.input, &mut info, &detail, opts.hdr);
        if source.ten_bit
            && matches!(container, Container::Mp4 | Container::Mov | Container::Mkv)
            && !has_encoder("libx265")
        {
            return Err(Error::Setting {
                name: "keep-hdr",
                message: format!(
                    "{}: kept HDR is written as HEVC Main 10 (what phones, TVs and browsers play as HDR), but this ffmpeg has no libx265 encoder; install an ffmpeg built with libx265 (Debian's and Ubuntu's have it), write .webm (VP9 profile 2), or leave out --keep-hdr for SDR BT.709",
                    opts.output.display()
                ),
            });
        }
        let (width, height) = output_size(info.width, info.height, opts.max_long_side);
        let compositor = Compositor::with_matrix(
            &opts.backdrop,
            width as usize,
            height as usize,
            source.matrix,
        )?;
        let layout = if compositor.outputs_alpha() {
            if !matches!(container, Container::Webm | Container::Mov | Container::Png) {
                return Err(Error::Setting {
                    name: "output",
                    message: format!(
                        "{}: a transparent backdrop needs an output that keeps transparency; use .webm (VP9 with alpha) or .mov (ProRes 4444){}",
                        opts.output.display(),
                        if info.kind == MediaKind::Image {
                            ", or .png for an image"
                        } else {
                            ""
                        }
                    ),
                });
            }
            PixelLayout::Yuva420p
        } else {
            PixelLayout::Yuv420p
        };
        let bg_video = if compositor.needs_video_frames() {
            match &opts.backdrop.spec {
                BackdropSpec::Video(p) => {
                    refuse_same_file(p, &opts.output)?;
                    Some(p.clone())
                }
                other => {
                    return Err(Error::Backdrop {
                        spec: format!("{other:?}"),
                        message: "wants video frames but names no video file".into(),
                    });
                }
            }
        } else {
            None
        };
        let (carry, mut warnings) = carry(&opts.input, &detail, container);
        warnings.extend(odd_rotation_warning(&opts.input, &detail));
        Ok(Plan {
            input: opts.input.clone(),
            output: opts.output.clone(),
            frame_rate: detail.frame_rate.clone(),
            source,
            clock: detail.clock,
            time_base: detail.time_base,
            carry,
            warnings,
            info,
            width,
            height,
            container,
            layout,
            look: Look::Composite {
                compositor: Box::new(compositor),
                bg_video,
            },
            matte: opts.matte.clone(),
            quality: opts.quality,
            x264_preset: opts.x264_preset.clone(),
            preview: opts.preview.clone(),
            backdrop: opts.backdrop.description.clone(),
        })
    }

    pub fn for_segment(opts: &SegmentOptions) -> Result<Plan> {
        let container = output_container(&opts.output)?;
        refuse_same_file(&opts.input, &opts.output)?;
        let (mut info, detail) = probe_detail(&opts.input)?;
        check_kind(&opts.input, &opts.output, &info, container)?;
        let source = decide(&opts.input, &mut info, &detail, HdrMode::ToneMap);
        let wanted = if info.kind == MediaKind::Image {
            Container::Png
        } else {
            Container::Mkv
        };
        if container != wanted {
            return Err(Error::Setting {
                name: "output",
                message: format!(
                    "{}: a matte is written as {} for {}; name the output .{}",
                    opts.output.display(),
                    if wanted == Container::Png {
                        "a gray PNG"
                    } else {
                        "lossless gray FFV1 video"
                    },
                    if wanted == Container::Png {
                        "an image"
                    } else {
                        "a clip"
                    },
                    wanted.extension()
                ),
            });
        }
        let (width, height) = output_size(info.width, info.height, opts.max_long_side);
        Ok(Plan {
            input: opts.input.clone(),
            output: opts.output.clone(),
            frame_rate: detail.frame_rate.clone(),
            source,
            clock: detail.clock,
            time_base: detail.time_base,
            carry: Carry::default(),
            warnings: odd_rotation_warning(&opts.input, &detail)
                .into_iter()
                .collect(),
            info,
            width,
            height,
            container,
            layout: PixelLayout::Gray,
            look: Look::Matte,
            matte: opts.matte.clone(),
            quality: Quality::High,
            x264_preset: super::DEFAULT_X264_PRESET.into(),
            preview: None,
            backdrop: "matte (white = person)".into(),
        })
    }

    pub fn is_still(&self) -> bool {
        self.info.kind == MediaKind::Image
    }
}

/// The source decisions; a still's EXIF orientation turns its displayed size.
fn decide(input: &Path, info: &mut MediaInfo, detail: &ProbeDetail, hdr: HdrMode) -> Source {
    let still = info.kind == MediaKind::Image;
    let src = source::decide(input, info, detail, hdr, still);
    let turned = src
        .look
        .pre_filters
        .iter()
        .any(|f| f.starts_with("transpose"));
    if still && src.look.no_autorotate && info.rotation % 180 == 90 {
        // The EXIF orientation replaces any rotation ffprobe reported: back to coded size.
        std::mem::swap(&mut info.width, &mut info.height);
        info.rotation = 0;
    }
    if still && turned {
        std::mem::swap(&mut info.width, &mut info.height);
    }
    src
}

/// Every audio track; the subtitle tracks the container can hold (a warning names the
/// others); chapters and metadata.
fn carry(input: &Path, detail: &ProbeDetail, container: Container) -> (Carry, Vec<String>) {
    let mut warnings = Vec::new();
    let dropped: Vec<&str> = detail
        .subtitles
        .iter()
        .filter(|t| container.subtitle_codec(&t.codec).is_none())
        .map(|t| t.codec.as_str())
        .collect();
    if !dropped.is_empty() && !container.is_still() {
        warnings.push(format!(
            "{}: {} subtitle track(s) ({}) left out: a .{} file cannot hold them; write .mkv to keep them",
            input.display(),
            dropped.len(),
            dropped.join(", "),
            container.extension()
        ));
    }
    let carry = Carry {
        audio: detail.audio.iter().map(|t| t.codec.clone()).collect(),
        subtitles: detail.subtitles.iter().map(|t| t.codec.clone()).collect(),
        audio_titles: detail.audio.iter().map(|t| t.title.clone()).collect(),
        subtitle_titles: detail.subtitles.iter().map(|t| t.title.clone()).collect(),
        metadata: true,
        video_language: detail.video_language.clone(),
    };
    (carry, warnings)
}

/// Whether ffmpeg has the encoder `name` (`ffmpeg -encoders`), looked up once per name.
fn has_encoder(name: &str) -> bool {
    use crate::engine::ffmpeg::Tool;
    use std::sync::OnceLock;
    static LIST: OnceLock<String> = OnceLock::new();
    let list = LIST.get_or_init(|| {
        let mut cmd = Tool::Ffmpeg.command();
        cmd.arg("-encoders").stdin(std::process::Stdio::null());
        cmd.output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    });
    list.lines()
        .any(|l| l.split_whitespace().nth(1) == Some(name))
}

/// The warning for a display matrix that is not a quarter turn (left unapplied).
fn odd_rotation_warning(input: &Path, detail: &ProbeDetail) -> Option<String> {
    let deg = detail.odd_rotation?;
    Some(format!(
        "{}: its display matrix turns the picture {:.0}° {}, which is not a quarter turn; ignored (players such as mpv, browsers and ExoPlayer show only quarter turns): the output is the picture as coded, not squeezed",
        input.display(),
        deg.abs(),
        if deg >= 0.0 {
            "clockwise"
        } else {
            "counter-clockwise"
        }
    ))
}

fn output_container(output: &Path) -> Result<Container> {
    if output.is_dir() {
        return Err(Error::Setting {
            name: "output",
            message: format!(
                "{} is a folder; give a file name such as out.mp4",
                output.display()
            ),
        });
    }
    Container::from_path(output).ok_or_else(|| Error::Setting {
        name: "output",
        message: format!(
            "{}: unknown output type; name it {}",
            output.display(),
            Container::LIST
        ),
    })
}

/// The input is never overwritten: refuse an output that is the input file.
fn refuse_same_file(input: &Path, output: &Path) -> Result<()> {
    let same = match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Error::Setting {
            name: "output",
            message: format!(
                "{} is the input file; write the result to another path (the input is never overwritten)",
                output.display()
            ),
        });
    }
    Ok(())
}

fn check_kind(input: &Path, output: &Path, info: &MediaInfo, container: Container) -> Result<()> {
    match info.kind {
        MediaKind::Audio => Err(Error::input(
            input,
            format!("has sound but no picture; give a video or an image ({ACCEPTED_FORMATS})"),
        )),
        MediaKind::Image if !container.is_still() => Err(Error::Setting {
            name: "output",
            message: format!(
                "{}: the input {} is a still image, so the output is one too; name it .png or .jpg",
                output.display(),
                input.display()
            ),
        }),
        MediaKind::Video if container.is_still() => Err(Error::Setting {
            name: "output",
            message: format!(
                "{}: the input {} is a video; name the output .mp4 (or .mov, .webm, .mkv)",
                output.display(),
                input.display()
            ),
        }),
        _ => Ok(()),
    }
}
