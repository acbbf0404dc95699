//! Matte refinement: segmentation mask → full-resolution alpha. Steps, one file each:
//! small-blob removal on the model-size mask (`blobs`), temporal smoothing on a reduced grid
//! (`temporal`), edge-aware upsampling by a fast guided filter on the frame's luma
//! (`guided`), optional feather (`feather`). All buffers live in [`MatteRefiner`], so
//! steady-state refinement allocates nothing.

mod blobs;
pub(crate) mod boxfilter;
mod feather;
pub mod fine;
pub mod fuse;
mod guided;
pub mod keyframe;
mod motion;
mod propagate;
pub(crate) mod resample;
mod rescue;
mod steady;
mod temporal;
pub mod tween;

/// Generated scenes (a textured shape moving over a textured background, and the selfie
/// model's view of it) for the matting stage's tests.
#[cfg(test)]
pub(crate) use motion::tests::{ellipse_selfie, moving_scene};

use super::YuvFrame;
use blobs::BlobFilter;
use feather::Feather;
use guided::FastGuided;
use resample::{AxisMap, bilinear_f32, downsample_u8, reduced};
use temporal::Temporal;

/// Which matte the engine computes. The keyframe settings a mode implies
/// (`fine_every`, `fine_long_side`, `fine_carry`) come with [`MatteOptions::for_mode`];
/// setting `MatteOptions::mode` alone keeps the options' own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatteMode {
    /// The selfie model alone, refined by a guided filter (cheapest).
    Fast,
    /// The quality matte on keyframes: MODNet at crop long side 384 on every 2nd frame, the
    /// frames between carried from both sides by motion, dark crops redone at 512 and run
    /// on every frame (`rescue`, `keyframe::Why::Dark`), each dark frame's alpha averaged
    /// with the last one's carried to it (`steady`). Dev set (issue 23 round 10): edge
    /// error 0.0740 against `quality`'s 0.0697 and `fast`'s 0.136, at about a third of
    /// `quality`'s CPU. The default: it met issue 23's bars (`docs/notes/issue-23.md`,
    /// round 13).
    #[default]
    Balanced,
    /// The selfie model fused with MODNet's portrait matting (`fuse`) on every frame at crop
    /// long side 512: sharper hair and no band of old background, at several times the cost.
    Quality,
}

impl MatteMode {
    /// Every accepted spelling, for error messages.
    pub const NAMES: &'static str = "fast, balanced, quality";

    /// The mode's name, as [`MatteMode::parse`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatteMode::Fast => "fast",
            MatteMode::Balanced => "balanced",
            MatteMode::Quality => "quality",
        }
    }

    /// Parses `fast`, `balanced` or `quality` (case-insensitive, surrounding spaces
    /// ignored).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fast" => Some(MatteMode::Fast),
            "balanced" => Some(MatteMode::Balanced),
            "quality" => Some(MatteMode::Quality),
            _ => None,
        }
    }

    /// The mode fuses MODNet's alpha with the selfie mask (`balanced`, `quality`); `fast`
    /// refines the selfie mask alone.
    pub fn runs_modnet(self) -> bool {
        !matches!(self, MatteMode::Fast)
    }
}

/// How the quality matte fills the frames between MODNet's keyframes (`fine_every` > 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// The last keyframe's alpha, unmoved, on a fixed interval.
    Reuse,
    /// The last keyframe's alpha warped by block motion (`motion`, `propagate`); a scene
    /// cut, motion the search cannot follow, people leaving the crop or disagreement with
    /// the selfie mask force a keyframe (`keyframe`).
    Forward,
    /// As `Forward`, blended with the next keyframe's alpha warped back by motion, by the
    /// frame's distance to each (`tween`): no pop when a keyframe lands. The clip pipeline
    /// and the timeline renderer hold the frames between keyframes for it.
    Both,
}

impl Carry {
    /// Every accepted spelling, for error messages.
    pub const NAMES: &'static str = "reuse, forward, both";

    /// Parses `reuse`, `forward` or `both` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "reuse" => Some(Carry::Reuse),
            "forward" => Some(Carry::Forward),
            "both" => Some(Carry::Both),
            _ => None,
        }
    }
}

