//! The timeline's frame loop: per clip, ffmpeg decodes the kept span already normalised to
//! the canvas (frame rate, size, re-framing, a blurred fill for clips that keep their own
//! background); clips with a backdrop are segmented on their visible part and composited
//! over it at canvas size; titles are blended on top; one encoder writes every frame, its
//! sound taken from the mix made beforehand. Decoding and encoding run in their own ffmpeg
//! processes, so they overlap with the model on this thread.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::framing::{self, Placement};
use super::title::{self, TitleLayer};
use super::{
    TimelineClip, TimelineOptions, TimelineReport, aspect_canvas, audio, audio::AudioPart,
};
use crate::engine::backdrop::BackdropSpec;
use crate::engine::composite::Compositor;
use crate::engine::ffmpeg::{
    Carry, ColorTags, Container, Decoder, EncodeSpec, Encoder, PixelLayout, output_size,
};
use crate::engine::matte::fuse::{FineMatte, Fuser};
use crate::engine::matte::tween::Lookahead;
use crate::engine::matte::{MatteOptions, MatteRefiner};
use crate::engine::probe::{MediaInfo, MediaKind, probe_detail};
use crate::engine::segment::{ModelKind, Segmenter};
use crate::engine::{Error, Progress, ProgressReporter, Result, YuvFrame};

/// Frames sampled per clip to find where the person is before re-framing.
const FRAMING_SAMPLES: f64 = 12.0;

/// One clip, probed and measured on the timeline.
struct Span<'a> {
    clip: &'a TimelineClip,
    info: MediaInfo,
    start_s: f64,
    /// Exactly `frames / fps`.
    duration_s: f64,
    frames: u64,
}

/// The canvas frame rate from the first clip's `r_frame_rate` (e.g. "30000/1001"); 30/1
/// when it is unusable or above 60.
fn canvas_rate(rate: &str) -> (u32, u32) {
    let parsed = rate
        .split_once('/')
        .and_then(|(n, d)| Some((n.trim().parse::<u32>().ok()?, d.trim().parse::<u32>().ok()?)))
        .or_else(|| rate.trim().parse::<u32>().ok().map(|n| (n, 1)));
    match parsed {
        Some((n, d)) if d > 0 && n > 0 && f64::from(n) / f64::from(d) <= 60.0 => (n, d),
        _ => (30, 1),
    }
}

