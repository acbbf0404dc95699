//! The quality matte's MODNet step for one clip, shared by the clip pipeline (its `matting`
//! stage) and the timeline renderer: the crop around the people the selfie mask shows
//! (`fuse::person_region`), MODNet's input size from the crop (`fuse::model_size`) with
//! hysteresis, the run itself, and, between keyframes (`keyframe`), MODNet's last alpha
//! carried forward by motion (`motion`, `propagate`), and on dark frames (a keyframe each)
//! the alpha steadied against the last one's (`steady`). The result goes to `fuse::Fuser`.

use super::fuse::{FineMatte, model_size, person_region};
use super::keyframe::{self, Evidence, MotionEvidence, Why};
use super::motion::{Luma, MotionField};
use super::propagate::{Snap, agreement, warp};
use super::rescue::{RESCUE_LONG_SIDE, Rescue, Start, crop_luma, missed};
use super::steady::Steady;
use super::{Carry, MatteOptions};
use crate::engine::segment::modnet::{Matter, Region};
use crate::engine::{Result, YuvFrame};

/// Margin around the people's box for MODNet's crop, as a fraction of the box's longer side:
/// room for hair and hands the selfie mask misses, and context for MODNet.
const FINE_MARGIN: f32 = 0.08;

/// A size within this many pixels per side of the current plan's is kept: a new plan costs
/// ~0.1 s, and a crop that breathes by a few pixels should not pay it every frame.
const SIZE_HYSTERESIS: usize = 32;

/// The last keyframe: MODNet's alpha, the frame's luma grid, and how well the alpha agreed
/// with the selfie mask then.
struct Key {
    fine: FineMatte,
    luma: Luma,
    agreement: f32,
    /// Frames since it (0 on the keyframe itself).
    since: u32,
}

/// How many frames were keyframes (and why) or carried forward, for the log and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyStats {
    /// Keyframes by reason, in [`Why`]'s order: first, interval, scene cut, motion, region,
    /// disagreement, end of clip, low light.
    pub keys: [u32; 8],
    /// Frames whose alpha was carried from a keyframe by motion.
    pub carried: u32,
    /// Frames that reused the last alpha as is (`Carry::Reuse`).
    pub reused: u32,
    /// Carried frames the next keyframe's alpha could not be carried back to (`tween`:
    /// the backward motion failed its checks), so they kept the forward carry alone.
    pub forward_only: u32,
}

impl KeyStats {
    fn key(&mut self, why: Why) {
        let i = match why {
            Why::First => 0,
            Why::Interval => 1,
            Why::SceneCut => 2,
            Why::Motion => 3,
            Why::Region => 4,
            Why::Disagree => 5,
            Why::End => 6,
            Why::Dark => 7,
        };
        self.keys[i] += 1;
    }
}

/// One frame's MODNet alpha, as [`FineRunner::step`] made it.
pub enum Step {
    /// MODNet ran on this frame, for this reason.
    Key(FineMatte, Why),
    /// The last keyframe's alpha carried to this frame by motion, with the frame's luma grid
    /// (for a second carry, back from the next keyframe: `tween`).
    Carried(FineMatte, Luma),
    /// Reuse the last alpha unmoved (`Carry::Reuse`).
    Reused,
}

/// Guided-filter regulariser of the re-snap (luma², luma in [0,1]).
const SNAP_EPS: f32 = 1e-3;

/// `inner` lies within `outer`.
fn inside(inner: Region, outer: Region) -> bool {
    inner.x >= outer.x
        && inner.y >= outer.y
        && inner.x + inner.w <= outer.x + outer.w
        && inner.y + inner.h <= outer.y + outer.h
}

/// Runs MODNet on the frames of one clip, in order; holds the model and its current size.
pub struct FineRunner {
    matter: Matter,
    /// Longest side of MODNet's input, px (`MatteOptions::fine_long_side`).
    long_side: usize,
    /// MODNet's input size (width, height) in use, px.
    size: Option<(usize, usize)>,
    /// `MatteOptions::fine_every`, `fine_carry`, `fine_snap`.
    every: u32,
    /// A shorter interval when `every` would hold too many frames (`cap_interval`).
    every_cap: u32,
    carry: Carry,
    snap_radius: usize,
    /// Frames seen (the non-motion interval counts on it).
    index: u64,
    key: Option<Key>,
    snap: Snap,
    acc: Vec<u32>,
    /// Dark keyframes' alpha averaged with the last keyframe's carried to them, with this
    /// weight on the past (`MatteOptions::fine_steady`; 0: off).
    steady: Steady,
    steady_weight: f32,
    /// Keyframes and carried frames so far.
    pub stats: KeyStats,
    /// Below the default's size: hard frames redone at it (`rescue`).
    pub rescue: Rescue,
}

