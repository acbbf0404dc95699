//! Motion of the person layer from a keyframe to a later frame, on box-downsampled luma:
//! for each block of the keyframe, the shift that best matches the block's person pixels
//! (MODNet's alpha ≥ 0.5 at the keyframe; mean absolute difference, a small penalty per
//! pixel of motion, parabolic sub-pixel refinement) in the later frame. Matching the person
//! pixels only keeps a static, strongly patterned background from pinning the blocks along
//! the outline, which is where the alpha's edge lies. Blocks with too few person pixels take
//! their neighbours' motion; a 3×3 median removes outliers. The field is read back per
//! pixel by bilinear interpolation between block centres (`propagate` warps MODNet's alpha
//! with it: out(p) = key(p − d(p)), to first order in the field's variation).

use super::fuse::FineMatte;
use super::resample::{block_sums_u8, coarsen_sums, downsample_u8, means_from_sums, reduced};
use crate::engine::YuvFrame;

/// Long side of the luma grid motion is searched on (1080p → /4, 720p → /3).
pub const GRID_LONG_SIDE: usize = 480;
/// Block side, grid px (32 frame px at 1080p).
pub const BLOCK: usize = 8;
/// Search radius, grid px (±24 frame px at 1080p).
pub const RADIUS: i32 = 6;
/// Cost per grid px of motion, in mean-absolute-difference units (luma 0–1): a flat block
/// matches anywhere, and should then not move.
const MOTION_PENALTY: f32 = 0.002;
/// Smallest fraction of a block's pixels that must be person for its own match.
const MIN_PERSON: f32 = 0.2;
/// Largest share of person pixels for a block to count as on the outline
/// (`MotionField::refine_outline`).
const OUTLINE_MAX: f32 = 0.9;
/// Search radius of the outline's refinement, half-scale px around the coarse match.
const FINE_RADIUS: i32 = 2;
/// Passes of filling unmatched blocks from matched neighbours (each reaches one block
/// further from the person).
const FILL_PASSES: usize = 4;

/// A frame's luma, box-downsampled by an integer factor to about [`GRID_LONG_SIDE`].
#[derive(Debug, Clone, Default)]
pub struct Luma {
    /// Grid size, px.
    pub w: usize,
    pub h: usize,
    /// Frame px per grid px.
    pub scale: usize,
    /// `w`×`h` luma in [0,1].
    pub data: Vec<f32>,
    /// The same luma at a finer integer divisor of `scale` (half of it, or 1), for refining the motion of the
    /// blocks on the person's outline; `None` when not kept or `scale` is 1.
    pub fine: Option<Box<Luma>>,
}

impl Luma {
    /// The luma grid of `frame` (`scale` = round(long side / [`GRID_LONG_SIDE`]), ≥ 1).
    pub fn of(frame: &YuvFrame, acc: &mut Vec<u32>) -> Luma {
        let long = frame.width.max(frame.height);
        let scale = ((long as f32 / GRID_LONG_SIDE as f32).round() as usize).max(1);
        let (w, h) = (reduced(frame.width, scale), reduced(frame.height, scale));
        let mut data = vec![0.0; w * h];
        downsample_u8(&frame.y, frame.width, frame.height, scale, &mut data, acc);
        Luma {
            w,
            h,
            scale,
            data,
            fine: None,
        }
    }

    /// Bytes of the grids [`Luma::with_fine`] keeps for a `width`×`height` frame.
    pub fn bytes_with_fine(width: usize, height: usize) -> usize {
        let scale = ((width.max(height) as f32 / GRID_LONG_SIDE as f32).round() as usize).max(1);
        let grid = |s: usize| 4 * reduced(width, s) * reduced(height, s);
        let fine = match scale {
            1 => 0,
            s if s.is_multiple_of(s / 2) => grid(s / 2),
            _ => grid(1),
        };
        grid(scale) + fine
    }

