//! Low-light steadying of MODNet's alpha. On a dark clip every frame is a keyframe
//! (`keyframe::Why::Dark`: sensor noise swamps the carry's block search), and MODNet, unsure
//! in the dark, answers each frame's fresh noise with a different alpha where the person is
//! hard to tell from the background (a dark suit's edge, the hair): on
//! shared/cases/footage.md #11's clip the matte flickered 2.6× the same frames' in normal
//! light (3.16× on `tests/low_light.rs`'s 60 frames; issue 23, round 14). Each dark
//! keyframe's alpha is therefore averaged with the previous keyframe's steadied alpha
//! carried to it by motion: a recursive, motion-compensated temporal filter.
//! The alpha cannot tell noise from change (MODNet's noise swings are as large as a real
//! edge's), but the luma can once it is averaged over the motion grid's cells: where the
//! carried luma does not match the frame's (the carry missed a real change, a hand came in),
//! the fresh alpha stands alone, so a moving edge follows at once instead of trailing. A
//! past the motion search could not follow (saturated), or that agrees less with the
//! frame's selfie mask than the fresh alpha does (a cut between two dark shots the whole-
//! picture check missed), is not weighed in at all.

use super::boxfilter::BoxFilter;
use super::fuse::FineMatte;
use super::keyframe::MAX_SATURATED;
use super::motion::{Luma, MotionField};
use super::propagate::warp_onto;
use crate::engine::segment::modnet::Region;

/// Weight of the carried past in a steadied alpha (0–1) where the luma matches exactly
/// (`MatteOptions::fine_steady`'s default). An exponential filter of weight w keeps
/// (1 − w)/(1 + w) of its input's noise variance: at most 1/9 at 0.8; the luma gate's ramp
/// lowers the weight where the residual is not 0, so less in practice. Measured on the
/// low-light clip (issue 23 round 14): 0.6–0.9 all lowered the flicker and the error
/// against the same clip without noise; 0.8 lowered both the most together.
pub const PAST_WEIGHT: f32 = 0.8;

/// Least |carried luma − frame luma| (grid luma, 0–1) at which the past's weight reaches 0;
/// it falls linearly on the way there. The cut is raised to [`NOISE_K`]× the crop's median
/// residual on noisier footage, so that noise alone does not turn the filter off (at the
/// median residual the weight keeps 3/4 of its value).
pub const LUMA_CUT: f32 = 0.04;

/// Radius (MODNet px) of the box mean the luma residual is taken over before it weighs:
/// per pixel, the residual's own noise made the weights, and so the alpha, speckled where the
/// past and the fresh alpha differ (issue 23 round 14, frame 50 of the low-light clip).
pub const SMOOTH: usize = 4;

/// The cut as a multiple of the crop's median luma residual (its noise level: most of a
/// crop does not change between two frames).
pub const NOISE_K: f32 = 4.0;

/// Buffers kept between frames, so that steadying allocates nothing once the crop's size
/// settles.
#[derive(Default)]
pub struct Steady {
    /// On the fresh alpha's grid: the past alpha carried by the motion, where it came from
    /// inside the past's crop (`cover`), the past luma carried and this frame's luma.
    /// `ones` is on the past's grid, `luma_plane` on the motion grid.
    carried: FineMatte,
    ones: FineMatte,
    cover: FineMatte,
    luma_plane: FineMatte,
    carried_luma: FineMatte,
    luma_now: FineMatte,
    /// Per pixel of the fresh grid: |carried luma − frame luma|, its box mean, and a copy
    /// for its median.
    resid: Vec<f32>,
    mean: Vec<f32>,
    sorted: Vec<f32>,
    boxes: BoxFilter,
}

/// `luma` (a `w`×`h` grid of `scale`-px cells) as a plane over the frame rectangle it covers.
fn plane(luma: &Luma, out: &mut FineMatte) {
    out.alpha.clear();
    out.alpha.extend_from_slice(&luma.data);
    (out.w, out.h) = (luma.w, luma.h);
    out.region = Region {
        x: 0,
        y: 0,
        w: luma.w * luma.scale,
        h: luma.h * luma.scale,
    };
}