impl FineRunner {
    /// MODNet at `opts.fine_long_side`, its large ops split over
    /// `opts.fine_threads` threads (0: one per core, at most 4).
    pub fn new(opts: &MatteOptions) -> Self {
        let threads = match opts.fine_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            n => n as usize,
        };
        let mut matter = Matter::with_threads(threads);
        matter.set_reduced(opts.fine_reduced);
        FineRunner {
            matter,
            long_side: opts.fine_long_side as usize,
            size: None,
            every: opts.fine_every.max(1),
            every_cap: u32::MAX,
            carry: opts.fine_carry,
            snap_radius: opts.fine_snap as usize,
            index: 0,
            key: None,
            snap: Snap::new(),
            acc: Vec::new(),
            steady: Steady::default(),
            steady_weight: opts.fine_steady.clamp(0.0, 1.0),
            stats: KeyStats::default(),
            rescue: Rescue::new(opts.fine_long_side as usize),
        }
    }

    /// The MODNet alpha for the next frame of the clip: MODNet's own on a keyframe, else
    /// (carrying) the last keyframe's carried forward to this frame by motion, or (`Reuse`)
    /// `None`: reuse the last one as is. Every frame when `fine_every` is 1.
    pub fn next(
        &mut self,
        selfie: &[f32],
        model: (usize, usize),
        frame: &YuvFrame,
    ) -> Result<Option<FineMatte>> {
        Ok(match self.step(selfie, model, frame)? {
            Step::Key(f, _) | Step::Carried(f, _) => Some(f),
            Step::Reused => None,
        })
    }

    /// The next frame's step: a keyframe (MODNet ran), a carried alpha, or reuse.
    pub fn step(
        &mut self,
        selfie: &[f32],
        model: (usize, usize),
        frame: &YuvFrame,
    ) -> Result<Step> {
        let index = self.index;
        self.index += 1;
        if self.every <= 1 {
            // Counted like every other keyframe: the run's report says how many frames
            // MODNet ran on (`quality` said "0 of N" before).
            self.stats.key(Why::Interval);
            return Ok(Step::Key(self.run(selfie, model, frame)?, Why::Interval));
        }
        if self.carry == Carry::Reuse {
            if index.is_multiple_of(u64::from(self.every)) {
                self.stats.key(Why::Interval);
                return Ok(Step::Key(self.run(selfie, model, frame)?, Why::Interval));
            }
            self.stats.reused += 1;
            return Ok(Step::Reused);
        }
        // With the finer grid: the outline's motion is refined on it (`motion`).
        let luma = Luma::with_fine(frame, &mut self.acc);
        if self.key.is_some() && self.rescue.in_low_light() {
            let why = Why::Dark;
            return Ok(Step::Key(
                self.keyframe(selfie, model, frame, luma, why)?,
                why,
            ));
        }
        match self.carry(selfie, model, frame, &luma) {
            Ok(fine) => {
                self.stats.carried += 1;
                Ok(Step::Carried(fine, luma))
            }
            Err(why) => Ok(Step::Key(
                self.keyframe(selfie, model, frame, luma, why)?,
                why,
            )),
        }
    }

    /// Runs MODNet on `frame` (luma grid `luma`) and makes it the keyframe; a dark one
    /// (`Why::Dark`) is first steadied against the last keyframe (`steady`).
    pub fn keyframe(
        &mut self,
        selfie: &[f32],
        model: (usize, usize),
        frame: &YuvFrame,
        luma: Luma,
        why: Why,
    ) -> Result<FineMatte> {
        self.stats.key(why);
        // A dark keyframe is steadied against the last one (`steady`), unless the picture
        // changed as a whole since (a scene cut), the grids differ, or nobody was in view.
        // The motion from the last keyframe does not depend on this frame's MODNet run, so
        // it is estimated on a thread beside it: on the matting thread it cost 13 % of a
        // dark clip's wall time.
        let weight = self.steady_weight;
        let past = self.key.take_if(|k| {
            why == Why::Dark
                && weight > 0.0
                && k.fine.w > 0
                && (k.luma.w, k.luma.h) == (luma.w, luma.h)
                && luma.mean_abs_diff(&k.luma) <= keyframe::SCENE_CUT
        });
        let size = (frame.width, frame.height);
        let fine = match &past {
            Some(key) => std::thread::scope(|s| {
                let estimate = || MotionField::estimate(&key.luma, &luma, &key.fine);
                let motion = std::thread::Builder::new()
                    .name("ebc-steady".into())
                    .spawn_scoped(s, estimate);
                let fine = self.run(selfie, model, frame);
                let field = match motion {
                    Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                    // No thread to be had: on this one, after the run.
                    Err(_) => estimate(),
                };
                fine.map(|mut fine| {
                    let fresh = agreement(selfie, model, &fine, size);
                    let agrees = |carried: &FineMatte| {
                        let now = agreement(selfie, model, carried, size);
                        keyframe::due_after_warp(fresh, now).is_none()
                    };
                    let lumas = (&key.luma, &luma);
                    if !self
                        .steady
                        .apply(&mut fine, &key.fine, &field, lumas, weight, agrees)
                    {
                        tracing::trace!(
                            saturated = field.saturated,
                            "dark keyframe not steadied: the last one does not fit it"
                        );
                    }
                    fine
                })
            })?,
            None => self.run(selfie, model, frame)?,
        };
        self.key = Some(Key {
            agreement: agreement(selfie, model, &fine, size),
            fine: fine.clone(),
            luma,
            since: 0,
        });
        Ok(fine)
    }

    /// Keyframes at most `n` frames apart (≥ 1) from now on, even when `fine_every` is
    /// longer: `tween` holds the frames between two keyframes, and caps their bytes.
    pub fn cap_interval(&mut self, n: u32) {
        self.every_cap = n.max(1);
    }

    /// The last keyframe's luma grid (after a `Step::Key`, that frame's).
    pub fn key_luma(&self) -> Option<&Luma> {
        self.key.as_ref().map(|k| &k.luma)
    }

    /// The last keyframe's alpha carried to this frame, or why a keyframe is due instead.
    fn carry(
        &mut self,
        selfie: &[f32],
        (mw, mh): (usize, usize),
        frame: &YuvFrame,
        luma: &Luma,
    ) -> std::result::Result<FineMatte, Why> {
        let Some(key) = self.key.as_mut() else {
            return Err(Why::First);
        };
        if (key.luma.w, key.luma.h) != (luma.w, luma.h) {
            return Err(Why::First);
        }
        key.since += 1;
        let e = Evidence {
            since: key.since,
            scene_diff: luma.mean_abs_diff(&key.luma),
        };
        if let Some(why) = keyframe::due_before_motion(self.every.min(self.every_cap), e) {
            return Err(why);
        }
        let (fw, fh) = (frame.width, frame.height);
        let people = person_region(selfie, mw, mh, fw, fh, 0.0);
        if key.fine.w == 0 {
            // Nobody at the keyframe: carried, still nobody, unless someone came.
            return match people {
                Some(_) => Err(Why::Region),
                None => Ok(FineMatte::default()),
            };
        }
        let outside = people.is_none_or(|p| !inside(p, key.fine.region));
        if outside {
            tracing::trace!(?people, crop = ?key.fine.region, "the people left the keyframe's crop");
        }
        let field = MotionField::estimate(&key.luma, luma, &key.fine);
        let m = MotionEvidence {
            residual: field.residual,
            saturated: field.saturated,
            outside,
        };
        if let Some(why) = keyframe::due_after_motion(m) {
            return Err(why);
        }
        let mut fine = FineMatte::default();
        warp(&key.fine, &field, &mut fine);
        if self.snap_radius > 0 {
            self.snap
                .apply(&mut fine, frame, self.snap_radius, SNAP_EPS);
        }
        let now = agreement(selfie, (mw, mh), &fine, (fw, fh));
        if let Some(why) = keyframe::due_after_warp(key.agreement, now) {
            return Err(why);
        }
        Ok(fine)
    }

    /// MODNet's alpha for `frame`, given the selfie model's person probabilities `selfie`
    /// (`mw`×`mh`, over the whole frame). An empty `FineMatte` (w = 0) when nobody is in
    /// view: MODNet does not run then. Below the default's input size, a dark crop runs at
    /// it, and a run that misses part of the selfie mask's person is redone at it (`rescue`).
    pub fn run(
        &mut self,
        selfie: &[f32],
        (mw, mh): (usize, usize),
        frame: &YuvFrame,
    ) -> Result<FineMatte> {
        let (fw, fh) = (frame.width, frame.height);
        let Some(region) = person_region(selfie, mw, mh, fw, fh, FINE_MARGIN) else {
            return Ok(FineMatte::default());
        };
        let luma = if self.rescue.active() {
            crop_luma(frame, region)
        } else {
            255.0
        };
        if self.rescue.start(luma) == Start::Large {
            return self.infer(frame, region, RESCUE_LONG_SIDE);
        }
        let fine = self.infer(frame, region, self.long_side)?;
        if !self.rescue.active() {
            return Ok(fine);
        }
        let lost = missed(selfie, (mw, mh), &fine, (fw, fh));
        let same = model_size(region, RESCUE_LONG_SIDE) == model_size(region, self.long_side);
        if !self.rescue.after(lost, same) {
            tracing::trace!(missed = lost, "MODNet kept at the configured size");
            return Ok(fine);
        }
        tracing::debug!(
            missed = lost,
            fired = self.rescue.fired,
            "MODNet redone at {RESCUE_LONG_SIDE}: its alpha missed part of the selfie mask's person"
        );
        self.infer(frame, region, RESCUE_LONG_SIDE)
    }

    /// MODNet on `region` of `frame` at input long side `long` (hysteresis against the
    /// size in use).
    fn infer(&mut self, frame: &YuvFrame, region: Region, long: usize) -> Result<FineMatte> {
        let want = model_size(region, long);
        let (sw, sh) = match self.size {
            Some((pw, ph))
                if pw.abs_diff(want.0) <= SIZE_HYSTERESIS
                    && ph.abs_diff(want.1) <= SIZE_HYSTERESIS =>
            {
                (pw, ph)
            }
            _ => want,
        };
        self.size = Some((sw, sh));
        let alpha = self.matter.infer_yuv_region(frame, region, sw, sh)?;
        Ok(FineMatte {
            alpha: alpha.to_vec(),
            w: sw,
            h: sh,
            region,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::motion::tests::{ellipse_selfie, moving_scene};
    use super::*;

    fn opts(every: u32, carry: Carry) -> MatteOptions {
        MatteOptions {
            fine_every: every,
            fine_carry: carry,
            fine_long_side: 256,
            ..MatteOptions::for_mode(crate::engine::matte::MatteMode::Quality)
        }
    }

    /// Below crop 512, a dark crop runs MODNet at 512 (`rescue`) and, since noise swamps the
    /// block search in low light, on every frame: no frame of a dark clip is carried. The
    /// same scene in normal light is carried between keyframes.
    #[test]
    fn a_dark_clip_gets_modnet_on_every_frame() {
        let run = |gain: f32| {
            let mut runner = FineRunner::new(&MatteOptions {
                fine_long_side: 384,
                ..opts(3, Carry::Forward)
            });
            let steps: Vec<_> = (0..4)
                .map(|t| {
                    let cx = 600.0 + 4.0 * t as f32;
                    let mut frame = moving_scene(cx, 360.0, 0.0);
                    for v in &mut frame.y {
                        *v = 16 + ((f32::from(*v) - 16.0).max(0.0) * gain) as u8;
                    }
                    why(&runner
                        .step(&ellipse_selfie(cx, 360.0), (256, 144), &frame)
                        .unwrap())
                })
                .collect();
            (steps, runner.rescue.dark)
        };
        let (lit, lit_dark) = run(1.0);
        assert_eq!(lit, [Some(Why::First), None, None, Some(Why::Interval)]);
        assert_eq!(lit_dark, 0);
        let (dark, dark_runs) = run(0.15);
        assert_eq!(
            dark,
            [
                Some(Why::First),
                Some(Why::Dark),
                Some(Why::Dark),
                Some(Why::Dark)
            ]
        );
        assert_eq!(dark_runs, 4);
    }

    fn why(step: &Step) -> Option<Why> {
        match step {
            Step::Key(_, w) => Some(*w),
            _ => None,
        }
    }

    /// A shape drifting right by 4 px a frame is carried between keyframes every 3rd frame;
    /// a new picture (a scene cut) forces MODNet at once, and the interval restarts there.
    #[test]
    fn a_scene_cut_forces_a_keyframe_and_motion_is_carried_between() {
        let mut runner = FineRunner::new(&opts(3, Carry::Forward));
        let model = (256, 144);
        let mut steps = Vec::new();
        for t in 0..4 {
            let cx = 600.0 + 4.0 * t as f32;
            let frame = moving_scene(cx, 360.0, 0.0);
            steps.push(why(&runner
                .step(&ellipse_selfie(cx, 360.0), model, &frame)
                .unwrap()));
        }
        assert_eq!(
            steps,
            [Some(Why::First), None, None, Some(Why::Interval)],
            "{:?}",
            runner.stats
        );
        // The cut: another picture (inverted, re-textured), the person elsewhere.
        let mut cut = moving_scene(500.0, 360.0, 37.0);
        for v in &mut cut.y {
            *v = 255 - *v;
        }
        let step = runner
            .step(&ellipse_selfie(500.0, 360.0), model, &cut)
            .unwrap();
        assert_eq!(why(&step), Some(Why::SceneCut), "{:?}", runner.stats);
        let next = moving_scene(503.0, 360.0, 37.0);
        let mut next_inv = next.clone();
        for v in &mut next_inv.y {
            *v = 255 - *v;
        }
        let step = runner
            .step(&ellipse_selfie(503.0, 360.0), model, &next_inv)
            .unwrap();
        assert_eq!(
            why(&step),
            None,
            "carried after the cut: {:?}",
            runner.stats
        );
        assert_eq!(runner.stats.carried, 3);
    }

    /// With `fine_every` 1 (`quality`) every frame is a keyframe, and is counted as one: the
    /// counts are what a run reports as "MODNet on K of N frames".
    #[test]
    fn every_frame_keyframes_are_counted() {
        let mut runner = FineRunner::new(&opts(1, Carry::Both));
        for t in 0..3 {
            let cx = 600.0 + 4.0 * t as f32;
            let step = runner
                .step(
                    &ellipse_selfie(cx, 360.0),
                    (256, 144),
                    &moving_scene(cx, 360.0, 0.0),
                )
                .unwrap();
            assert_eq!(why(&step), Some(Why::Interval));
        }
        assert_eq!(
            runner.stats.keys.iter().sum::<u32>(),
            3,
            "{:?}",
            runner.stats
        );
        assert_eq!(runner.stats.carried, 0);
    }

    /// Reuse (the old `fine_every`): MODNet on every n-th frame by index, nothing between.
    #[test]
    fn reuse_runs_modnet_on_a_fixed_interval() {
        let mut runner = FineRunner::new(&opts(2, Carry::Reuse));
        let frame = moving_scene(600.0, 360.0, 0.0);
        let sel = ellipse_selfie(600.0, 360.0);
        let got: Vec<bool> = (0..4)
            .map(|_| runner.next(&sel, (256, 144), &frame).unwrap().is_some())
            .collect();
        assert_eq!(got, [true, false, true, false]);
        // The failure the keyframe rules fix: on a fixed interval, a scene cut gets no
        // MODNet run, and the old picture's alpha is reused over the new one.
        let mut runner = FineRunner::new(&opts(2, Carry::Reuse));
        runner.next(&sel, (256, 144), &frame).unwrap();
        let mut cut = moving_scene(500.0, 360.0, 37.0);
        for v in &mut cut.y {
            *v = 255 - *v;
        }
        let at_cut = runner.next(&ellipse_selfie(500.0, 360.0), (256, 144), &cut);
        assert!(at_cut.unwrap().is_none());
    }
}