    /// [`Luma::of`] with a finer grid kept too (`fine`: scale halved, or 1 when halving
    /// does not divide it), when the scale is ≥ 2. The frame is summed once, at the finer
    /// grid; the coarse grid's sums are those summed again (the same values as summing the
    /// frame directly).
    pub fn with_fine(frame: &YuvFrame, acc: &mut Vec<u32>) -> Luma {
        let (width, height) = (frame.width, frame.height);
        let scale = ((width.max(height) as f32 / GRID_LONG_SIDE as f32).round() as usize).max(1);
        if scale < 2 {
            return Luma::of(frame, acc);
        }
        let half = scale / 2;
        let s = if scale.is_multiple_of(half) { half } else { 1 };
        let (fw, fh) = (reduced(width, s), reduced(height, s));
        let (w, h) = (reduced(width, scale), reduced(height, scale));
        // acc: frame columns, then the fine grid's sums, then the coarse grid's.
        acc.resize(width + fw * fh + w * h, 0);
        let (cols, rest) = acc.split_at_mut(width);
        let (fine_sums, coarse_sums) = rest.split_at_mut(fw * fh);
        block_sums_u8(&frame.y, width, height, s, fine_sums, cols);
        coarsen_sums(fine_sums, fw, fh, scale / s, coarse_sums);
        let mut fine = vec![0.0; fw * fh];
        means_from_sums(fine_sums, width, height, s, &mut fine);
        let mut data = vec![0.0; w * h];
        means_from_sums(coarse_sums, width, height, scale, &mut data);
        Luma {
            w,
            h,
            scale,
            data,
            fine: Some(Box::new(Luma {
                w: fw,
                h: fh,
                scale: s,
                data: fine,
                fine: None,
            })),
        }
    }

    /// The form of [`Luma::with_fine`] that sums the frame once per grid, the reference its
    /// test compares it with.
    #[cfg(test)]
    fn with_fine_summed_twice(frame: &YuvFrame) -> Luma {
        let mut l = Luma::of(frame, &mut Vec::new());
        if l.scale >= 2 {
            let half = l.scale / 2;
            let s = if l.scale.is_multiple_of(half) {
                half
            } else {
                1
            };
            let (w, h) = (reduced(frame.width, s), reduced(frame.height, s));
            let mut data = vec![0.0; w * h];
            downsample_u8(
                &frame.y,
                frame.width,
                frame.height,
                s,
                &mut data,
                &mut Vec::new(),
            );
            l.fine = Some(Box::new(Luma {
                w,
                h,
                scale: s,
                data,
                fine: None,
            }));
        }
        l
    }

    /// Mean |self − other| over the whole grid (luma 0–1); 1 when the sizes differ.
    pub fn mean_abs_diff(&self, other: &Luma) -> f32 {
        if (self.w, self.h) != (other.w, other.h) || self.data.is_empty() {
            return 1.0;
        }
        let s: f32 = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a - b).abs())
            .sum();
        s / self.data.len() as f32
    }
}

/// Per-block motion of the person layer from a keyframe to a later frame, in grid px.
#[derive(Debug, Clone, Default)]
pub struct MotionField {
    /// Blocks across and down (they tile the grid; the last ones may be partial).
    pub bw: usize,
    pub bh: usize,
    /// Frame px per grid px.
    pub scale: usize,
    /// Per block: where its person content went in the later frame, relative to where it
    /// was in the keyframe (grid px). Filled from neighbours for blocks with few person
    /// pixels; zero far from the person.
    pub dx: Vec<f32>,
    pub dy: Vec<f32>,
    /// Mean absolute luma residual of the best match over the matched person pixels (0–1).
    pub residual: f32,
    /// Fraction of the matched blocks whose best shift lies on the search window's rim
    /// (the motion may be larger than the search reaches).
    pub saturated: f32,
    /// Largest |shift| over the blocks, frame px.
    pub max_shift: f32,
}

/// Most shifts [`sad_shifts`] costs at once (2·[`RADIUS`] + 1).
const LANES: usize = 2 * RADIUS as usize + 1;

/// For `n` horizontal shifts at once (`n` ≤ [`LANES`]), the sum of `m`·|a − b| over a
/// `bw`×`bh` block at `a0` in `a` (and `m`) and, for shift `l`, at `b0 + l` in `b` (row
/// stride `w`), into `out[l]`. Per shift the terms are added in the order a per-shift loop
/// would (row by row, left to right), and the pixels outside the mask (`m` = 0, a term of
/// +0) are skipped, so the sums are the same bits; only the mask's pixels are read, and
/// the shifts' terms are computed side by side (vectorised).
#[inline]
#[allow(clippy::too_many_arguments)]
fn sad_shifts(
    a: &[f32],
    m: &[f32],
    b: &[f32],
    w: usize,
    a0: usize,
    b0: usize,
    (bw, bh): (usize, usize),
    n: usize,
    out: &mut [f32; LANES],
) {
    *out = [0.0; LANES];
    for r in 0..bh {
        let ra = &a[a0 + r * w..a0 + r * w + bw];
        let rm = &m[a0 + r * w..a0 + r * w + bw];
        let rb = &b[b0 + r * w..b0 + r * w + bw + n - 1];
        let mut acc = [0.0f32; LANES];
        for (j, (&x, &k)) in ra.iter().zip(rm).enumerate() {
            if k == 0.0 {
                continue;
            }
            for (o, &y) in acc[..n].iter_mut().zip(&rb[j..j + n]) {
                *o += k * (x - y).abs();
            }
        }
        for (o, v) in out[..n].iter_mut().zip(&acc[..n]) {
            *o += v;
        }
    }
}

