//! The stages and their wiring (gifski style): one named scoped thread per stage, bounded
//! channels between them, one message struct per hop carrying the frame index, and buffers
//! sent back upstream for reuse, so the steady state allocates nothing per frame and memory
//! does not depend on the clip's length. Encoding runs on the calling thread, which also
//! reports progress and cancels.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, ScopedJoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use super::ReplaceReport;
use super::plan::{Look, Plan};
use crate::engine::clock::Clock;
use crate::engine::ffmpeg::{DecodeLook, Decoder, EncodeSpec, Encoder, PixelLayout};
use crate::engine::matte::fuse::{FineMatte, Fuser};
use crate::engine::matte::tween::Lookahead;
use crate::engine::matte::{MatteOptions, MatteRefiner};
use crate::engine::segment::{ModelKind, Segmenter};
use crate::engine::{Error, Progress, ProgressReporter, Result, YuvFrame, preview};

/// Frames queued between two stages. Small: a slow stage holds back the ones before it.
const QUEUE: usize = 2;

/// What a hop before the matting stage carries: a frame, or the clean end of the stream.
/// A channel that closes without `End` means a stage upstream failed (or the run stopped):
/// the matting stage must not take that for the clip's end (`fine_stage`).
enum Flow<T> {
    Frame(T),
    End,
}

struct Decoded {
    index: u64,
    /// Presentation time on the output's clock (`Clock::output_ns`), ns.
    pts_ns: i64,
    frame: YuvFrame,
    /// A copy of the untouched frame, kept for the before/after preview.
    before: Option<Box<YuvFrame>>,
}

struct Segmented {
    index: u64,
    /// Presentation time on the output's clock (`Clock::output_ns`), ns.
    pts_ns: i64,
    frame: YuvFrame,
    before: Option<Box<YuvFrame>>,
    /// Model output at model size.
    raw: Vec<f32>,
    /// Quality matte: MODNet's alpha for this frame, when it ran on it.
    fine: Option<Box<FineMatte>>,
}

struct Refined {
    index: u64,
    /// Presentation time on the output's clock (`Clock::output_ns`), ns.
    pts_ns: i64,
    frame: YuvFrame,
    before: Option<Box<YuvFrame>>,
    /// Full-resolution alpha, 255 = person.
    alpha: Vec<u8>,
}

struct Composited {
    index: u64,
    pts_ns: i64,
    frame: YuvFrame,
}

/// Where the matte found a person: for the "nobody there" warnings.
#[derive(Debug, Default)]
struct Presence {
    frames: u64,
    with_person: u64,
    /// The longest run of frames without a person: (first pts, pts after the last), ns.
    longest_gap: Option<(i64, i64)>,
    gap_start: Option<i64>,
    last_pts: i64,
}

/// A frame shows a person when at least this share of its pixels is person (alpha ≥ 128):
/// 0.2 %, a face far away in a 1080p frame still counts.
const PERSON_SHARE: f64 = 0.002;

impl Presence {
    fn add(&mut self, pts_ns: i64, alpha: &[u8]) {
        let person = alpha.iter().filter(|&&a| a >= 128).count();
        let present = person as f64 >= PERSON_SHARE * alpha.len() as f64;
        self.frames += 1;
        if present {
            self.with_person += 1;
            self.close_gap(pts_ns);
        } else if self.gap_start.is_none() {
            self.gap_start = Some(pts_ns);
        }
        self.last_pts = pts_ns;
    }

    fn close_gap(&mut self, end_ns: i64) {
        if let Some(start) = self.gap_start.take() {
            let longer = self.longest_gap.is_none_or(|(s, e)| end_ns - start > e - s);
            if longer {
                self.longest_gap = Some((start, end_ns));
            }
        }
    }