pub(super) fn run(
    opts: &TimelineOptions,
    progress: &mut dyn ProgressReporter,
) -> Result<TimelineReport> {
    let started = Instant::now();
    if opts.clips.is_empty() {
        return Err(Error::Setting {
            name: "timeline",
            message: "the timeline has no clip; add a video first".into(),
        });
    }
    let container = match Container::from_path(&opts.output) {
        Some(c @ (Container::Mp4 | Container::Mov | Container::Mkv)) => c,
        _ => {
            return Err(Error::Setting {
                name: "output",
                message: format!(
                    "{}: a timeline is written as video; name it .mp4 (or .mov, .mkv)",
                    opts.output.display()
                ),
            });
        }
    };
    let mut probed = Vec::new();
    for clip in &opts.clips {
        let (info, detail) = probe_detail(&clip.input)?;
        if info.kind != MediaKind::Video {
            return Err(Error::input(
                &clip.input,
                "is not a video; only video clips go on the timeline (images can be backdrops, audio can be music)",
            ));
        }
        if let Some(b) = &clip.backdrop
            && b.spec == BackdropSpec::Transparent
        {
            return Err(Error::Setting {
                name: "backdrop",
                message: format!(
                    "{}: a transparent background cannot go into an MP4 timeline; export that clip alone (as WebM), or pick a colour, image or description",
                    clip.input.display()
                ),
            });
        }
        probed.push((info, detail));
    }
    let (cw, ch) = match opts.aspect {
        Some(r) => aspect_canvas(r, opts.max_long_side),
        None => output_size(probed[0].0.width, probed[0].0.height, opts.max_long_side),
    };
    let (num, den) = canvas_rate(&probed[0].1.frame_rate);
    let fps = f64::from(num) / f64::from(den);
    let frame_rate = format!("{num}/{den}");

    let mut spans = Vec::new();
    for (clip, (info, _)) in opts.clips.iter().zip(probed) {
        let start_s = clip.start_s.max(0.0);
        let available = info.duration_s - start_s;
        if available < 1.0 / fps {
            return Err(Error::Setting {
                name: "trim",
                message: format!(
                    "{}: the kept part starts at {start_s:.2} s but the clip is only {:.2} s long; trim less",
                    clip.input.display(),
                    info.duration_s
                ),
            });
        }
        let wanted = clip.duration_s.map_or(available, |d| d.min(available));
        let frames = ((wanted * fps).round() as u64).max(1);
        spans.push(Span {
            clip,
            info,
            start_s,
            duration_s: frames as f64 / fps,
            frames,
        });
    }
    let total_frames: u64 = spans.iter().map(|s| s.frames).sum();
    let total_s = total_frames as f64 / fps;
    if let Some(m) = &opts.music {
        let (info, _) = probe_detail(&m.input)?;
        if !info.has_audio {
            return Err(Error::input(
                &m.input,
                "has no sound, so it cannot be background music; give an audio file (mp3, wav, m4a, aac)",
            ));
        }
    }
    let titles = opts
        .titles
        .iter()
        .map(|t| title::prepare(t, cw as usize, ch as usize))
        .collect::<Result<Vec<_>>>()?;
    if !progress.update(&Progress {
        frames_done: 0,
        frames_total: total_frames,
        fps: 0.0,
        eta: None,
    }) {
        return Err(Error::Cancelled);
    }

    // The sound first: a short ffmpeg run, so the video encoder can take it as an input.
    let work = tempfile::Builder::new()
        .prefix(".ebc-timeline-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let mix_path = work.path().join("mix.m4a");
    let parts: Vec<AudioPart<'_>> = spans
        .iter()
        .map(|s| AudioPart {
            input: &s.clip.input,
            start_s: s.start_s,
            duration_s: s.duration_s,
            has_audio: s.info.has_audio,
        })
        .collect();
    audio::mix(&parts, opts.music.as_ref(), total_s, &mix_path)?;

    let dir = match opts.output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let suffix = format!(".{}", container.extension());
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ebc-").suffix(&suffix);
    crate::host_os::temp_access(&mut builder, crate::host_os::Access::Shared);
    let tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(&dir, e))?;
    let bt709 = Some("bt709".to_string());
    let spec = EncodeSpec {
        output: tmp.path(),
        display: &opts.output,
        container,
        layout: PixelLayout::Yuv420p,
        width: cw,
        height: ch,
        frame_rate: &frame_rate,
        quality: opts.quality,
        x264_preset: &opts.x264_preset,
        audio: Some((mix_path.as_path(), "aac")),
        color: ColorTags {
            space: bt709.clone(),
            primaries: bt709.clone(),
            transfer: bt709,
        },
        time_base: None,
        clock: Default::default(),
        carry: Carry::default(),
        ten_bit: false,
        hdr10: None,
    };
    let mut out = Output {
        encoder: Encoder::start(&spec)?,
        frame: YuvFrame::new(cw as usize, ch as usize),
        titles,
        fps,
        done: 0,
        total: total_frames,
        started,
    };
    let mut warnings = Vec::new();
    let canvas = Canvas {
        w: cw,
        h: ch,
        frame_rate: &frame_rate,
        fps,
    };
    for span in &spans {
        let rendered = render_clip(span, &canvas, &opts.matte, &mut out, progress);
        match rendered {
            Ok(Some(w)) => warnings.push(w),
            Ok(None) => {}
            Err(e) => {
                out.encoder.kill();
                return Err(e);
            }
        }
    }
    let Output {
        encoder,
        done: frames,
        ..
    } = out;
    encoder.finish()?;
    crate::fsx::persist(tmp, &opts.output).map_err(|e| Error::io(&opts.output, e.error))?;
    for w in &warnings {
        progress.warn(w);
    }
    progress.done();
    Ok(TimelineReport {
        output: opts.output.clone(),
        width: cw,
        height: ch,
        frame_rate,
        frames,
        duration_s: total_s,
        warnings,
        elapsed: started.elapsed(),
    })
}

struct Canvas<'a> {
    w: u32,
    h: u32,
    frame_rate: &'a str,
    fps: f64,
}

/// The encoder side: titles over each finished frame, progress, cancellation.
struct Output {
    encoder: Encoder,
    /// The frame as written (the composite plus titles).
    frame: YuvFrame,
    titles: Vec<TitleLayer>,
    fps: f64,
    done: u64,
    total: u64,
    started: Instant,
}