/// The per-shift form of [`sad_shifts`] (one shift at a time, every pixel), the reference
/// its test compares it with.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
fn sad(
    a: &[f32],
    m: &[f32],
    b: &[f32],
    w: usize,
    a0: usize,
    b0: usize,
    bw: usize,
    bh: usize,
) -> f32 {
    let mut s = 0.0;
    for r in 0..bh {
        let ra = &a[a0 + r * w..a0 + r * w + bw];
        let rm = &m[a0 + r * w..a0 + r * w + bw];
        let rb = &b[b0 + r * w..b0 + r * w + bw];
        s += ra
            .iter()
            .zip(rm)
            .zip(rb)
            .map(|((x, k), y)| k * (x - y).abs())
            .sum::<f32>();
    }
    s
}

/// Sub-pixel offset (x, y) of the best shift `(dx, dy)` (cost `c`) in a search's cost grid
/// (`cost`: (2·radius + 1)², row-major by dy then dx): a parabola through each axis's
/// neighbours, 0 on an axis whose neighbour lies outside the grid or was not costed.
fn subpixel(cost: &[f32], radius: i32, (dx, dy): (i32, i32), c: f32) -> (f32, f32) {
    let n = (2 * radius + 1) as usize;
    let at = |dx: i32, dy: i32| {
        if dx.abs() > radius || dy.abs() > radius {
            return f32::INFINITY;
        }
        cost[((dy + radius) as usize) * n + (dx + radius) as usize]
    };
    let (l, r) = (at(dx - 1, dy), at(dx + 1, dy));
    let (u, d) = (at(dx, dy - 1), at(dx, dy + 1));
    let sx = if l.is_finite() && r.is_finite() {
        parabola(l, c, r)
    } else {
        0.0
    };
    let sy = if u.is_finite() && d.is_finite() {
        parabola(u, c, d)
    } else {
        0.0
    };
    (sx, sy)
}

/// Vertex offset of the parabola through (−1, l), (0, c), (1, r), in [−0.5, 0.5].
fn parabola(l: f32, c: f32, r: f32) -> f32 {
    let d = l - 2.0 * c + r;
    if d > 1e-9 {
        ((l - r) / (2.0 * d)).clamp(-0.5, 0.5)
    } else {
        0.0
    }
}

/// Median of nine values.
fn median9(mut v: [f32; 9]) -> f32 {
    v.sort_unstable_by(f32::total_cmp);
    v[4]
}

/// The person mask on the luma grid: 1 where `layer`'s alpha (sampled at the grid pixel's
/// centre) is ≥ 0.5, else 0.
fn person_mask(layer: &FineMatte, w: usize, h: usize, s: usize) -> Vec<f32> {
    let mut m = vec![0.0; w * h];
    let r = layer.region;
    if layer.w == 0 || layer.h == 0 || r.w == 0 || r.h == 0 {
        return m;
    }
    let (kx, ky) = (layer.w as f32 / r.w as f32, layer.h as f32 / r.h as f32);
    let (gy0, gy1) = (r.y / s, (r.y + r.h).div_ceil(s).min(h));
    let (gx0, gx1) = (r.x / s, (r.x + r.w).div_ceil(s).min(w));
    // The layer's column under each grid column of the crop (the same for every row).
    let cols: Vec<(usize, usize)> = (gx0..gx1)
        .filter_map(|gx| {
            let fx = (gx as f32 + 0.5) * s as f32 - r.x as f32;
            (fx >= 0.0 && fx < r.w as f32).then(|| (gx, ((fx * kx) as usize).min(layer.w - 1)))
        })
        .collect();
    for gy in gy0..gy1 {
        let fy = (gy as f32 + 0.5) * s as f32 - r.y as f32;
        if fy < 0.0 || fy >= r.h as f32 {
            continue;
        }
        let my = ((fy * ky) as usize).min(layer.h - 1);
        let (row, out) = (&layer.alpha[my * layer.w..], &mut m[gy * w..(gy + 1) * w]);
        for &(gx, mx) in &cols {
            if row[mx] >= 0.5 {
                out[gx] = 1.0;
            }
        }
    }
    m
}