    /// The warnings for `input`: nobody at all, or nobody for at least `min_gap_s`.
    fn warnings(mut self, input: &Path, frame_ns: i64, min_gap_s: f64) -> Vec<String> {
        let end = self.last_pts + frame_ns;
        self.close_gap(end);
        if self.frames == 0 {
            return Vec::new();
        }
        if self.with_person == 0 {
            return vec![format!(
                "{}: no person was found, so the whole picture became backdrop; the result is complete, but check that this is the clip you meant (the person should be clearly visible)",
                input.display()
            )];
        }
        match self.longest_gap {
            Some((s, e)) if (e - s) as f64 / 1e9 >= min_gap_s => {
                let at = |t: i64| t as f64 / 1e9;
                vec![format!(
                    "{}: the person was lost from {:.1} s to {:.1} s ({:.1} s): those frames show only the backdrop",
                    input.display(),
                    at(s),
                    at(e),
                    (e - s) as f64 / 1e9
                )]
            }
            _ => Vec::new(),
        }
    }
}

struct DecodeSummary {
    frames: u64,
    /// What ffmpeg said while decoding (non-empty for damaged inputs).
    stderr_tail: String,
}

pub(super) fn run(plan: Plan, progress: &mut dyn ProgressReporter) -> Result<ReplaceReport> {
    let started = Instant::now();
    let dir = match plan.output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let suffix = format!(".{}", plan.container.extension());
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ebc-").suffix(&suffix);
    // A finished output is an ordinary file, not a private temp file.
    crate::host_os::temp_access(&mut builder, crate::host_os::Access::Shared);
    let tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(&dir, e))?;
    let total = plan.info.frames.max(1);
    let still = plan.is_still();
    if !progress.update(&Progress {
        frames_done: 0,
        frames_total: total,
        fps: 0.0,
        eta: None,
    }) {
        return Err(Error::Cancelled);
    }

    let (w, h) = (plan.width as usize, plan.height as usize);
    let preview_at = plan.preview.as_ref().map(|_| plan.info.frames / 2);
    let kind = ModelKind::for_frame(w, h);
    let audio_codec = plan.info.audio_codec.clone().unwrap_or_default();
    let spec = EncodeSpec {
        output: tmp.path(),
        display: &plan.output,
        container: plan.container,
        layout: plan.layout,
        width: plan.width,
        height: plan.height,
        frame_rate: if plan.is_still() {
            "1/1"
        } else {
            &plan.frame_rate
        },
        quality: plan.quality,
        x264_preset: &plan.x264_preset,
        // A matte has no use for sound; other outputs carry the input's tracks and metadata
        // (even without audio: subtitles, chapters, creation date).
        audio: (plan.layout != PixelLayout::Gray)
            .then_some((plan.input.as_path(), audio_codec.as_str())),
        color: plan.source.color.clone(),
        time_base: Some(plan.time_base),
        clock: plan.clock,
        carry: plan.carry.clone(),
        ten_bit: plan.source.ten_bit,
        hdr10: plan.source.hdr10.clone(),
    };

    let (dec_tx, dec_rx) = bounded::<Flow<Decoded>>(QUEUE);
    let (seg_tx, seg_rx) = bounded::<Flow<Segmented>>(QUEUE);
    let (fine_tx, fine_rx) = bounded::<Segmented>(QUEUE);
    let (ref_tx, ref_rx) = bounded::<Refined>(QUEUE);
    let (comp_tx, comp_rx) = bounded::<Composited>(QUEUE);
    // Recycling: used buffers flow back upstream. These hold at most as many buffers as
    // are in flight, so they are unbounded only nominally.
    let (frames_back_tx, frames_back_rx) = unbounded::<YuvFrame>();
    let (raw_back_tx, raw_back_rx) = unbounded::<Vec<f32>>();
    let (alpha_back_tx, alpha_back_rx) = unbounded::<Vec<u8>>();

    let input = plan.input.as_path();
    let (width, height) = (plan.width, plan.height);
    let matte_opts = plan.matte.clone();
    let frame_rate = plan.frame_rate.clone();
    let decode_look = plan.source.look.clone();
    let clock = plan.clock;
    let input_alpha = decode_look.alpha;
    let composites = matches!(plan.look, Look::Composite { .. });
    let matte_mode = plan.matte.mode;
    let mut look = plan.look;
    // Set when a stage fails or the run is cancelled: the matting stage then runs no more
    // MODNet on the frames it holds (`fine_stage`).
    let stop = &AtomicBool::new(false);

    let (results, encoded) = thread::scope(|s| {
        let decode = spawn(s, "decode", move || {
            stopping(
                stop,
                decode_stage(
                    input,
                    (width, height),
                    &decode_look,
                    &clock,
                    still,
                    preview_at,
                    dec_tx,
                    frames_back_rx,
                ),
            )
        });
        let segment = spawn(s, "segment", move || {
            stopping(stop, segment_stage(kind, dec_rx, seg_tx, raw_back_rx))
        });
        let fine_opts = matte_opts.clone();
        // Quality matte: MODNet in a stage of its own, so it overlaps the selfie model and
        // the refinement of other frames; fast mode passes frames straight through.
        let fine = spawn(s, "matting", move || {
            stopping(stop, fine_stage(&fine_opts, kind, seg_rx, fine_tx, stop))
        });
        let refine = spawn(s, "refine", move || {
            stopping(
                stop,
                refine_stage(
                    matte_opts,
                    kind,
                    w,
                    h,
                    fine_rx,
                    ref_tx,
                    raw_back_tx,
                    alpha_back_rx,
                ),
            )
        });
        let look_ref = &mut look;
        let composite = spawn(s, "composite", move || {
            stopping(
                stop,
                composite_stage(
                    look_ref,
                    &frame_rate,
                    input_alpha,
                    ref_rx,
                    comp_tx,
                    alpha_back_tx,
                ),
            )
        });
        let encoded = stopping(
            stop,
            encode_stage(
                &spec,
                !still,
                comp_rx,
                frames_back_tx,
                progress,
                total,
                started,
            ),
        );
        let results = [
            join(decode).map(|d| Some(StageOut::Decode(d))),
            join(segment).map(|()| None),
            join(fine).map(|n| Some(StageOut::Fine(n))),
            join(refine).map(|()| None),
            join(composite).map(|p| Some(StageOut::Composite(p))),
        ];
        (results, encoded)
    });

    // The root cause wins: a real error over a cancel, a cancel over the `Aborted` echoes of
    // stages that only saw a closed channel; upstream errors first.
    let mut summary = None;
    let mut preview_jpeg = None;
    let mut presence = Presence::default();
    let mut first_err: Option<Error> = None;
    let all = results
        .into_iter()
        .chain(std::iter::once(encoded.map(|n| Some(StageOut::Encoded(n)))));
    let mut frames_written = 0;
    let mut modnet_frames = 0;
    for r in all {
        match r {
            Ok(Some(StageOut::Decode(d))) => summary = Some(d),
            Ok(Some(StageOut::Composite((p, seen)))) => {
                preview_jpeg = p;
                presence = seen;
            }
            Ok(Some(StageOut::Encoded(n))) => frames_written = n,
            Ok(Some(StageOut::Fine(n))) => modnet_frames = n,
            Ok(None) => {}
            Err(e) => first_err = Some(root_cause(first_err, e)),
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let Some(summary) = summary else {
        return Err(Error::Aborted);
    };

    let mut warnings = plan.warnings.clone();
    if composites {
        let frame_ns = (1e9 / plan.info.fps.max(1.0)) as i64;
        // A long stretch: two seconds, or a third of a shorter clip.
        let min_gap = (plan.info.duration_s / 3.0).clamp(0.5, 2.0);
        warnings.extend(presence.warnings(&plan.input, frame_ns, min_gap));
    }
    // Damaged only when ffmpeg itself reported errors while reading: fewer frames than the
    // container lists is normal for an edit list that starts at a non-keyframe (the frames
    // before the cut are decoded but never shown).
    let errors = summary.stderr_tail.trim();
    if !still && !errors.is_empty() {
        let why = errors
            .lines()
            .last()
            .map(|l| format!(" (ffmpeg: {})", strip_context(l)))
            .unwrap_or_default();
        let expected = plan.info.frames;
        let counts = if summary.frames < expected {
            format!(
                "only {} of {} frames could be decoded, {} lost",
                summary.frames,
                expected,
                expected - summary.frames
            )
        } else {
            "ffmpeg reported decode errors".to_string()
        };
        warnings.push(format!(
            "{}: the input is damaged: {counts}{why}; the output has the {} frames that decoded",
            plan.input.display(),
            summary.frames
        ));
    }
    if let Some(path) = &plan.preview {
        match &preview_jpeg {
            Some(jpeg) => write_atomic(path, jpeg)?,
            None => warnings.push(format!(
                "{}: no preview written: the input ended before its middle frame",
                path.display()
            )),
        }
    }

    crate::fsx::persist(tmp, &plan.output).map_err(|e| Error::io(&plan.output, e.error))?;
    for w in &warnings {
        tracing::info!("{w}");
        progress.warn(w);
    }
    progress.done();
    Ok(ReplaceReport {
        output: plan.output.clone(),
        width: plan.width,
        height: plan.height,
        frames: frames_written,
        backdrop: plan.backdrop.clone(),
        matte: matte_mode,
        modnet_frames,
        warnings,
        elapsed: started.elapsed(),
    })
}

/// Of two stage errors (`earlier` from a stage further upstream), the one to report: a real
/// error over a cancel, a cancel over an `Aborted` echo, otherwise the upstream one.
fn root_cause(earlier: Option<Error>, later: Error) -> Error {
    fn rank(e: &Error) -> u8 {
        match e {
            Error::Aborted => 0,
            Error::Cancelled => 1,
            _ => 2,
        }
    }
    match earlier {
        Some(e) if rank(&e) >= rank(&later) => e,
        _ => later,
    }
}

enum StageOut {
    Decode(DecodeSummary),
    Composite((Option<Vec<u8>>, Presence)),
    Encoded(u64),
    /// Frames MODNet ran on (the matting stage's keyframes).
    Fine(u64),
}

fn spawn<'scope, 'env, T: Send + 'scope>(
    s: &'scope thread::Scope<'scope, 'env>,
    name: &str,
    f: impl FnOnce() -> Result<T> + Send + 'scope,
) -> Result<ScopedJoinHandle<'scope, Result<T>>> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn_scoped(s, f)
        .map_err(|e| Error::Panic(format!("could not start the {name} thread: {e}")))
}