impl Output {
    fn write(&mut self, composite: &YuvFrame, progress: &mut dyn ProgressReporter) -> Result<()> {
        let t = self.done as f64 / self.fps;
        let frame: &YuvFrame = if self.titles.iter().any(|l| l.opacity(t) > 0.0) {
            self.frame.y.copy_from_slice(&composite.y);
            self.frame.u.copy_from_slice(&composite.u);
            self.frame.v.copy_from_slice(&composite.v);
            for l in &self.titles {
                l.draw(&mut self.frame, t);
            }
            &self.frame
        } else {
            composite
        };
        self.encoder.write_frame(frame)?;
        self.done += 1;
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            self.done as f64 / elapsed
        } else {
            0.0
        };
        let eta = (rate > 0.0)
            .then(|| Duration::from_secs_f64(self.total.saturating_sub(self.done) as f64 / rate));
        if !progress.update(&Progress {
            frames_done: self.done,
            frames_total: self.total,
            fps: rate,
            eta,
        }) {
            return Err(Error::Cancelled);
        }
        Ok(())
    }
}

/// The ffmpeg filter that turns the source into canvas frames.
fn filter(p: &Placement, cw: u32, ch: u32, frame_rate: &str, fill: Fill) -> String {
    let fps = format!("fps={frame_rate}");
    if p.covers(cw, ch) {
        return format!("{fps},scale={cw}:{ch}:flags=bicubic:out_range=tv,setsar=1");
    }
    let fg = format!(
        "scale={}:{}:flags=bicubic:out_range=tv,crop={}:{}:{}:{}",
        p.scaled_w, p.scaled_h, p.layer_w, p.layer_h, p.crop_x, p.crop_y
    );
    let cover = format!(
        "scale={cw}:{ch}:force_original_aspect_ratio=increase:flags=bilinear:out_range=tv,crop={cw}:{ch}"
    );
    match fill {
        Fill::Black => format!("{fps},{fg},pad={cw}:{ch}:{}:{}:black,setsar=1", p.x, p.y),
        Fill::Cover => format!(
            "{fps},split=2[a][b];[a]{cover}[bg];[b]{fg}[fg];[bg][fg]overlay={}:{},setsar=1",
            p.x, p.y
        ),
        Fill::Blurred => {
            // Blurred on a grid 1/8 the size: as soft as a large blur, a fraction of the cost.
            let (bw, bh) = (((cw / 16) * 2).max(2), ((ch / 16) * 2).max(2));
            format!(
                "{fps},split=2[a][b];[a]{cover},scale={bw}:{bh},boxblur=4:2,scale={cw}:{ch}:flags=bilinear,eq=brightness=-0.05[bg];[b]{fg}[fg];[bg][fg]overlay={}:{},setsar=1",
                p.x, p.y
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fill {
    /// Outside the clip does not matter (it becomes backdrop).
    Black,
    /// The clip scaled to cover the canvas (a blur backdrop blurs it).
    Cover,
    /// A blurred, dimmed copy of the clip (clips that keep their own background).
    Blurred,
}

/// The person's layer on the canvas: (x, y, width, height), px.
fn layer_rect(p: &Placement) -> (usize, usize, usize, usize) {
    (
        p.x as usize,
        p.y as usize,
        p.layer_w as usize,
        p.layer_h as usize,
    )
}

/// Copy the `rect` of `src` into `dst` (sized to the rect). All values even.
fn extract(src: &YuvFrame, p: &Placement, dst: &mut YuvFrame) {
    let (x, y, w, h) = layer_rect(p);
    for r in 0..h {
        let s = (y + r) * src.width + x;
        dst.y[r * w..(r + 1) * w].copy_from_slice(&src.y[s..s + w]);
    }
    let (cw, sw) = (w / 2, src.width / 2);
    for r in 0..h / 2 {
        let s = (y / 2 + r) * sw + x / 2;
        dst.u[r * cw..(r + 1) * cw].copy_from_slice(&src.u[s..s + cw]);
        dst.v[r * cw..(r + 1) * cw].copy_from_slice(&src.v[s..s + cw]);
    }
}

/// Where the person is in the clip's kept span: the union of the boxes found in about a
/// dozen frames sampled across it, at model size.
fn find_person(span: &Span<'_>) -> Result<Option<framing::PersonBox>> {
    let (sw, sh) = (span.info.width.max(2), span.info.height.max(2));
    let (w, h) = if sw >= sh {
        (256, ((256 * sh / sw) & !1).max(2))
    } else {
        (((256 * sw / sh) & !1).max(2), 256)
    };
    let rate = FRAMING_SAMPLES / span.duration_s.max(0.1);
    let filter = format!("fps={rate:.5},scale={w}:{h}:flags=bilinear:out_range=tv");
    let mut dec = Decoder::open_filtered(
        &span.clip.input,
        span.start_s,
        Some(span.duration_s),
        &filter,
        w,
        h,
    )?;
    let kind = ModelKind::for_frame(w as usize, h as usize);
    let (mw, mh) = kind.input_size();
    let mut seg = Segmenter::new(kind)?;
    let mut frame = dec.new_frame();
    let mut found: Option<framing::PersonBox> = None;
    let mut n = 0;
    while n < FRAMING_SAMPLES as usize + 2 && dec.read_frame(&mut frame)? {
        let probs = seg.infer_yuv(&frame)?;
        if let Some(b) = framing::person_box(probs, mw, mh) {
            found = Some(found.map_or(b, |a| a.union(b)));
        }
        n += 1;
    }
    dec.kill();
    Ok(found)
}

/// What one clip with a backdrop needs to cut its person out and composite it.
struct Cut {
    kind: ModelKind,
    seg: Segmenter,
    refiner: MatteRefiner,
    /// `Some` for the quality matte (selfie + MODNet), which replaces the refiner.
    quality: Option<Quality>,
    compositor: Compositor,
    /// Where the clip's picture sits on the canvas, and the canvas's size (w, h), px.
    placement: Placement,
    canvas: (u32, u32),
    layer: YuvFrame,
    layer_alpha: Vec<u8>,
    alpha: Vec<u8>,
    bg: Option<(Decoder, YuvFrame)>,
}

impl Cut {
    /// Composites `picture` (canvas size) over the backdrop with the alpha in `layer_alpha`
    /// (the layer's), reading the backdrop video's next frame when there is one.
    fn composite(&mut self, picture: &mut YuvFrame) -> Result<()> {
        let alpha = place_alpha(
            &self.layer_alpha,
            &mut self.alpha,
            &self.placement,
            self.canvas,
        );
        let video_bg = match self.bg.as_mut() {
            Some((d, f)) => {
                d.read_frame(f)?;
                Some(&*f)
            }
            None => None,
        };
        self.compositor.composite(picture, alpha, video_bg);
        Ok(())
    }

    /// Takes the frame just decoded into `frame` (a spare takes its place) into the quality
    /// matte's lookahead, with its person layer and selfie mask, and finishes and writes
    /// what the lookahead releases, in order (`emit`).
    fn hold(
        &mut self,
        q: &mut Quality,
        frame: &mut YuvFrame,
        out: &mut Output,
        progress: &mut dyn ProgressReporter,
    ) -> Result<()> {
        let spare = q
            .spare
            .pop()
            .unwrap_or_else(|| YuvFrame::new(frame.width, frame.height));
        let picture = std::mem::replace(frame, spare);
        let layer = (!self.placement.covers(self.canvas.0, self.canvas.1)).then(|| {
            let p = &self.placement;
            let mut l = q
                .spare_layers
                .pop()
                .unwrap_or_else(|| YuvFrame::new(p.layer_w as usize, p.layer_h as usize));
            extract(&picture, p, &mut l);
            l
        });
        let probs = self
            .seg
            .infer_yuv(layer.as_ref().unwrap_or(&picture))?
            .to_vec();
        let held = Held {
            frame: picture,
            layer,
            probs,
        };
        for r in q.look.push(held, self.kind.input_size())? {
            self.emit(q, r, frame, out, progress)?;
        }
        Ok(())
    }

    /// Finishes a frame the quality matte released (`released`: the frame and its MODNet
    /// alpha, `None` to keep the last): fuse, composite, write. The frame ends in `frame`
    /// (the one held after the stream's end); the buffers it replaces go back to `q`'s
    /// spares.
    fn emit(
        &mut self,
        q: &mut Quality,
        (held, fine): (Held, Option<FineMatte>),
        frame: &mut YuvFrame,
        out: &mut Output,
        progress: &mut dyn ProgressReporter,
    ) -> Result<()> {
        let Held {
            frame: mut picture,
            layer,
            probs,
        } = held;
        if let Some(f) = fine {
            q.last = Some(f);
        }
        let src = layer.as_ref().unwrap_or(&picture);
        q.fuser.fuse(
            &probs,
            self.kind.input_size(),
            q.last.as_ref(),
            (src.width, src.height),
            &mut self.layer_alpha,
        );
        q.spare_layers.extend(layer);
        self.composite(&mut picture)?;
        out.write(&picture, progress)?;
        q.spare.push(std::mem::replace(frame, picture));
        Ok(())
    }

    /// The frames still waiting for a keyframe at the end of a clip's span: the last becomes
    /// one (`Lookahead::finish`), and all are written.
    fn flush(
        &mut self,
        frame: &mut YuvFrame,
        out: &mut Output,
        progress: &mut dyn ProgressReporter,
    ) -> Result<()> {
        let Some(mut q) = self.quality.take() else {
            return Ok(());
        };
        let done = q.look.finish(self.kind.input_size()).and_then(|ready| {
            ready
                .into_iter()
                .try_for_each(|r| self.emit(&mut q, r, frame, out, progress))
        });
        self.quality = Some(q);
        done
    }
}

/// The quality matte of one clip: MODNet on keyframes with the frames between carried from
/// both sides (`tween::Lookahead`, as the clip pipeline does), then fused with the selfie
/// mask.
struct Quality {
    look: Lookahead<Held>,
    fuser: Fuser,
    /// The last alpha MODNet gave or the carry made (`None` before the first).
    last: Option<FineMatte>,
    /// Canvas frames and person layers written out, for the next frames to reuse.
    spare: Vec<YuvFrame>,
    spare_layers: Vec<YuvFrame>,
}

/// A decoded frame waiting for the quality matte's next keyframe.
struct Held {
    /// The canvas frame.
    frame: YuvFrame,
    /// The person's layer, when it does not cover the canvas (`Placement::covers`).
    layer: Option<YuvFrame>,
    /// The selfie model's person probabilities for the layer (or the frame), at model size.
    probs: Vec<f32>,
}

impl Held {
    /// The selfie mask and the picture it was made from (`Lookahead::new`'s `parts`).
    fn parts(&self) -> (&[f32], &YuvFrame) {
        (&self.probs, self.layer.as_ref().unwrap_or(&self.frame))
    }
}

/// The alpha at canvas size: the layer's own when it covers the canvas, else copied into
/// `alpha` (`canvas` w×h, 0 outside the layer) at the layer's place.
fn place_alpha<'a>(
    layer_alpha: &'a [u8],
    alpha: &'a mut [u8],
    p: &Placement,
    (cw, ch): (u32, u32),
) -> &'a [u8] {
    if p.covers(cw, ch) {
        return layer_alpha;
    }
    let (x, y, lw, lh) = layer_rect(p);
    for r in 0..lh {
        let d = (y + r) * cw as usize + x;
        alpha[d..d + lw].copy_from_slice(&layer_alpha[r * lw..(r + 1) * lw]);
    }
    alpha
}

/// Render one clip's frames into `out`. `Ok(Some(warning))` when the clip ran short.
fn render_clip(
    span: &Span<'_>,
    canvas: &Canvas<'_>,
    matte: &MatteOptions,
    out: &mut Output,
    progress: &mut dyn ProgressReporter,
) -> Result<Option<String>> {
    let (cw, ch) = (canvas.w, canvas.h);
    let (sw, sh) = (span.info.width, span.info.height);
    let backdrop = span.clip.backdrop.as_ref();
    let placement = match backdrop {
        Some(_) => {
            let same = framing::place(sw, sh, cw, ch, None);
            if same.covers(cw, ch) {
                same
            } else {
                framing::place(sw, sh, cw, ch, find_person(span)?)
            }
        }
        None => framing::fit(sw, sh, cw, ch),
    };
    let fill = match backdrop.map(|b| &b.spec) {
        None => Fill::Blurred,
        Some(BackdropSpec::Blur { .. }) => Fill::Cover,
        Some(_) => Fill::Black,
    };
    let graph = filter(&placement, cw, ch, canvas.frame_rate, fill);
    // A little more than the span, so rounding never leaves the last frame undecoded.
    let mut dec = Decoder::open_filtered(
        &span.clip.input,
        span.start_s,
        Some(span.duration_s + 2.0 / canvas.fps),
        &graph,
        cw,
        ch,
    )?;
    let covers = placement.covers(cw, ch);
    let (lw, lh) = (placement.layer_w as usize, placement.layer_h as usize);
    let mut cut = match backdrop {
        Some(b) => {
            let kind = ModelKind::for_frame(lw, lh);
            let compositor = Compositor::new(b, cw as usize, ch as usize)?;
            let bg = if compositor.needs_video_frames() {
                match &b.spec {
                    BackdropSpec::Video(p) => {
                        let d = Decoder::open_looped_cover(p, cw, ch, canvas.frame_rate)?;
                        let f = d.new_frame();
                        Some((d, f))
                    }
                    _ => None,
                }
            } else {
                None
            };
            Some(Cut {
                kind,
                seg: Segmenter::new(kind)?,
                refiner: MatteRefiner::new(matte.clone(), lw, lh),
                quality: matte.mode.runs_modnet().then(|| Quality {
                    look: Lookahead::new(matte, Held::parts),
                    fuser: Fuser::new(matte.fuse),
                    last: None,
                    spare: Vec::new(),
                    spare_layers: Vec::new(),
                }),
                compositor,
                placement,
                canvas: (cw, ch),
                layer: YuvFrame::new(lw, lh),
                layer_alpha: Vec::new(),
                alpha: vec![0; (cw * ch) as usize],
                bg,
            })
        }
        None => None,
    };
    let mut frame = YuvFrame::new(cw as usize, ch as usize);
    let mut decoded = 0u64;
    while decoded < span.frames && dec.read_frame(&mut frame)? {
        decoded += 1;
        match cut.as_mut() {
            // The frame waits in the lookahead until its alpha is final (the next
            // keyframe's, carried back); what it releases is written in order.
            Some(c) if c.quality.is_some() => {
                let mut q = c.quality.take().ok_or(Error::Aborted)?;
                let held = c.hold(&mut q, &mut frame, out, progress);
                c.quality = Some(q);
                held.inspect_err(|_| dec.kill())?;
            }
            Some(c) => {
                let src: &YuvFrame = if covers {
                    &frame
                } else {
                    extract(&frame, &placement, &mut c.layer);
                    &c.layer
                };
                let (mw, mh) = c.kind.input_size();
                let probs = c.seg.infer_yuv(src)?;
                c.refiner.refine(probs, mw, mh, src, &mut c.layer_alpha);
                c.composite(&mut frame)?;
                out.write(&frame, progress).inspect_err(|_| dec.kill())?;
            }
            None => out.write(&frame, progress).inspect_err(|_| dec.kill())?,
        }
    }
    if decoded == 0 && span.frames > 0 {
        let why = dec
            .finish()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        return Err(Error::input(
            &span.clip.input,
            format!(
                "no frame could be decoded from {:.2} s on; the file is damaged or the trim is past its end {why}",
                span.start_s
            )
            .trim_end()
            .to_string(),
        ));
    }
    // The frames still waiting for a keyframe get it now, at the end of the stream or of
    // the span, whichever came first.
    if let Some(c) = cut.as_mut() {
        c.flush(&mut frame, out, progress)
            .inspect_err(|_| dec.kill())?;
    }
    // After the end of the stream the last frame is held.
    for _ in decoded..span.frames {
        out.write(&frame, progress).inspect_err(|_| dec.kill())?;
    }
    dec.kill();
    if let Some(c) = cut.as_mut()
        && let Some((d, _)) = c.bg.as_mut()
    {
        d.kill();
    }
    let missing = span.frames - decoded;
    Ok((missing > 2).then(|| {
        format!(
            "{}: {missing} of {} frames could not be decoded; the last one was held",
            span.clip.input.display(),
            span.frames
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canvas_rates() {
        assert_eq!(canvas_rate("30000/1001"), (30000, 1001));
        assert_eq!(canvas_rate("25/1"), (25, 1));
        assert_eq!(canvas_rate("0/0"), (30, 1));
        assert_eq!(canvas_rate("120/1"), (30, 1));
        assert_eq!(canvas_rate("24"), (24, 1));
    }

    #[test]
    fn filters_for_each_fill() {
        let same = framing::place(640, 360, 1920, 1080, None);
        assert_eq!(
            filter(&same, 1920, 1080, "30/1", Fill::Black),
            "fps=30/1,scale=1920:1080:flags=bicubic:out_range=tv,setsar=1"
        );
        let tall = framing::fit(640, 360, 1080, 1920);
        let f = filter(&tall, 1080, 1920, "30/1", Fill::Blurred);
        assert!(f.contains("boxblur") && f.contains("overlay=0:"), "{f}");
        let f = filter(&tall, 1080, 1920, "30/1", Fill::Black);
        assert!(f.contains("pad=1080:1920:0:"), "{f}");
    }
}