impl MotionField {
    /// Motion of `layer`'s person pixels (MODNet's alpha at the keyframe) from `key` to
    /// `cur` (same grid size).
    pub fn estimate(key: &Luma, cur: &Luma, layer: &FineMatte) -> MotionField {
        assert_eq!((cur.w, cur.h), (key.w, key.h), "luma grids differ");
        let (w, h, s) = (cur.w, cur.h, cur.scale);
        let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
        let mut f = MotionField {
            bw,
            bh,
            scale: s,
            dx: vec![0.0; bw * bh],
            dy: vec![0.0; bw * bh],
            ..MotionField::default()
        };
        let mask = person_mask(layer, w, h, s);
        let mut matched = vec![false; bw * bh];
        let mut share = vec![0.0f32; bw * bh];
        let (mut resid, mut area, mut sat, mut count) = (0.0f32, 0.0f32, 0usize, 0usize);
        let n = (2 * RADIUS + 1) as usize;
        let mut cost = vec![f32::INFINITY; n * n];
        let mut sums = [0.0; LANES];
        for by in 0..bh {
            for bx in 0..bw {
                let (x0, y0) = (bx * BLOCK, by * BLOCK);
                let (cw, ch) = (BLOCK.min(w - x0), BLOCK.min(h - y0));
                let people: f32 = (0..ch)
                    .map(|r| {
                        mask[(y0 + r) * w + x0..(y0 + r) * w + x0 + cw]
                            .iter()
                            .sum::<f32>()
                    })
                    .sum();
                share[by * bw + bx] = people / (cw * ch) as f32;
                if people < MIN_PERSON * (cw * ch) as f32 {
                    continue;
                }
                cost.fill(f32::INFINITY);
                let mut best = (f32::INFINITY, 0i32, 0i32);
                // The shifts that keep the block inside the grid: a contiguous range.
                let lo = (-RADIUS).max(-(x0 as i32));
                let hi = RADIUS.min(w as i32 - (x0 + cw) as i32);
                for dy in -RADIUS..=RADIUS {
                    let ky = y0 as i32 + dy;
                    if ky < 0 || ky as usize + ch > h || lo > hi {
                        continue;
                    }
                    sad_shifts(
                        &key.data,
                        &mask,
                        &cur.data,
                        w,
                        y0 * w + x0,
                        ky as usize * w + (x0 as i32 + lo) as usize,
                        (cw, ch),
                        (hi - lo + 1) as usize,
                        &mut sums,
                    );
                    for dx in lo..=hi {
                        let c = sums[(dx - lo) as usize] / people
                            + MOTION_PENALTY * (dx.abs() + dy.abs()) as f32;
                        cost[((dy + RADIUS) as usize) * n + (dx + RADIUS) as usize] = c;
                        if c < best.0 {
                            best = (c, dx, dy);
                        }
                    }
                }
                let (c, dx, dy) = best;
                let i = by * bw + bx;
                let (sx, sy) = subpixel(&cost, RADIUS, (dx, dy), c);
                f.dx[i] = dx as f32 + sx;
                f.dy[i] = dy as f32 + sy;
                matched[i] = true;
                resid += (c - MOTION_PENALTY * (dx.abs() + dy.abs()) as f32) * people;
                area += people;
                count += 1;
                if dx.abs() == RADIUS || dy.abs() == RADIUS {
                    sat += 1;
                }
            }
        }
        f.residual = if area > 0.0 { resid / area } else { 0.0 };
        f.saturated = if count > 0 {
            sat as f32 / count as f32
        } else {
            0.0
        };
        f.refine_outline(key, cur, layer, &share);
        f.median(&matched);
        f.fill(matched);
        f.max_shift =
            f.dx.iter()
                .zip(&f.dy)
                .map(|(x, y)| x.abs().max(y.abs()))
                .fold(0.0, f32::max)
                * s as f32;
        f
    }