/// A stage's result, raising `stop` when it failed (a cancel included).
fn stopping<T>(stop: &AtomicBool, r: Result<T>) -> Result<T> {
    if r.is_err() {
        stop.store(true, Ordering::Release);
    }
    r
}

/// A panicked stage becomes `Error::Panic` instead of taking the process down.
fn join<T>(handle: Result<ScopedJoinHandle<'_, Result<T>>>) -> Result<T> {
    let handle = handle?;
    let name = handle.thread().name().unwrap_or("stage").to_string();
    match handle.join() {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Panic(format!("{name}: {msg}")))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn decode_stage(
    input: &Path,
    (width, height): (u32, u32),
    look: &DecodeLook,
    clock: &Clock,
    still: bool,
    preview_at: Option<u64>,
    out: Sender<Flow<Decoded>>,
    frames_back: Receiver<YuvFrame>,
) -> Result<DecodeSummary> {
    let mut dec = Decoder::open_timed(input, width, height, still, look, clock)?;
    let mut index = 0u64;
    let mut frame = dec.new_frame();
    loop {
        if !dec.read_frame(&mut frame)? {
            break;
        }
        // Output time: the clock's map, the only one. A frame before the output's start
        // (pre-roll far before every track) has no place in it.
        let Some(pts_ns) = clock.output_ns(dec.pts_ns()) else {
            tracing::debug!("{}: a frame before the start left out", input.display());
            continue;
        };
        let before = (preview_at == Some(index)).then(|| Box::new(frame.clone()));
        let next = frames_back.try_recv().unwrap_or_else(|_| dec.new_frame());
        let frame = std::mem::replace(&mut frame, next);
        if out
            .send(Flow::Frame(Decoded {
                index,
                pts_ns,
                frame,
                before,
            }))
            .is_err()
        {
            dec.kill();
            return Err(Error::Aborted);
        }
        index += 1;
    }
    // Every frame is out: the stream ended cleanly (a failed send means a stage downstream
    // failed, which reports its own error).
    let _ = out.send(Flow::End);
    let ended = dec.finish();
    match (index, ended) {
        (0, Err(e)) => Err(no_frames(input, &e.to_string())),
        (0, Ok(tail)) => Err(no_frames(input, &tail)),
        (frames, Ok(stderr_tail)) => Ok(DecodeSummary {
            frames,
            stderr_tail,
        }),
        (frames, Err(e)) => Ok(DecodeSummary {
            frames,
            stderr_tail: e.to_string(),
        }),
    }
}

/// An ffmpeg log line without its `[demuxer @ 0x…] ` prefix.
fn strip_context(line: &str) -> &str {
    let line = line.trim();
    match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
        Some((_, rest)) => rest.trim(),
        None => line,
    }
}