/// Tunables, exposed on the CLI.
#[derive(Debug, Clone, PartialEq)]
pub struct MatteOptions {
    /// `fast` (selfie model), `balanced` or `quality` (selfie + MODNet). Setting it does
    /// not change the keyframe settings below: [`MatteOptions::for_mode`] does.
    pub mode: MatteMode,
    /// Quality mode: MODNet runs on every n-th frame at most (1 = every frame); the frames
    /// between carry its last alpha forward (`fine_motion`), bounded by the current selfie
    /// mask.
    pub fine_every: u32,
    /// Quality mode, `fine_every` > 1: how the frames between keyframes get MODNet's alpha.
    pub fine_carry: Carry,
    /// Quality mode, carrying by motion: radius (MODNet px) of the guided filter that re-snaps the
    /// carried alpha to the current frame's luma edges (0: no re-snap).
    pub fine_snap: u32,
    /// Quality mode: longest side of MODNet's input in pixels (the crop around the people
    /// is scaled down to it, never up).
    pub fine_long_side: u32,
    /// Quality mode: threads MODNet's large ops split over (0 = one per core, at most 4).
    /// MODNet is the quality matte's bottleneck stage; splitting its ops (convolutions,
    /// depthwise, concatenation, resize, IBNorm: `Model::set_threads`) lets it use the
    /// cores the other stages leave idle without a second plan's memory.
    pub fine_threads: u32,
    /// Quality mode: which MODNet convolutions run in reduced precision, and which one
    /// (`precision`: bf16 with fp32 sums on CPUs with AVX-512 BF16, or int8 on CPUs with
    /// AVX-512 VNNI or AVX2; None: all fp32; CPUs without the instructions, and the
    /// `portable` build, always run fp32).
    /// Default: the decoder's convolutions in int8 (`ReducedLayers::DECODER_INT8`: the matte
    /// metrics hold within 0.0005 edge error; issue 23 round 10).
    pub fine_reduced: Option<crate::engine::segment::modnet::ReducedLayers>,
    /// Quality mode, carrying by motion (`balanced`): on dark frames, where every frame is
    /// a keyframe, the weight (0–1) of the last keyframe's alpha carried to the new one
    /// (`steady`: averages out MODNet's swings with the sensor noise; 0: off). `quality`
    /// (`fine_every` 1) and `Carry::Reuse` do not steady.
    pub fine_steady: f32,
    /// Quality mode: how the selfie mask bounds MODNet (`fuse::FuseParams`).
    pub fuse: fuse::FuseParams,
    /// 0 = no temporal smoothing, 1 = maximal.
    pub temporal: f32,
    /// Feather radius in output pixels (0 = none).
    pub feather: f32,
    /// Guided-filter radius in output pixels.
    pub guided_radius: u32,
    /// Remove connected person blobs smaller than this fraction of the frame.
    pub min_blob: f32,
    /// Guided-filter regulariser (luma in [0,1], so units of luma²): smaller follows image
    /// edges more tightly, larger keeps the model's soft outline.
    pub guided_eps: f32,
    /// Edge contrast: the alpha is steepened around 0.5 by this factor (1 = as filtered).
    /// The model's outline is ~2 model pixels wide, i.e. blurry at full size; a gain > 1
    /// narrows that soft band.
    pub edge_gain: f32,
}

impl Default for MatteOptions {
    /// The default matte's options: [`MatteOptions::for_mode`] of [`MatteMode::default`].
    fn default() -> Self {
        MatteOptions::for_mode(MatteMode::default())
    }
}

impl MatteOptions {
    /// The options of matte `mode`: the shared tuning, plus the keyframe settings the mode
    /// implies (`balanced`: MODNet at crop long side 384 on every 2nd frame, carried from
    /// both sides; `quality`: at 512 on every frame; `fast` does not run MODNet). Callers
    /// that take tuning flags set them on the result, so a flag given overrides the mode's.
    pub fn for_mode(mode: MatteMode) -> Self {
        // Tuned on the known-alpha clips (tests/quality.rs, BENCHMARKS.md "Quality"): edge
        // gain 2 halves the model's soft band (mean abs error 0.018 → 0.013, flicker −20 %),
        // eps 0.002 lets hair follow luma edges, blobs under 0.5 % of the frame were all
        // false positives there, temporal 0.7 damps flicker without visible lag.
        let base = MatteOptions {
            mode,
            fine_every: 1,
            fine_carry: Carry::Both,
            fine_snap: 0,
            fine_long_side: 512,
            fine_threads: 0,
            // The decoder's convolutions in int8 on CPUs with AVX-512 VNNI or AVX2 (fp32
            // elsewhere): dev set at crop 512 edge 0.0697 against fp32's 0.0693, IoU 0.9838 /
            // 0.9840, 0.69-0.76x the CPU (VNNI, issue 23 round 10); `balanced` on AVX2 with
            // 7-bit weights edge 0.0741 against fp32's 0.0740 (round 15).
            fine_reduced: Some(crate::engine::segment::modnet::ReducedLayers::DECODER_INT8),
            fine_steady: steady::PAST_WEIGHT,
            fuse: fuse::FuseParams::default(),
            temporal: 0.7,
            feather: 0.0,
            guided_radius: 8,
            min_blob: 0.005,
            guided_eps: 0.002,
            edge_gain: 2.0,
        };
        match mode {
            // The keyframe design of issue 23 round 10 (crop 384, every 2nd frame carried
            // from both sides, rescue at 512 below it): dev set IoU 0.9834, min 0.9649,
            // edge 0.0740, flicker 0.00172; 0.137 CPU s/frame at 1080p.
            MatteMode::Balanced => MatteOptions {
                fine_every: 2,
                fine_long_side: 384,
                fine_carry: Carry::Both,
                ..base
            },
            MatteMode::Fast | MatteMode::Quality => base,
        }
    }
}

