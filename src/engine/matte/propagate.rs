//! Carries MODNet's alpha from a keyframe to a later frame: each pixel of the alpha takes
//! the keyframe's value where the motion field (`motion`) says its content was (a backward
//! warp: no holes), optionally re-snapped to the current frame's luma edges by a guided
//! filter at MODNet's resolution; and the check that the warped alpha still agrees with the
//! current selfie mask (a keyframe is due when it does not).

use super::fuse::{FineMatte, sample};
use super::guided::FastGuided;
use super::motion::{MotionField, Tap};
use crate::engine::YuvFrame;
use crate::engine::segment::modnet::Region;

/// Bilinear sample of a `w`×`h` plane at continuous pixel coordinates (centres at +0.5);
/// 0 outside the plane.
fn sample_or_zero(plane: &[f32], w: usize, h: usize, x: f32, y: f32) -> f32 {
    if x < 0.0 || y < 0.0 || x > w as f32 || y > h as f32 {
        return 0.0;
    }
    sample(plane, w, h, x, y)
}

/// `key` warped by `field` into `out` (same size and region as `key`): out(p) = key(p − d(p)).
pub fn warp(key: &FineMatte, field: &MotionField, out: &mut FineMatte) {
    warp_onto(key, field, (key.region, key.w, key.h), out);
}

/// `key` warped by `field` (its motion since `key`) onto the grid `(region, w, h)` (another
/// keyframe's): out(p) = key(p − d(p)), 0 where that falls outside `key`'s region.
pub fn warp_onto(
    key: &FineMatte,
    field: &MotionField,
    (r, w, h): (Region, usize, usize),
    out: &mut FineMatte,
) {
    out.w = w;
    out.h = h;
    out.region = r;
    out.alpha.clear();
    out.alpha.resize(w * h, 0.0);
    if key.w == 0 || key.h == 0 || w == 0 || h == 0 {
        return;
    }
    let k = key.region;
    // Output grid px → frame px; frame px → key grid px.
    let (ox, oy) = (r.w as f32 / w as f32, r.h as f32 / h as f32);
    let (kx, ky) = (key.w as f32 / k.w as f32, key.h as f32 / k.h as f32);
    if field.bw == 0 || field.bh == 0 {
        for j in 0..h {
            let fy = r.y as f32 + (j as f32 + 0.5) * oy;
            for i in 0..w {
                let fx = r.x as f32 + (i as f32 + 0.5) * ox;
                let (mx, my) = ((fx - k.x as f32) * kx, (fy - k.y as f32) * ky);
                out.alpha[j * w + i] = sample_or_zero(&key.alpha, key.w, key.h, mx, my);
            }
        }
        return;
    }
    // Each output column's frame x and its taps into the field: the same for every row.
    let cols: Vec<(f32, Tap)> = (0..w)
        .map(|i| {
            let fx = r.x as f32 + (i as f32 + 0.5) * ox;
            (fx, field.tap_x(fx))
        })
        .collect();
    for (j, out) in out.alpha.chunks_exact_mut(w).enumerate() {
        let fy = r.y as f32 + (j as f32 + 0.5) * oy;
        let ty = field.tap_y(fy);
        for (o, &(fx, tx)) in out.iter_mut().zip(&cols) {
            let (dx, dy) = field.at_taps(tx, ty);
            let (mx, my) = ((fx - dx - k.x as f32) * kx, (fy - dy - k.y as f32) * ky);
            *o = sample_or_zero(&key.alpha, key.w, key.h, mx, my);
        }
    }
}

/// `a` ← (1 − `t`)·`a` + `t`·`b` (same grid).
pub fn blend(a: &mut FineMatte, b: &FineMatte, t: f32) {
    for (x, y) in a.alpha.iter_mut().zip(&b.alpha) {
        *x += (y - *x) * t;
    }
}

/// Re-snaps a warped alpha to `frame`'s luma edges: a guided filter (radius `r` model px,
/// regulariser `eps` in luma²) on the region's luma box-sampled to the alpha's grid, applied
/// only in the alpha's soft band (0.02–0.98): where the alpha is sure it stays as warped.
pub struct Snap {
    guide: Vec<f32>,
    guide8: Vec<u8>,
    out8: Vec<u8>,
    filter: Option<(usize, usize, FastGuided)>,
}