#[cold]
fn no_frames(input: &Path, why: &str) -> Error {
    let why = strip_context(why.lines().last().unwrap_or(""));
    Error::input(
        input,
        format!(
            "no frame could be decoded; the file is damaged or not a supported video{}",
            if why.is_empty() {
                String::new()
            } else {
                format!(" (ffmpeg: {why})")
            }
        ),
    )
}

fn segment_stage(
    kind: ModelKind,
    input: Receiver<Flow<Decoded>>,
    out: Sender<Flow<Segmented>>,
    raw_back: Receiver<Vec<f32>>,
) -> Result<()> {
    let mut seg = Segmenter::new(kind)?;
    for msg in input {
        let msg = match msg {
            Flow::Frame(msg) => msg,
            Flow::End => return out.send(Flow::End).map_err(|_| Error::Aborted),
        };
        let probs = seg.infer_yuv(&msg.frame)?;
        let mut raw = raw_back.try_recv().unwrap_or_default();
        raw.clear();
        raw.extend_from_slice(probs);
        let next = Segmented {
            index: msg.index,
            pts_ns: msg.pts_ns,
            frame: msg.frame,
            before: msg.before,
            raw,
            fine: None,
        };
        out.send(Flow::Frame(next)).map_err(|_| Error::Aborted)?;
    }
    Ok(())
}