/// Long side of the reduced grid the guided-filter coefficients are fitted on (1080p → /6,
/// 720p → /4). Finer grids measured the same on the known-alpha clips and cost more.
const GUIDE_LONG_SIDE: usize = 320;

/// Turns raw model output into a full-resolution alpha for one clip; holds the temporal
/// state and scratch buffers, so one refiner serves one clip in frame order.
pub struct MatteRefiner {
    opts: MatteOptions,
    width: usize,
    height: usize,
    /// Downsampling factor full-res → guide grid.
    scale: usize,
    lw: usize,
    lh: usize,
    model_w: usize,
    model_h: usize,
    model: Vec<f32>,
    guide: Vec<f32>,
    mask: Vec<f32>,
    acc: Vec<u32>,
    rows: (Vec<f32>, Vec<f32>),
    mxmap: AxisMap,
    mymap: AxisMap,
    blobs: BlobFilter,
    temporal: Temporal,
    guided: FastGuided,
    feather: Feather,
}

impl MatteRefiner {
    pub fn new(opts: MatteOptions, width: usize, height: usize) -> Self {
        let scale = (width.max(height) as f32 / GUIDE_LONG_SIDE as f32)
            .round()
            .max(1.0) as usize;
        let (lw, lh) = (reduced(width, scale), reduced(height, scale));
        let n = lw * lh;
        MatteRefiner {
            opts,
            width,
            height,
            scale,
            lw,
            lh,
            model_w: 0,
            model_h: 0,
            model: Vec::new(),
            guide: vec![0.0; n],
            mask: vec![0.0; n],
            acc: Vec::with_capacity(lw),
            rows: (Vec::with_capacity(lw), Vec::with_capacity(lw)),
            mxmap: AxisMap::default(),
            mymap: AxisMap::default(),
            blobs: BlobFilter::new(0),
            temporal: Temporal::new(n),
            guided: FastGuided::new(lw, lh, width, height),
            feather: Feather::new(),
        }
    }

    pub fn options(&self) -> &MatteOptions {
        &self.opts
    }

    /// Forget the temporal history (e.g. before a new clip or after a seek).
    pub fn reset(&mut self) {
        self.temporal.reset();
    }