impl Steady {
    /// `fresh` (MODNet's alpha for this frame) ← `fresh` + w·(`past` carried − `fresh`), per
    /// pixel w = `weight`·(1 − r / cut)⁺ (`weight` 0–1, 0: off), where `past` (the previous
    /// keyframe's steadied alpha, on its own grid) is carried onto `fresh`'s grid by `field`
    /// (the motion from the past's frame to this one), r is the box mean (radius
    /// [`SMOOTH`]) of |past luma carried the same way − this frame's luma| (`lumas`: the two
    /// frames' motion grids), and cut = max([`LUMA_CUT`], [`NOISE_K`]·median r). Pixels
    /// whose source falls outside `past`'s crop keep `fresh`.
    /// Nothing changes when either alpha is empty (nobody in view), the grids differ, the
    /// motion search saturated (`field.saturated` > [`MAX_SATURATED`]), or `agrees` (given
    /// the carried past) says the past does not fit this frame. Returns whether the past
    /// was weighed in.
    pub fn apply(
        &mut self,
        fresh: &mut FineMatte,
        past: &FineMatte,
        field: &MotionField,
        (past_luma, luma): (&Luma, &Luma),
        weight: f32,
        agrees: impl FnOnce(&FineMatte) -> bool,
    ) -> bool {
        if fresh.w == 0 || fresh.h == 0 || past.w == 0 || past.h == 0 || weight <= 0.0 {
            return false;
        }
        if field.saturated > MAX_SATURATED {
            return false;
        }
        if (past_luma.w, past_luma.h, past_luma.scale) != (luma.w, luma.h, luma.scale) {
            return false;
        }
        let grid = (fresh.region, fresh.w, fresh.h);
        warp_onto(past, field, grid, &mut self.carried);
        if !agrees(&self.carried) {
            return false;
        }
        // Where the carried value came from inside `past`'s crop: the warp of a plane of ones
        // is 1 there and 0 outside (`warp_onto` samples 0 beyond the crop).
        self.ones.alpha.clear();
        self.ones.alpha.resize(past.w * past.h, 1.0);
        (self.ones.w, self.ones.h, self.ones.region) = (past.w, past.h, past.region);
        warp_onto(&self.ones, field, grid, &mut self.cover);
        plane(past_luma, &mut self.luma_plane);
        warp_onto(&self.luma_plane, field, grid, &mut self.carried_luma);
        plane(luma, &mut self.luma_plane);
        warp_onto(
            &self.luma_plane,
            &MotionField::default(),
            grid,
            &mut self.luma_now,
        );
        self.resid.clear();
        self.resid.extend(
            self.carried_luma
                .alpha
                .iter()
                .zip(&self.luma_now.alpha)
                .map(|(a, b)| (a - b).abs()),
        );
        self.mean.resize(self.resid.len(), 0.0);
        self.boxes
            .mean(&self.resid, &mut self.mean, fresh.w, fresh.h, SMOOTH);
        self.sorted.clone_from(&self.mean);
        let mid = self.sorted.len() / 2;
        let median = *self.sorted.select_nth_unstable_by(mid, f32::total_cmp).1;
        let cut = LUMA_CUT.max(NOISE_K * median);
        for (((a, &c), &k), &r) in fresh
            .alpha
            .iter_mut()
            .zip(&self.carried.alpha)
            .zip(&self.cover.alpha)
            .zip(&self.mean)
        {
            if k < 1.0 {
                continue;
            }
            *a += weight * (1.0 - r / cut).max(0.0) * (c - *a);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matte(region: Region, w: usize, h: usize, f: impl Fn(usize, usize) -> f32) -> FineMatte {
        FineMatte {
            alpha: (0..w * h).map(|i| f(i % w, i / w)).collect(),
            w,
            h,
            region,
        }
    }

    /// A 400×200 px frame's motion grid (4 px cells) of luma `f(x, y)` (grid px).
    fn luma(f: impl Fn(usize, usize) -> f32) -> Luma {
        let (w, h) = (100, 50);
        Luma {
            w,
            h,
            scale: 4,
            data: (0..w * h).map(|i| f(i % w, i / w)).collect(),
            fine: None,
        }
    }

    /// No motion (an empty field: the warp is the identity).
    fn still() -> MotionField {
        MotionField::default()
    }

    const R: Region = Region {
        x: 100,
        y: 50,
        w: 200,
        h: 100,
    };

    /// Noise around a steady alpha shrinks: over 200 frames of an alpha of 0.5 with ±0.4
    /// noise (MODNet's swings in the dark are that large), over an unchanging picture, the
    /// steadied alpha's frame-to-frame change is under a third of the input's.
    #[test]
    fn noise_on_a_still_alpha_is_averaged_out() {
        let mut s = Steady::default();
        let l = luma(|x, y| 0.1 + 0.002 * ((x * 7 + y * 3) % 11) as f32);
        let mut past: Option<FineMatte> = None;
        let (mut raw_change, mut out_change) = (0.0f32, 0.0f32);
        let mut last_raw: Option<f32> = None;
        // A fixed pseudo-random sequence (an LCG): the same numbers every run.
        let mut seed = 12345u32;
        for _ in 0..200 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let noise = (seed >> 16) as f32 / 65_535.0 * 0.8 - 0.4;
            let mut fresh = matte(R, 20, 10, |_, _| 0.5 + noise);
            if let Some(r) = last_raw {
                raw_change += (fresh.alpha[0] - r).abs();
            }
            last_raw = Some(fresh.alpha[0]);
            if let Some(p) = &past {
                s.apply(&mut fresh, p, &still(), (&l, &l), PAST_WEIGHT, |_| true);
                out_change += (fresh.alpha[0] - p.alpha[0]).abs();
            }
            past = Some(fresh);
        }
        assert!(
            out_change < raw_change / 3.0,
            "steadied change {out_change} against the input's {raw_change}"
        );
    }

    /// Where the luma changed (something came into the right quarter of the crop and the carry
    /// did not follow), the fresh alpha stands alone; where it did not, the past is weighed
    /// in; and a past that does not cover a pixel leaves it alone.
    #[test]
    fn a_real_change_and_an_uncovered_pixel_keep_the_fresh_alpha() {
        let mut s = Steady::default();
        let before = luma(|_, _| 0.1);
        // Grid x ≥ 62 is frame x ≥ 248: the crop's right quarter (crop px 15–19 sample
        // frame x 255–295; px 14 samples x 245, between grid cells 60 and 61).
        let after = luma(|x, _| if x >= 62 { 0.3 } else { 0.1 });
        let past = matte(R, 20, 10, |_, _| 0.0);
        let mut fresh = matte(R, 20, 10, |_, _| 1.0);
        s.apply(
            &mut fresh,
            &past,
            &still(),
            (&before, &after),
            PAST_WEIGHT,
            |_| true,
        );
        for y in 0..10 {
            let row = &fresh.alpha[y * 20..(y + 1) * 20];
            assert!((row[2] - (1.0 - PAST_WEIGHT)).abs() < 1e-5, "{row:?}");
            assert_eq!(row[17], 1.0, "{row:?}");
        }
        // The past covers only the left half of the fresh crop.
        let left = Region { w: 100, ..R };
        let past = matte(left, 10, 10, |_, _| 0.4);
        let mut fresh = matte(R, 20, 10, |_, _| 0.5);
        s.apply(
            &mut fresh,
            &past,
            &still(),
            (&before, &before),
            PAST_WEIGHT,
            |_| true,
        );
        for y in 0..10 {
            let (inside, outside) = (fresh.alpha[y * 20 + 2], fresh.alpha[y * 20 + 17]);
            assert!(
                (inside - (0.5 - PAST_WEIGHT * 0.1)).abs() < 1e-5,
                "{inside}"
            );
            assert_eq!(outside, 0.5);
        }
    }

    /// The past moved with the picture: a textured shape 10 px right of where it was, its
    /// alpha 0.6 then and 1 now. Carried by the motion, the past lands on the shape's own
    /// texture and is weighed in: 1 + w·(0.6 − 1) inside. Left where it was, the past sits
    /// on texture that moved away: the luma gate takes the fresh alpha alone.
    #[test]
    fn a_moved_past_is_carried_before_it_is_weighed_in() {
        use crate::engine::matte::motion::tests::{REGION, ellipse_matte, moving_scene};
        let mut acc = Vec::new();
        let l0 = Luma::of(&moving_scene(600.0, 360.0, 0.0), &mut acc);
        let l1 = Luma::of(&moving_scene(610.0, 360.0, 0.0), &mut acc);
        let mut past = ellipse_matte(REGION, 600.0, 360.0);
        past.alpha.iter_mut().for_each(|a| *a *= 0.6);
        let now = ellipse_matte(REGION, 610.0, 360.0);
        let field = MotionField::estimate(&l0, &l1, &past);
        // The shape's middle, frame (580–620, 340–380): grid px (100–120, 130–150).
        let middle = |m: &FineMatte| {
            let v: Vec<f32> = (130..150)
                .flat_map(|j| (100..120).map(move |i| j * m.w + i))
                .map(|k| m.alpha[k])
                .collect();
            v.iter().sum::<f32>() / v.len() as f32
        };
        let mut s = Steady::default();
        let mut carried = now.clone();
        assert!(
            s.apply(&mut carried, &past, &field, (&l0, &l1), PAST_WEIGHT, |_| {
                true
            })
        );
        let mut unmoved = now.clone();
        assert!(s.apply(
            &mut unmoved,
            &past,
            &still(),
            (&l0, &l1),
            PAST_WEIGHT,
            |_| true
        ));
        let want = 1.0 - PAST_WEIGHT * 0.4;
        let (c, u) = (middle(&carried), middle(&unmoved));
        assert!(
            (c - want).abs() < 0.06 && u > 0.9,
            "mean alpha in the middle: carried {c}, unmoved {u}, want {want} carried"
        );
    }

    /// A past that `agrees` rejects, or one the motion search could not follow, is not
    /// weighed in; a weight of 0 turns the filter off.
    #[test]
    fn a_rejected_past_or_a_saturated_search_leaves_the_fresh_alpha() {
        let l = luma(|_, _| 0.1);
        let past = matte(R, 20, 10, |_, _| 0.4);
        let mut s = Steady::default();
        let saturated = MotionField {
            saturated: MAX_SATURATED + 0.01,
            ..MotionField::default()
        };
        for (field, agrees, weight) in [
            (&still(), false, PAST_WEIGHT),
            (&saturated, true, PAST_WEIGHT),
            (&still(), true, 0.0),
        ] {
            let mut fresh = matte(R, 20, 10, |_, _| 0.5);
            assert!(!s.apply(&mut fresh, &past, field, (&l, &l), weight, |_| agrees));
            assert!(fresh.alpha.iter().all(|&a| a == 0.5));
        }
        let mut fresh = matte(R, 20, 10, |_, _| 0.5);
        assert!(s.apply(&mut fresh, &past, &still(), (&l, &l), PAST_WEIGHT, |_| true));
        assert!(fresh.alpha.iter().all(|&a| a < 0.5));
    }

    /// Nobody in view on either side: nothing to steady, nothing changes.
    #[test]
    fn an_empty_alpha_is_left_alone() {
        let mut s = Steady::default();
        let l = luma(|_, _| 0.1);
        let mut fresh = matte(R, 20, 10, |x, _| x as f32 / 20.0);
        let before = fresh.alpha.clone();
        s.apply(
            &mut fresh,
            &FineMatte::default(),
            &still(),
            (&l, &l),
            PAST_WEIGHT,
            |_| true,
        );
        assert_eq!(fresh.alpha, before);
        let mut empty = FineMatte::default();
        s.apply(&mut empty, &fresh, &still(), (&l, &l), PAST_WEIGHT, |_| {
            true
        });
        assert!(empty.alpha.is_empty());
    }
}