/// Quality matte: runs MODNet on keyframes (at most `fine_every` frames apart), on the crop
/// around the people the selfie mask shows, at a size from the crop's, and carries its alpha
/// to the frames between (`matte::tween::Lookahead`). The frames still waiting at the end
/// get their keyframe only at the stream's clean end (`Flow::End`); when the input closes
/// without it (a stage upstream failed) or `stop` is raised (a cancel, a failed stage), they
/// are dropped and MODNet runs no more: `Error::Aborted` (the other stage's error is the
/// root cause).
/// Fast mode forwards every frame untouched. Returns the number of frames MODNet ran on
/// (keyframes; 0 in fast mode).
fn fine_stage(
    opts: &MatteOptions,
    kind: ModelKind,
    input: Receiver<Flow<Segmented>>,
    out: Sender<Segmented>,
    stop: &AtomicBool,
) -> Result<u64> {
    if !opts.mode.runs_modnet() {
        for msg in input {
            if let Flow::Frame(msg) = msg {
                out.send(msg).map_err(|_| Error::Aborted)?;
            }
        }
        return Ok(0);
    }
    let model = kind.input_size();
    let mut runner = Lookahead::new(opts, |m: &Segmented| (&m.raw[..], &m.frame));
    let send = |(mut msg, fine): (Segmented, Option<FineMatte>)| {
        msg.fine = fine.map(Box::new);
        out.send(msg).map_err(|_| Error::Aborted)
    };
    let mut ended = false;
    for msg in input {
        if stop.load(Ordering::Acquire) {
            break;
        }
        match msg {
            Flow::Frame(msg) => {
                for done in runner.push(msg, model)? {
                    send(done)?;
                }
            }
            Flow::End => {
                ended = true;
                break;
            }
        }
    }
    if !ended || stop.load(Ordering::Acquire) {
        let dropped = runner.abandon();
        tracing::debug!(dropped, "quality matte: the stream stopped before its end");
        return Err(Error::Aborted);
    }
    for done in runner.finish(model)? {
        send(done)?;
    }
    let stats = &runner.runner().stats;
    tracing::debug!(?stats, "quality matte keyframes");
    Ok(stats.keys.iter().map(|&n| u64::from(n)).sum())
}