    /// `raw`: model output (`model_w`×`model_h`, person probability). `frame`: the full-res
    /// frame it came from (its luma guides the edges). Writes `frame.width*frame.height`
    /// alpha bytes (255 = person) into `alpha`.
    pub fn refine(
        &mut self,
        raw: &[f32],
        model_w: usize,
        model_h: usize,
        frame: &YuvFrame,
        alpha: &mut Vec<u8>,
    ) {
        assert_eq!(raw.len(), model_w * model_h, "model output size mismatch");
        assert!(
            frame.y.len() >= frame.width * frame.height,
            "luma plane too small"
        );
        if (frame.width, frame.height) != (self.width, self.height) {
            *self = MatteRefiner::new(self.opts.clone(), frame.width, frame.height);
        }
        if (model_w, model_h) != (self.model_w, self.model_h) {
            self.model_w = model_w;
            self.model_h = model_h;
            self.model.resize(model_w * model_h, 0.0);
            self.mxmap = AxisMap::new(model_w, self.lw);
            self.mymap = AxisMap::new(model_h, self.lh);
            self.blobs = BlobFilter::new(model_w * model_h);
            self.temporal.reset();
        }
        let (w, h) = (self.width, self.height);

        for (m, &r) in self.model.iter_mut().zip(raw) {
            // NaN-safe: a NaN probability counts as background.
            *m = if r >= 0.0 { r.min(1.0) } else { 0.0 };
        }
        self.blobs
            .remove_small(&mut self.model, model_w, model_h, self.opts.min_blob);

        downsample_u8(&frame.y, w, h, self.scale, &mut self.guide, &mut self.acc);
        bilinear_f32(
            &self.model,
            model_w,
            &self.mxmap,
            &self.mymap,
            &mut self.mask,
            &mut self.rows.0,
            &mut self.rows.1,
        );
        self.temporal
            .smooth(&self.guide, &mut self.mask, self.opts.temporal);

        let r = ((self.opts.guided_radius as f32 / self.scale as f32).round() as usize).max(1);
        self.guided.fit(
            &self.guide,
            &self.mask,
            r,
            self.opts.guided_eps.max(1e-6),
            self.opts.edge_gain.max(0.1),
        );
        alpha.resize(w * h, 0);
        self.guided.apply(&frame.y, w, alpha);

        let fr = self.opts.feather.max(0.0).round() as usize;
        if fr > 0 {
            self.feather.apply(alpha, w, h, fr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic frame: bright disc (the "person") on a dark textured background, and a
    /// model mask that is the disc at model resolution, blurred.
    fn scene(w: usize, h: usize, cx: f32, cy: f32, rad: f32) -> YuvFrame {
        let mut f = YuvFrame::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                f.y[y * w + x] = if d < rad {
                    190
                } else {
                    40 + ((x * 7 + y * 3) % 11) as u8
                };
            }
        }
        f
    }

    fn model_mask(
        mw: usize,
        mh: usize,
        w: usize,
        h: usize,
        cx: f32,
        cy: f32,
        rad: f32,
    ) -> Vec<f32> {
        let (sx, sy) = (w as f32 / mw as f32, h as f32 / mh as f32);
        (0..mw * mh)
            .map(|i| {
                let x = ((i % mw) as f32 + 0.5) * sx;
                let y = ((i / mw) as f32 + 0.5) * sy;
                let d = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
                // Soft edge ±2 model pixels wide.
                (0.5 - (d - rad) / (4.0 * sx)).clamp(0.0, 1.0)
            })
            .collect()
    }

    /// The quality matte keeps MODNet at crop long side 512 on every frame, its decoder in
    /// int8 (the dev-set metrics hold; bf16 was slower on this box; issue 23).
    #[test]
    fn quality_is_modnet_at_512_every_frame_with_an_int8_decoder() {
        let o = MatteOptions::for_mode(MatteMode::Quality);
        assert_eq!(
            o.fine_reduced,
            Some(crate::engine::segment::modnet::ReducedLayers::DECODER_INT8)
        );
        assert_eq!(
            (o.mode, o.fine_long_side, o.fine_every),
            (MatteMode::Quality, 512, 1)
        );
    }

    /// `balanced` is the quality matte on keyframes (issue 23 round 10's design): crop 384,
    /// every 2nd frame, carried from both sides, the same int8 decoder; everything else as
    /// `quality`.
    #[test]
    fn balanced_is_the_quality_matte_on_keyframes_at_384() {
        let b = MatteOptions::for_mode(MatteMode::Balanced);
        assert_eq!(
            (b.mode, b.fine_long_side, b.fine_every, b.fine_carry),
            (MatteMode::Balanced, 384, 2, Carry::Both)
        );
        let q = MatteOptions::for_mode(MatteMode::Quality);
        let as_quality = MatteOptions {
            mode: MatteMode::Quality,
            fine_long_side: 512,
            fine_every: 1,
            ..b
        };
        assert_eq!(as_quality, q);
        assert!(MatteMode::Balanced.runs_modnet() && MatteMode::Quality.runs_modnet());
        assert!(!MatteMode::Fast.runs_modnet());
    }

    /// Every mode reads back its own name, and the names listed for errors are all of them.
    #[test]
    fn matte_names_parse_back_and_are_all_listed() {
        let all = [MatteMode::Fast, MatteMode::Balanced, MatteMode::Quality];
        for m in all {
            assert_eq!(MatteMode::parse(m.as_str()), Some(m));
            assert_eq!(
                MatteMode::parse(&format!(" {} ", m.as_str().to_uppercase())),
                Some(m)
            );
        }
        let listed: Vec<&str> = MatteMode::NAMES.split(", ").collect();
        assert_eq!(listed, all.map(MatteMode::as_str));
        assert_eq!(MatteMode::parse("ultra"), None);
    }

    /// The default matte, at every entry point that names none (`MatteOptions::default`,
    /// the CLI without `--matte`, the backend without `output.matte`, MCP without `matte`).
    #[test]
    fn the_default_matte_is_balanced() {
        assert_eq!(MatteMode::default(), MatteMode::Balanced);
        assert_eq!(
            MatteOptions::default(),
            MatteOptions::for_mode(MatteMode::Balanced)
        );
    }

    #[test]
    fn carry_parses_its_names_and_defaults_to_both() {
        for (s, c) in [
            ("reuse", Carry::Reuse),
            (" Forward ", Carry::Forward),
            ("BOTH", Carry::Both),
        ] {
            assert_eq!(Carry::parse(s), Some(c));
        }
        assert_eq!(Carry::parse("motion"), None);
        assert_eq!(MatteOptions::default().fine_carry, Carry::Both);
        assert_eq!(MatteOptions::default().fine_snap, 0);
    }

    #[test]
    fn alpha_follows_the_person_edge() {
        let (w, h) = (640, 360);
        let (cx, cy, rad) = (320.0, 180.0, 100.0);
        let frame = scene(w, h, cx, cy, rad);
        let raw = model_mask(256, 144, w, h, cx, cy, rad);
        let mut r = MatteRefiner::new(MatteOptions::default(), w, h);
        let mut alpha = Vec::new();
        r.refine(&raw, 256, 144, &frame, &mut alpha);
        assert_eq!(alpha.len(), w * h);
        let mut wrong = 0;
        for y in 0..h {
            for x in 0..w {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                let a = alpha[y * w + x];
                if (d < rad - 3.0 && a < 128) || (d > rad + 3.0 && a >= 128) {
                    wrong += 1;
                }
            }
        }
        assert_eq!(wrong, 0);
        // The guided filter makes the edge crisp: along rays, alpha drops by more than half
        // its range between 1.5 px inside and 1.5 px outside the luma edge (the model's own
        // ramp spans ~20 px here).
        for k in 0..16 {
            let t = k as f32 * std::f32::consts::PI / 8.0;
            let at = |d: f32| {
                let x = (cx + d * t.cos()).round() as usize;
                let y = (cy + d * t.sin()).round() as usize;
                alpha[y * w + x] as i32
            };
            assert!(
                at(rad - 1.5) - at(rad + 1.5) > 128,
                "ray {k}: {} {}",
                at(rad - 1.5),
                at(rad + 1.5)
            );
        }
    }

    #[test]
    fn small_blobs_are_removed() {
        let (w, h) = (640, 360);
        let frame = scene(w, h, 320.0, 180.0, 100.0);
        let mut raw = model_mask(256, 144, w, h, 320.0, 180.0, 100.0);
        // A 3x3 false positive in the corner (0.02% of the model grid).
        for y in 5..8 {
            for x in 5..8 {
                raw[y * 256 + x] = 0.95;
            }
        }
        let mut r = MatteRefiner::new(MatteOptions::default(), w, h);
        let mut alpha = Vec::new();
        r.refine(&raw, 256, 144, &frame, &mut alpha);
        let corner_max = (0..40)
            .flat_map(|y| (0..40).map(move |x| (x, y)))
            .map(|(x, y)| alpha[y * w + x])
            .max();
        assert_eq!(corner_max, Some(0));
    }

    #[test]
    fn resizes_for_a_new_frame_size_and_model() {
        let mut r = MatteRefiner::new(MatteOptions::default(), 64, 64);
        let frame = scene(128, 72, 64.0, 36.0, 20.0);
        let raw = model_mask(256, 144, 128, 72, 64.0, 36.0, 20.0);
        let mut alpha = Vec::new();
        r.refine(&raw, 256, 144, &frame, &mut alpha);
        assert_eq!(alpha.len(), 128 * 72);
        assert!(alpha[36 * 128 + 64] > 200 && alpha[2 * 128 + 2] < 20);
        let raw = vec![0.0f32; 256 * 256];
        r.refine(&raw, 256, 256, &frame, &mut alpha);
        assert!(alpha.iter().all(|&a| a == 0));
    }
}