    /// The blocks on the person's outline (a share of person pixels from [`MIN_PERSON`] to
    /// [`OUTLINE_MAX`]) searched again on the finer grids (`Luma::fine`), ±[`FINE_RADIUS`]
    /// fine px around their coarse match, with sub-pixel refinement: the alpha's edge lies
    /// there, and one coarse px is 2–4 frame px. The triggers' residual and saturation stay
    /// the coarse search's.
    fn refine_outline(&mut self, key: &Luma, cur: &Luma, layer: &FineMatte, share: &[f32]) {
        let (Some(kf), Some(cf)) = (key.fine.as_deref(), cur.fine.as_deref()) else {
            return;
        };
        if kf.scale == 0 || !key.scale.is_multiple_of(kf.scale) || (kf.w, kf.h) != (cf.w, cf.h) {
            return;
        }
        // Fine px per coarse px.
        let q = key.scale / kf.scale;
        let qf = q as f32;
        let (w, h) = (kf.w, kf.h);
        let mask = person_mask(layer, w, h, kf.scale);
        let b = q * BLOCK;
        let n = (2 * FINE_RADIUS + 1) as usize;
        let mut cost = vec![f32::INFINITY; n * n];
        let mut sums = [0.0; LANES];
        for by in 0..self.bh {
            for bx in 0..self.bw {
                let i = by * self.bw + bx;
                if share[i] < MIN_PERSON || share[i] > OUTLINE_MAX {
                    continue;
                }
                let (x0, y0) = (bx * b, by * b);
                if x0 >= w || y0 >= h {
                    continue;
                }
                let (cw, ch) = (b.min(w - x0), b.min(h - y0));
                let people: f32 = (0..ch)
                    .map(|r| {
                        mask[(y0 + r) * w + x0..(y0 + r) * w + x0 + cw]
                            .iter()
                            .sum::<f32>()
                    })
                    .sum();
                if people < 1.0 {
                    continue;
                }
                let (cx, cy) = (
                    (self.dx[i] * qf).round() as i32,
                    (self.dy[i] * qf).round() as i32,
                );
                cost.fill(f32::INFINITY);
                let mut best = (f32::INFINITY, 0i32, 0i32);
                let lo = (-FINE_RADIUS).max(-(x0 as i32 + cx));
                let hi = FINE_RADIUS.min(w as i32 - (x0 + cw) as i32 - cx);
                for ey in -FINE_RADIUS..=FINE_RADIUS {
                    let ky = y0 as i32 + cy + ey;
                    if ky < 0 || ky as usize + ch > h || lo > hi {
                        continue;
                    }
                    sad_shifts(
                        &kf.data,
                        &mask,
                        &cf.data,
                        w,
                        y0 * w + x0,
                        ky as usize * w + (x0 as i32 + cx + lo) as usize,
                        (cw, ch),
                        (hi - lo + 1) as usize,
                        &mut sums,
                    );
                    for ex in lo..=hi {
                        let shift = ((cx + ex).abs() + (cy + ey).abs()) as f32;
                        let c = sums[(ex - lo) as usize] / people + MOTION_PENALTY * shift / qf;
                        cost[((ey + FINE_RADIUS) as usize) * n + (ex + FINE_RADIUS) as usize] = c;
                        if c < best.0 {
                            best = (c, ex, ey);
                        }
                    }
                }
                let (c, ex, ey) = best;
                if !c.is_finite() {
                    continue;
                }
                let (sx, sy) = subpixel(&cost, FINE_RADIUS, (ex, ey), c);
                self.dx[i] = ((cx + ex) as f32 + sx) / qf;
                self.dy[i] = ((cy + ey) as f32 + sy) / qf;
            }
        }
    }

    /// Blocks without a match of their own take the mean of their matched (or already
    /// filled) 8-neighbours, ring by ring, [`FILL_PASSES`] rings out: the person's outline
    /// and the band around it move with the person.
    fn fill(&mut self, mut known: Vec<bool>) {
        let (bw, bh) = (self.bw, self.bh);
        for _ in 0..FILL_PASSES {
            let before = known.clone();
            for by in 0..bh {
                for bx in 0..bw {
                    let i = by * bw + bx;
                    if before[i] {
                        continue;
                    }
                    let (mut sx, mut sy, mut k) = (0.0, 0.0, 0);
                    for ny in by.saturating_sub(1)..(by + 2).min(bh) {
                        for nx in bx.saturating_sub(1)..(bx + 2).min(bw) {
                            let j = ny * bw + nx;
                            if before[j] {
                                sx += self.dx[j];
                                sy += self.dy[j];
                                k += 1;
                            }
                        }
                    }
                    if k > 0 {
                        self.dx[i] = sx / k as f32;
                        self.dy[i] = sy / k as f32;
                        known[i] = true;
                    }
                }
            }
        }
    }