#[allow(clippy::too_many_arguments)]
fn refine_stage(
    opts: MatteOptions,
    kind: ModelKind,
    width: usize,
    height: usize,
    input: Receiver<Segmented>,
    out: Sender<Refined>,
    raw_back: Sender<Vec<f32>>,
    alpha_back: Receiver<Vec<u8>>,
) -> Result<()> {
    let (mw, mh) = kind.input_size();
    let quality = opts.mode.runs_modnet();
    let mut fuser = Fuser::new(opts.fuse);
    let mut refiner = MatteRefiner::new(opts, width, height);
    let mut last_fine: Option<Box<FineMatte>> = None;
    for msg in input {
        let mut alpha = alpha_back.try_recv().unwrap_or_default();
        if quality {
            if let Some(f) = msg.fine {
                last_fine = Some(f);
            }
            let (fw, fh) = (msg.frame.width, msg.frame.height);
            fuser.fuse(
                &msg.raw,
                (mw, mh),
                last_fine.as_deref(),
                (fw, fh),
                &mut alpha,
            );
        } else {
            refiner.refine(&msg.raw, mw, mh, &msg.frame, &mut alpha);
        }
        let _ = raw_back.send(msg.raw);
        let next = Refined {
            index: msg.index,
            pts_ns: msg.pts_ns,
            frame: msg.frame,
            before: msg.before,
            alpha,
        };
        out.send(next).map_err(|_| Error::Aborted)?;
    }
    Ok(())
}

/// Returns the preview JPEG when one was asked for and its frame came by, and where a
/// person was seen. With `input_alpha`, the input's own alpha (`frame.a`) multiplies the
/// matte: what the user had already cut away stays away.
fn composite_stage(
    look: &mut Look,
    frame_rate: &str,
    input_alpha: bool,
    input: Receiver<Refined>,
    out: Sender<Composited>,
    alpha_back: Sender<Vec<u8>>,
) -> Result<(Option<Vec<u8>>, Presence)> {
    let mut preview_jpeg = None;
    let mut presence = Presence::default();
    let mut bg: Option<(Decoder, YuvFrame)> = None;
    for mut msg in input {
        let size = msg.frame.width * msg.frame.height;
        if msg.alpha.len() != size {
            return Err(Error::Panic(format!(
                "matte has {} values for a {}x{} frame",
                msg.alpha.len(),
                msg.frame.width,
                msg.frame.height
            )));
        }
        if input_alpha && let Some(a) = msg.frame.a.as_deref() {
            for (m, &a) in msg.alpha.iter_mut().zip(a) {
                *m = ((u32::from(*m) * u32::from(a) + 127) / 255) as u8;
            }
        }
        presence.add(msg.pts_ns, &msg.alpha);
        match look {
            Look::Composite {
                compositor,
                bg_video,
            } => {
                let video_bg = match bg_video {
                    Some(path) => {
                        if bg.is_none() {
                            let d = Decoder::open_looped_cover(
                                path,
                                msg.frame.width as u32,
                                msg.frame.height as u32,
                                frame_rate,
                            )?;
                            let f = d.new_frame();
                            bg = Some((d, f));
                        }
                        let Some((dec, f)) = bg.as_mut() else {
                            return Err(Error::Aborted);
                        };
                        // A backdrop that stops (a one-frame "video") keeps its last frame.
                        if !dec.read_frame(f)? && dec.frames_read() == 0 {
                            dec.finish()?;
                            return Err(Error::input(
                                path.as_path(),
                                "the backdrop video has no decodable frame; give another video, an image or a colour",
                            ));
                        }
                        Some(&*f)
                    }
                    None => None,
                };
                compositor.composite(&mut msg.frame, &msg.alpha, video_bg);
            }
            Look::Matte => {
                msg.frame.y.copy_from_slice(&msg.alpha);
                msg.frame.u.fill(128);
                msg.frame.v.fill(128);
            }
        }
        if let Some(before) = &msg.before {
            preview_jpeg = Some(preview::before_after_jpeg(before, &msg.frame)?);
        }
        let _ = alpha_back.send(msg.alpha);
        let next = Composited {
            index: msg.index,
            pts_ns: msg.pts_ns,
            frame: msg.frame,
        };
        out.send(next).map_err(|_| Error::Aborted)?;
    }
    if let Some((mut dec, _)) = bg {
        dec.kill();
    }
    Ok((preview_jpeg, presence))
}