impl Snap {
    pub fn new() -> Self {
        Snap {
            guide: Vec::new(),
            guide8: Vec::new(),
            out8: Vec::new(),
            filter: None,
        }
    }

    pub fn apply(&mut self, fine: &mut FineMatte, frame: &YuvFrame, r: usize, eps: f32) {
        let (w, h, reg) = (fine.w, fine.h, fine.region);
        if w == 0 || h == 0 {
            return;
        }
        // The region's luma at the alpha's grid: the mean of each cell's frame pixels.
        self.guide.clear();
        self.guide8.clear();
        let fw = frame.width;
        for j in 0..h {
            let y0 = reg.y + j * reg.h / h;
            let y1 = (reg.y + (j + 1) * reg.h / h).max(y0 + 1);
            for i in 0..w {
                let x0 = reg.x + i * reg.w / w;
                let x1 = (reg.x + (i + 1) * reg.w / w).max(x0 + 1);
                let mut s = 0u32;
                for y in y0..y1 {
                    s += frame.y[y * fw + x0..y * fw + x1]
                        .iter()
                        .map(|&v| u32::from(v))
                        .sum::<u32>();
                }
                let m = s as f32 / ((y1 - y0) * (x1 - x0)) as f32;
                self.guide.push(m / 255.0);
                self.guide8.push(m.round() as u8);
            }
        }
        let f = match &mut self.filter {
            Some((fw, fh, f)) if (*fw, *fh) == (w, h) => f,
            slot => &mut slot.insert((w, h, FastGuided::new(w, h, w, h))).2,
        };
        f.fit(&self.guide, &fine.alpha, r, eps, 1.0);
        self.out8.resize(w * h, 0);
        f.apply(&self.guide8, w, &mut self.out8);
        for (a, &q) in fine.alpha.iter_mut().zip(&self.out8) {
            if *a > 0.02 && *a < 0.98 {
                *a = f32::from(q) / 255.0;
            }
        }
    }
}

impl Default for Snap {
    fn default() -> Self {
        Snap::new()
    }
}

/// IoU at 0.5 between the selfie mask (`sw`×`sh` over the whole frame) and `fine` sampled at
/// the selfie grid's pixel centres (0 outside its region), over the selfie grid; 1 when
/// both are empty.
pub fn agreement(
    selfie: &[f32],
    (sw, sh): (usize, usize),
    fine: &FineMatte,
    (width, height): (usize, usize),
) -> f32 {
    let r = fine.region;
    let (gx, gy) = (width as f32 / sw as f32, height as f32 / sh as f32);
    let (mut inter, mut union) = (0usize, 0usize);
    for y in 0..sh {
        let fy = (y as f32 + 0.5) * gy;
        for x in 0..sw {
            let fx = (x as f32 + 0.5) * gx;
            let m = if fine.w > 0 && r.w > 0 && r.h > 0 {
                let mx = (fx - r.x as f32) * fine.w as f32 / r.w as f32;
                let my = (fy - r.y as f32) * fine.h as f32 / r.h as f32;
                sample_or_zero(&fine.alpha, fine.w, fine.h, mx, my)
            } else {
                0.0
            };
            let (a, b) = (selfie[y * sw + x] >= 0.5, m >= 0.5);
            inter += usize::from(a && b);
            union += usize::from(a || b);
        }
    }
    if union == 0 {
        1.0
    } else {
        inter as f32 / union as f32
    }
}

#[cfg(test)]
mod tests {
    use super::super::motion::tests::{REGION, ellipse_matte, moving_scene};
    use super::super::motion::{Luma, MotionField};
    use super::*;

    fn mean_abs(a: &FineMatte, b: &FineMatte) -> f32 {
        a.alpha
            .iter()
            .zip(&b.alpha)
            .map(|(x, y)| (x - y).abs())
            .sum::<f32>()
            / a.alpha.len() as f32
    }