    /// 3×3 median of each component over the matched blocks (a lone wrong match in a
    /// textureless or occluded block takes its neighbours' motion).
    fn median(&mut self, searched: &[bool]) {
        let (bw, bh) = (self.bw, self.bh);
        for comp in 0..2 {
            let src = if comp == 0 {
                self.dx.clone()
            } else {
                self.dy.clone()
            };
            let dst = if comp == 0 {
                &mut self.dx
            } else {
                &mut self.dy
            };
            for by in 0..bh {
                for bx in 0..bw {
                    let i = by * bw + bx;
                    if !searched[i] {
                        continue;
                    }
                    let mut v = [0.0f32; 9];
                    let mut k = 0;
                    for ny in by.saturating_sub(1)..(by + 2).min(bh) {
                        for nx in bx.saturating_sub(1)..(bx + 2).min(bw) {
                            if searched[ny * bw + nx] {
                                v[k] = src[ny * bw + nx];
                                k += 1;
                            }
                        }
                    }
                    // Fewer than nine neighbours (border): pad with the block's own value.
                    for slot in v.iter_mut().skip(k) {
                        *slot = src[i];
                    }
                    dst[i] = median9(v);
                }
            }
        }
    }

    /// The motion at frame pixel (`x`, `y`) (continuous, pixel centres at +0.5), frame px:
    /// bilinear between block centres (where the content near there went since the
    /// keyframe). The warp reads it through [`MotionField::at_taps`].
    #[cfg(test)]
    pub fn at(&self, x: f32, y: f32) -> (f32, f32) {
        if self.bw == 0 || self.bh == 0 {
            return (0.0, 0.0);
        }
        self.at_taps(self.tap_x(x), self.tap_y(y))
    }

    /// The motion between the blocks' taps `tx` ([`MotionField::tap_x`]) and `ty`
    /// (`tap_y`): [`MotionField::at`] with the per-column and per-row part computed once.
    /// Needs a non-empty field.
    #[inline]
    pub fn at_taps(&self, tx: Tap, ty: Tap) -> (f32, f32) {
        let s = self.scale as f32;
        (
            self.lerp(&self.dx, tx, ty) * s,
            self.lerp(&self.dy, tx, ty) * s,
        )
    }

    /// The blocks left and right of frame column `x` and the weight of the right one.
    pub fn tap_x(&self, x: f32) -> Tap {
        self.tap(x, self.bw)
    }

    /// The blocks above and below frame row `y` and the weight of the lower one.
    pub fn tap_y(&self, y: f32) -> Tap {
        self.tap(y, self.bh)
    }

    fn tap(&self, p: f32, n: usize) -> Tap {
        let s = (self.scale * BLOCK) as f32;
        let g = (p / s - 0.5).clamp(0.0, n.saturating_sub(1) as f32);
        let i0 = g as usize;
        Tap {
            i0,
            i1: (i0 + 1).min(n.saturating_sub(1)),
            f: g - i0 as f32,
        }
    }

    /// A per-block value `v` bilinear between block centres.
    #[inline]
    fn lerp(&self, v: &[f32], tx: Tap, ty: Tap) -> f32 {
        let (r0, r1) = (&v[ty.i0 * self.bw..], &v[ty.i1 * self.bw..]);
        let t = r0[tx.i0] + (r0[tx.i1] - r0[tx.i0]) * tx.f;
        let b = r1[tx.i0] + (r1[tx.i1] - r1[tx.i0]) * tx.f;
        t + (b - t) * ty.f
    }
}

/// Two neighbouring blocks along one axis and the weight of the second (0–1).
#[derive(Debug, Clone, Copy)]
pub struct Tap {
    pub i0: usize,
    pub i1: usize,
    pub f: f32,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::segment::modnet::Region;