/// Runs on the calling thread: writes frames in order, each at its output time (`timed`;
/// a still has none), reports progress, cancels.
fn encode_stage(
    spec: &EncodeSpec<'_>,
    timed: bool,
    input: Receiver<Composited>,
    frames_back: Sender<YuvFrame>,
    progress: &mut dyn ProgressReporter,
    total: u64,
    started: Instant,
) -> Result<u64> {
    let mut encoder: Option<Encoder> = None;
    let mut done = 0u64;
    for msg in input {
        debug_assert_eq!(msg.index, done, "frames arrive in order");
        // Started on the first frame, so an input with no decodable frame leaves no file.
        let enc = match &mut encoder {
            Some(e) => e,
            None => encoder.insert(Encoder::start(spec)?),
        };
        if timed {
            enc.write_frame_at(&msg.frame, msg.pts_ns)?;
        } else {
            enc.write_frame(&msg.frame)?;
        }
        let _ = frames_back.send(msg.frame);
        done += 1;
        let elapsed = started.elapsed().as_secs_f64();
        let fps = if elapsed > 0.0 {
            done as f64 / elapsed
        } else {
            0.0
        };
        let total = total.max(done);
        let eta = (fps > 0.0).then(|| Duration::from_secs_f64((total - done) as f64 / fps));
        let report = Progress {
            frames_done: done,
            frames_total: total,
            fps,
            eta,
        };
        if !progress.update(&report) {
            if let Some(e) = &mut encoder {
                e.kill();
            }
            return Err(Error::Cancelled);
        }
    }
    match encoder {
        Some(e) => e.finish().map(|()| done),
        None => Ok(0),
    }
}