    #[test]
    fn warping_by_the_estimated_motion_follows_the_moving_shape() {
        let region = REGION;
        let (key_f, cur_f) = (
            moving_scene(600.0, 360.0, 0.0),
            moving_scene(612.0, 352.0, 0.0),
        );
        let mut acc = Vec::new();
        let key = ellipse_matte(region, 600.0, 360.0);
        let field = MotionField::estimate(
            &Luma::of(&key_f, &mut acc),
            &Luma::of(&cur_f, &mut acc),
            &key,
        );
        let truth = ellipse_matte(region, 612.0, 352.0);
        let mut warped = FineMatte::default();
        warp(&key, &field, &mut warped);
        let (moved, stayed) = (mean_abs(&warped, &truth), mean_abs(&key, &truth));
        // Reusing the keyframe's alpha is off by the motion along the whole rim; the warp
        // leaves sub-pixel error only.
        assert!(stayed > 0.02, "{stayed}");
        assert!(moved < stayed / 5.0, "warped {moved} vs reused {stayed}");
        assert!(agreement_of(&truth, &warped) > 0.98);
        let mut snapped = warped.clone();
        Snap::new().apply(&mut snapped, &cur_f, 2, 1e-3);
        assert!(
            mean_abs(&snapped, &truth) < stayed / 5.0,
            "snap {}",
            mean_abs(&snapped, &truth)
        );
    }

    /// The warp with the field's taps computed per column and per row gives the bits of
    /// the per-pixel form (`MotionField::at` at every pixel), onto its own grid and onto
    /// another crop partly outside the keyframe's.
    #[test]
    fn the_warp_with_shared_taps_equals_the_per_pixel_form() {
        let (key_f, cur_f) = (
            moving_scene(600.0, 360.0, 0.0),
            moving_scene(612.0, 352.0, 3.0),
        );
        let mut acc = Vec::new();
        let key = ellipse_matte(REGION, 600.0, 360.0);
        let field = MotionField::estimate(
            &Luma::with_fine(&key_f, &mut acc),
            &Luma::with_fine(&cur_f, &mut acc),
            &key,
        );
        assert!(field.max_shift > 5.0, "{}", field.max_shift);
        let other = Region {
            x: 300,
            y: 20,
            w: 700,
            h: 690,
        };
        for (r, w, h) in [(REGION, key.w, key.h), (other, 233, 230)] {
            let mut got = FineMatte::default();
            warp_onto(&key, &field, (r, w, h), &mut got);
            let k = key.region;
            let (ox, oy) = (r.w as f32 / w as f32, r.h as f32 / h as f32);
            let (kx, ky) = (key.w as f32 / k.w as f32, key.h as f32 / k.h as f32);
            for j in 0..h {
                let fy = r.y as f32 + (j as f32 + 0.5) * oy;
                for i in 0..w {
                    let fx = r.x as f32 + (i as f32 + 0.5) * ox;
                    let (dx, dy) = field.at(fx, fy);
                    let (mx, my) = ((fx - dx - k.x as f32) * kx, (fy - dy - k.y as f32) * ky);
                    let want = sample_or_zero(&key.alpha, key.w, key.h, mx, my);
                    assert_eq!(got.alpha[j * w + i].to_bits(), want.to_bits(), "({i}, {j})");
                }
            }
        }
    }

    /// IoU of two mattes over the same region (through `agreement`: the first as a
    /// "selfie mask" over the region's own grid).
    fn agreement_of(a: &FineMatte, b: &FineMatte) -> f32 {
        let r = a.region;
        let full = FineMatte {
            region: Region {
                x: 0,
                y: 0,
                w: r.w,
                h: r.h,
            },
            ..b.clone()
        };
        agreement(&a.alpha, (a.w, a.h), &full, (r.w, r.h))
    }

    #[test]
    fn agreement_is_the_iou_on_the_selfie_grid() {
        let region = Region {
            x: 0,
            y: 0,
            w: 40,
            h: 20,
        };
        let fine = FineMatte {
            alpha: (0..40 * 20)
                .map(|i| if i % 40 < 20 { 1.0 } else { 0.0 })
                .collect(),
            w: 40,
            h: 20,
            region,
        };
        // Selfie 20×10 over the same 40×20 frame: its left 15 columns (frame x < 30), MODNet's
        // left half (frame x < 20, 10 selfie columns): IoU 10/15.
        let sel: Vec<f32> = (0..200)
            .map(|i| if i % 20 < 15 { 1.0 } else { 0.0 })
            .collect();
        let iou = agreement(&sel, (20, 10), &fine, (40, 20));
        assert!((iou - 10.0 / 15.0).abs() < 1e-6, "{iou}");
    }
}