    /// A 1280×720 frame: a textured background and, at (`cx`, `cy`), a textured ellipse
    /// ("a person", 300×440 px). Texture from a hash of the position relative to the
    /// shape's centre (the shape's) or to the frame (the background's), so each moves with
    /// its owner.
    pub(crate) fn moving_scene(cx: f32, cy: f32, bg_dx: f32) -> YuvFrame {
        let (w, h) = (1280, 720);
        let mut f = YuvFrame::new(w, h);
        let tex = |x: f32, y: f32, k: u32| {
            let (xi, yi) = ((x / 6.0).floor() as i64, (y / 6.0).floor() as i64);
            let mut v = (xi.wrapping_mul(73_856_093) ^ yi.wrapping_mul(19_349_663)) as u32;
            v ^= k.wrapping_mul(83_492_791);
            v = v.wrapping_mul(2_654_435_761);
            (v >> 27) as f32
        };
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let (ex, ey) = ((fx - cx) / 150.0, (fy - cy) / 220.0);
                f.y[y * w + x] = if ex * ex + ey * ey < 1.0 {
                    (170.0 + 2.0 * tex(fx - cx + 1000.0, fy - cy + 1000.0, 1)) as u8
                } else {
                    (40.0 + 2.0 * tex(fx - bg_dx, fy, 2)) as u8
                };
            }
        }
        f
    }

    /// The selfie model's view of `moving_scene`'s ellipse: 256×144 probabilities over the
    /// 1280×720 frame (1 inside, 0 outside, one soft model pixel).
    pub(crate) fn ellipse_selfie(cx: f32, cy: f32) -> Vec<f32> {
        let (sw, sh) = (256, 144);
        (0..sw * sh)
            .map(|i| {
                let (x, y) = (((i % sw) as f32 + 0.5) * 5.0, ((i / sw) as f32 + 0.5) * 5.0);
                let (ex, ey) = ((x - cx) / 150.0, (y - cy) / 220.0);
                let d = ((ex * ex + ey * ey).sqrt() - 1.0) * 180.0;
                (0.5 - d / 5.0).clamp(0.0, 1.0)
            })
            .collect()
    }

    /// The ellipse of `moving_scene` at (`cx`, `cy`) as MODNet's alpha over `region`, at
    /// half the region's resolution, with a 2-px soft rim.
    pub(crate) fn ellipse_matte(region: Region, cx: f32, cy: f32) -> FineMatte {
        let (w, h) = (region.w / 2, region.h / 2);
        let mut alpha = vec![0.0; w * h];
        for j in 0..h {
            for i in 0..w {
                let x = region.x as f32 + (i as f32 + 0.5) * 2.0;
                let y = region.y as f32 + (j as f32 + 0.5) * 2.0;
                let (ex, ey) = ((x - cx) / 150.0, (y - cy) / 220.0);
                let d = ((ex * ex + ey * ey).sqrt() - 1.0) * 180.0;
                alpha[j * w + i] = (0.5 - d / 4.0).clamp(0.0, 1.0);
            }
        }
        FineMatte {
            alpha,
            w,
            h,
            region,
        }
    }

    pub(crate) const REGION: Region = Region {
        x: 380,
        y: 80,
        w: 440,
        h: 560,
    };

    #[test]
    fn a_known_translation_is_recovered_on_the_moving_shape() {
        let mut acc = Vec::new();
        let key = Luma::of(&moving_scene(600.0, 360.0, 0.0), &mut acc);
        // The shape moved 10 px right and 5 down since the keyframe over a still, textured
        // background.
        let cur = Luma::of(&moving_scene(610.0, 365.0, 0.0), &mut acc);
        assert_eq!(key.scale, 3);
        let f = MotionField::estimate(&key, &cur, &ellipse_matte(REGION, 600.0, 360.0));
        // Inside the shape the motion is the shape's within half a grid px (1.5 frame px);
        // on its outline (blocks mostly background, few person pixels to match) and just
        // outside it, within one grid px (measured: (11.7, 4.8) on the left rim, (7.9, 4.4)
        // on the right), where the still background's 0 is what a block match of whole
        // blocks is drawn to.
        for (x, y, tol) in [
            (600.0, 360.0, 1.5),
            (560.0, 300.0, 1.5),
            (650.0, 450.0, 1.5),
            (450.0, 360.0, 3.0),
            (600.0, 140.0, 3.0),
            (760.0, 360.0, 3.0),
            (600.0, 590.0, 3.0),
        ] {
            let (dx, dy) = f.at(x, y);
            assert!(
                (dx - 10.0).abs() <= tol && (dy - 5.0).abs() <= tol,
                "at ({x}, {y}): ({dx}, {dy})"
            );
        }
        assert!(f.residual < 0.03, "residual {}", f.residual);
        assert!(f.saturated < 0.05);
    }

    /// On the outline, the search again on the frame's own pixels (720p: scale 3 → 1)
    /// brings the motion within 1 frame px where the coarse grid alone was off by up to
    /// one grid px (3 frame px).
    /// Summing the frame once (at the finer grid) gives both grids bit for bit as summing
    /// it once per grid: 1080p (/4 and /2), the dev clip's 1080×720 (/2 and /1), odd sizes.
    /// The shifts' sums taken side by side equal one shift at a time, bit for bit: every
    /// block position of a noisy grid with a noisy 0/1 mask, every run of shifts.
    #[test]
    fn the_shifts_summed_side_by_side_equal_one_at_a_time() {
        let (w, h) = (61, 29);
        let mut v = 12345u32;
        let mut next = || {
            v ^= v << 13;
            v ^= v >> 17;
            v ^= v << 5;
            v
        };
        let a: Vec<f32> = (0..w * h)
            .map(|_| (next() >> 8) as f32 / 16_777_216.0)
            .collect();
        let b: Vec<f32> = (0..w * h)
            .map(|_| (next() >> 8) as f32 / 16_777_216.0)
            .collect();
        let m: Vec<f32> = (0..w * h).map(|_| (next() % 3 != 0) as u8 as f32).collect();
        let mut out = [0.0; LANES];
        let mut checked = 0;
        for (bw, bh) in [(8, 8), (5, 3), (16, 16)] {
            for y in 0..=h - bh {
                for x in 0..w - bw {
                    let n = LANES.min(w - bw - x + 1);
                    let by = (y + 3) % (h - bh + 1);
                    sad_shifts(&a, &m, &b, w, y * w + x, by * w + x, (bw, bh), n, &mut out);
                    for (l, got) in out[..n].iter().enumerate() {
                        let want = sad(&a, &m, &b, w, y * w + x, by * w + x + l, bw, bh);
                        assert_eq!(got.to_bits(), want.to_bits(), "({x}, {y}) {bw}x{bh} +{l}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn both_luma_grids_from_one_pass_equal_one_pass_each() {
        for (w, h) in [
            (1920, 1080),
            (1080, 720),
            (1282, 722),
            (2560, 1440),
            (3840, 2160),
        ] {
            let mut frame = YuvFrame::new(w, h);
            for (i, v) in frame.y.iter_mut().enumerate() {
                *v = ((i * 7919 + i / w * 31) % 253) as u8;
            }
            let got = Luma::with_fine(&frame, &mut Vec::new());
            let want = Luma::with_fine_summed_twice(&frame);
            let bits = |l: &Luma| l.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!((got.w, got.h, got.scale), (want.w, want.h, want.scale));
            assert!(bits(&got) == bits(&want), "{w}x{h}: coarse grid");
            let (gf, wf) = (got.fine.unwrap(), want.fine.unwrap());
            assert_eq!((gf.w, gf.h, gf.scale), (wf.w, wf.h, wf.scale));
            assert!(bits(&gf) == bits(&wf), "{w}x{h}: fine grid");
        }
    }

    #[test]
    fn the_outline_is_refined_on_the_finer_grid() {
        let mut acc = Vec::new();
        let (kf, cf) = (
            moving_scene(600.0, 360.0, 0.0),
            moving_scene(610.0, 365.0, 0.0),
        );
        let layer = ellipse_matte(REGION, 600.0, 360.0);
        let coarse =
            MotionField::estimate(&Luma::of(&kf, &mut acc), &Luma::of(&cf, &mut acc), &layer);
        let key = Luma::with_fine(&kf, &mut acc);
        assert_eq!(key.fine.as_ref().map(|f| f.scale), Some(1));
        let fine = MotionField::estimate(&key, &Luma::with_fine(&cf, &mut acc), &layer);
        let rim = [
            (450.0, 360.0),
            (600.0, 140.0),
            (760.0, 360.0),
            (600.0, 590.0),
        ];
        let err = |f: &MotionField| {
            rim.iter()
                .map(|&(x, y)| {
                    let (dx, dy) = f.at(x, y);
                    (dx - 10.0).abs().max((dy - 5.0).abs())
                })
                .fold(0.0f32, f32::max)
        };
        let (e_fine, e_coarse) = (err(&fine), err(&coarse));
        assert!(
            e_fine <= 1.0,
            "refined: {e_fine} px off on the rim (coarse {e_coarse})"
        );
        assert!(e_fine < e_coarse, "refined {e_fine} vs coarse {e_coarse}");
        // The triggers read the coarse search.
        assert_eq!(fine.residual, coarse.residual);
    }

    #[test]
    fn a_different_picture_leaves_a_large_residual() {
        let mut acc = Vec::new();
        let key = Luma::of(&moving_scene(600.0, 360.0, 0.0), &mut acc);
        let mut other = moving_scene(600.0, 360.0, 0.0);
        for (i, v) in other.y.iter_mut().enumerate() {
            *v = 255 - *v / 2 - (i % 7) as u8 * 9;
        }
        let cur = Luma::of(&other, &mut acc);
        let f = MotionField::estimate(&key, &cur, &ellipse_matte(REGION, 600.0, 360.0));
        assert!(f.residual > 0.1, "residual {}", f.residual);
        assert!(cur.mean_abs_diff(&key) > 0.2);
    }
}