/// Write a small file beside its destination and rename it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    crate::host_os::temp_access(&mut builder, crate::host_os::Access::Shared);
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::matte::MatteMode;

    #[test]
    fn the_root_cause_wins_over_echoes_and_cancels() {
        let real = || Error::input("in.mp4", "broken");
        let pick = |errs: Vec<Error>| {
            errs.into_iter()
                .fold(None, |acc, e| Some(root_cause(acc, e)))
        };
        let is_input = |e: Option<Error>| matches!(e, Some(Error::Input { .. }));
        assert!(is_input(pick(vec![Error::Aborted, real(), Error::Aborted])));
        assert!(is_input(pick(vec![Error::Cancelled, real()])));
        assert!(is_input(pick(vec![real(), Error::Cancelled])));
        assert!(matches!(
            pick(vec![Error::Aborted, Error::Aborted, Error::Cancelled]),
            Some(Error::Cancelled)
        ));
        // Two real errors: the upstream one.
        let first = pick(vec![real(), Error::Model("later".into())]);
        assert!(is_input(first));
    }

    fn quality(every: u32) -> MatteOptions {
        MatteOptions {
            mode: MatteMode::Quality,
            fine_every: every,
            fine_carry: crate::engine::matte::Carry::Both,
            fine_long_side: 256,
            ..MatteOptions::for_mode(MatteMode::Quality)
        }
    }

    /// Frame `t` of a shape drifting right, as the matting stage receives it.
    fn segmented(t: u64) -> Segmented {
        use crate::engine::matte::{ellipse_selfie, moving_scene};
        let cx = 600.0 + 4.0 * t as f32;
        Segmented {
            index: t,
            pts_ns: t as i64 * 33_000_000,
            frame: moving_scene(cx, 360.0, 0.0),
            before: None,
            raw: ellipse_selfie(cx, 360.0),
            fine: None,
        }
    }

    /// An upstream stage fails while frames wait for the next keyframe (its channel closes
    /// without the end of the stream): the matting stage stops, MODNet does not run on the
    /// waiting frame, and nothing more is sent.
    #[test]
    fn an_upstream_failure_during_the_lookahead_runs_no_more_modnet() {
        let (tx, rx) = bounded(8);
        let (out_tx, out_rx) = unbounded();
        tx.send(Flow::Frame(segmented(0))).unwrap();
        tx.send(Flow::Frame(segmented(1))).unwrap();
        drop(tx);
        let stop = AtomicBool::new(false);
        let res = fine_stage(&quality(3), ModelKind::Landscape, rx, out_tx, &stop);
        let sent: Vec<u64> = out_rx.try_iter().map(|m| m.index).collect();
        assert!(matches!(res, Err(Error::Aborted)), "{res:?}");
        assert_eq!(sent, [0], "only the keyframe before the failure");
    }

    /// A cancel (or a failed stage downstream) while a frame waits for its keyframe: even
    /// when the end of the stream follows, MODNet does not run for the waiting frame.
    #[test]
    fn a_cancel_during_the_lookahead_runs_no_more_modnet() {
        let (tx, rx) = bounded(8);
        let (out_tx, out_rx) = unbounded();
        let stop = AtomicBool::new(false);
        let res = thread::scope(|s| {
            let stage =
                s.spawn(|| fine_stage(&quality(3), ModelKind::Landscape, rx, out_tx, &stop));
            tx.send(Flow::Frame(segmented(0))).unwrap();
            // The first keyframe is out: the stage is running.
            assert_eq!(out_rx.recv().unwrap().index, 0);
            tx.send(Flow::Frame(segmented(1))).unwrap();
            stop.store(true, Ordering::Release);
            tx.send(Flow::End).unwrap();
            drop(tx);
            stage.join().unwrap()
        });
        let sent: Vec<u64> = out_rx.try_iter().map(|m| m.index).collect();
        assert!(matches!(res, Err(Error::Aborted)), "{res:?}");
        assert!(sent.is_empty(), "after the cancel: {sent:?}");
    }

    /// The clean end of the stream: the waiting frames get their keyframe (the last frame)
    /// and all come out, in order.
    #[test]
    fn the_clean_end_finishes_the_waiting_frames() {
        let (tx, rx) = bounded(8);
        let (out_tx, out_rx) = unbounded();
        for t in 0..3 {
            tx.send(Flow::Frame(segmented(t))).unwrap();
        }
        tx.send(Flow::End).unwrap();
        drop(tx);
        let stop = AtomicBool::new(false);
        fine_stage(&quality(3), ModelKind::Landscape, rx, out_tx, &stop).unwrap();
        let sent: Vec<(u64, bool)> = out_rx
            .try_iter()
            .map(|m| (m.index, m.fine.is_some()))
            .collect();
        assert_eq!(sent, [(0, true), (1, true), (2, true)]);
    }

    /// `balanced` takes the quality matte's path with its keyframe settings: every frame
    /// gets MODNet's alpha, but MODNet runs on fewer frames than there are (the frames
    /// between keyframes are carried).
    #[test]
    fn balanced_runs_modnet_on_keyframes_and_carries_the_frames_between() {
        let opts = MatteOptions::for_mode(MatteMode::Balanced);
        let (tx, rx) = bounded(16);
        let (out_tx, out_rx) = unbounded();
        for t in 0..7 {
            tx.send(Flow::Frame(segmented(t))).unwrap();
        }
        tx.send(Flow::End).unwrap();
        drop(tx);
        let stop = AtomicBool::new(false);
        let ran = fine_stage(&opts, ModelKind::Landscape, rx, out_tx, &stop).unwrap();
        let sent: Vec<(u64, bool)> = out_rx
            .try_iter()
            .map(|m| (m.index, m.fine.is_some()))
            .collect();
        assert_eq!(sent, (0..7).map(|t| (t, true)).collect::<Vec<_>>());
        assert!((2..7).contains(&ran), "MODNet ran on {ran} of 7 frames");
    }

    #[test]
    fn a_panicking_stage_becomes_an_error() {
        let res: Result<()> = thread::scope(|s| {
            let h = spawn(s, "boom", || -> Result<()> { panic!("stage exploded") });
            join(h)
        });
        match res {
            Err(Error::Panic(msg)) => assert!(
                msg.contains("boom") && msg.contains("stage exploded"),
                "{msg}"
            ),
            other => panic!("expected Error::Panic, got {other:?}"),
        }
    }
}
