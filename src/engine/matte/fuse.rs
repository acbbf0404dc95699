//! The `quality` matte: the selfie model's coarse mask (robust: it rarely drops a part of a
//! person) fused with MODNet's alpha (sharp: hair and hands, no band of old background).
//! Per pixel, `α = max(min(M, halo), fill, sure)`:
//! - `M`, MODNet's alpha on a crop around the people, upsampled bilinearly;
//! - `fill`, the selfie mask eroded by a few model pixels (its core), kept only over the
//!   large connected areas where MODNet says background: where the selfie model is sure of
//!   a person well inside its outline, MODNet cannot drop it (a dress on a patterned
//!   wallpaper), while small disagreements (the selfie's band of old background at the
//!   edges, wallpaper between two people) are left to MODNet's edges;
//! - `halo`, the selfie mask dilated: MODNet may add what the selfie model missed near a
//!   person (a head between two people), but nothing far from one (a face in a poster);
//!   MODNet's connected areas that overlap the selfie mask pass whole (a suit the selfie
//!   model half missed in low light), and the others are dropped (stray blobs);
//! - `sure`, the selfie mask where it is sure of a person (p ≥ 0.9 six model px deep), per
//!   pixel: MODNet's dropouts there are filled even when they are small, partly
//!   transparent, or run into the frame's border or the person's outline.
//!
//! The crop (`person_region`) and MODNet's input size (`model_size`) follow the people's
//! size, so a small person costs little. Between MODNet frames the last MODNet alpha is
//! reused, bounded by the current frame's halo and core.

use super::blobs::BlobFilter;
#[cfg(test)]
use super::resample::bilinear_f32;
use super::resample::{AxisMap, to_u8};
use crate::engine::segment::modnet::{MODNET_ALIGN, Region};

/// MODNet's output for one frame, with where it sits in the frame.
#[derive(Debug, Clone, Default)]
pub struct FineMatte {
    /// `w`×`h` alpha in [0,1].
    pub alpha: Vec<f32>,
    pub w: usize,
    pub h: usize,
    /// The frame rectangle the alpha covers (stretched to it).
    pub region: Region,
}

/// Tunables of the fusion, in selfie-model pixels (the mask is 256 wide for landscape).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FuseParams {
    /// Erosion of the selfie mask that MODNet may not remove (model px).
    pub core_erode: usize,
    /// Dilation of the selfie mask within which MODNet may add (model px).
    pub halo_dilate: usize,
    /// MODNet person blobs smaller than this fraction of the crop are dropped (0: none).
    pub min_blob: f32,
    /// Smallest area (fraction of the frame) where the selfie core overrides MODNet.
    pub fill_area: f32,
    /// Selfie probability (0–1) from which the selfie model counts as sure of a person,
    /// `sure_erode` model px deep: its sure core (ramped in over ±[`SURE_RAMP`]).
    pub sure: f32,
    /// Erosion of the selfie mask before `sure` is applied (model px): how far inside the
    /// selfie outline a sure pixel must lie.
    pub sure_erode: usize,
    /// Raise the alpha to the sure core whatever MODNet says there.
    pub lift: bool,
    /// MODNet alpha (0–1) from which MODNet's connected areas (8-connected, at the selfie
    /// grid) that overlap the selfie mask (p ≥ 0.5) are kept whole, beyond the halo: the
    /// person MODNet sees, where the selfie model missed part of it (0: off).
    pub keep_level: f32,
    /// With `keep_level`: MODNet's areas that do not overlap the selfie mask are dropped,
    /// not just bounded by the halo (stray blobs near the person).
    pub keep_only: bool,
}

/// Half-width of the ramp around `FuseParams::sure` (selfie probability): a hard threshold
/// would turn the selfie model's noise into specks of lifted alpha.
pub const SURE_RAMP: f32 = 0.05;

/// Growth of the kept MODNet areas (model px), so their soft rim below `keep_level` stays.
const KEEP_RIM: usize = 2;

impl Default for FuseParams {
    fn default() -> Self {
        FuseParams {
            core_erode: 4,
            halo_dilate: 10,
            min_blob: 0.0,
            fill_area: 0.003,
            // Measured on the dev set and the low-light clip (docs/notes/issue-13-lowlight.md):
            // erosion 6 costs less edge error than 4 (0.0694 vs 0.0699) and fills the same.
            sure: 0.9,
            sure_erode: 6,
            lift: true,
            keep_level: 0.25,
            keep_only: true,
        }
    }
}

/// Separable square min (erode) or max (dilate) filter of radius `r` on a `w`×`h` plane
/// (the window clamped at the borders). Each pass folds whole shifted rows (`r` shifts each
/// way), which vectorises; min and max do not depend on the order they are taken in.
fn morph(
    src: &[f32],
    w: usize,
    h: usize,
    r: usize,
    dilate: bool,
    tmp: &mut Vec<f32>,
    dst: &mut Vec<f32>,
) {
    // Not `f32::max`: its NaN rule keeps it from compiling to one vector instruction
    // (the planes hold no NaN).
    let pick = |a: f32, b: f32| {
        if dilate {
            if b > a { b } else { a }
        } else if b < a {
            b
        } else {
            a
        }
    };
    tmp.clear();
    tmp.extend_from_slice(&src[..w * h]);
    dst.clear();
    dst.resize(w * h, 0.0);
    for (row, out) in src.chunks_exact(w).zip(tmp.chunks_exact_mut(w)).take(h) {
        for k in 1..=r.min(w.saturating_sub(1)) {
            for (o, &v) in out[..w - k].iter_mut().zip(&row[k..]) {
                *o = pick(*o, v);
            }
            for (o, &v) in out[k..].iter_mut().zip(&row[..w - k]) {
                *o = pick(*o, v);
            }
        }
    }
    for y in 0..h {
        let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
        let out = &mut dst[y * w..(y + 1) * w];
        out.copy_from_slice(&tmp[a * w..(a + 1) * w]);
        for yy in a + 1..=b {
            for (o, &v) in out.iter_mut().zip(&tmp[yy * w..(yy + 1) * w]) {
                *o = pick(*o, v);
            }
        }
    }
}

/// The per-pixel form of [`morph`], the reference its tests compare it with.
#[cfg(test)]
fn morph_reference(src: &[f32], w: usize, h: usize, r: usize, dilate: bool) -> Vec<f32> {
    let pick = |a: f32, b: f32| if dilate { a.max(b) } else { a.min(b) };
    let mut tmp = vec![0.0; w * h];
    let mut dst = vec![0.0; w * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for x in 0..w {
            let (a, b) = (x.saturating_sub(r), (x + r).min(w - 1));
            tmp[y * w + x] = row[a..=b].iter().copied().fold(row[x], pick);
        }
    }
    for y in 0..h {
        let (a, b) = (y.saturating_sub(r), (y + r).min(h - 1));
        for x in 0..w {
            let mut v = tmp[y * w + x];
            for yy in a..=b {
                v = pick(v, tmp[yy * w + x]);
            }
            dst[y * w + x] = v;
        }
    }
    dst
}

/// The frame rectangle MODNet should see: the box of the selfie mask's person pixels
/// (p ≥ 0.25) grown by `margin` (a fraction of the box's larger side, plus the halo), even
/// coordinates, inside the frame. `None` when no person is in view.
pub fn person_region(
    sel: &[f32],
    sw: usize,
    sh: usize,
    width: usize,
    height: usize,
    margin: f32,
) -> Option<Region> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..sh {
        for (x, &p) in sel[y * sw..(y + 1) * sw].iter().enumerate() {
            if p >= 0.25 {
                x0 = x0.min(x);
                x1 = x1.max(x + 1);
                y0 = y0.min(y);
                y1 = y1.max(y + 1);
            }
        }
    }
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    let (fx, fy) = (width as f32 / sw as f32, height as f32 / sh as f32);
    let (bx0, by0, bx1, by1) = (
        x0 as f32 * fx,
        y0 as f32 * fy,
        x1 as f32 * fx,
        y1 as f32 * fy,
    );
    let grow = margin * (bx1 - bx0).max(by1 - by0);
    let even = |v: f32, hi: usize| ((v.max(0.0) as usize) & !1).min(hi & !1);
    let rx0 = even(bx0 - grow, width);
    let ry0 = even(by0 - grow, height);
    let rx1 = even(bx1 + grow + 1.0, width);
    let ry1 = even(by1 + grow + 1.0, height);
    (rx1 > rx0 + 1 && ry1 > ry0 + 1).then(|| Region {
        x: rx0,
        y: ry0,
        w: rx1 - rx0,
        h: ry1 - ry0,
    })
}

/// MODNet input size for a crop: the crop scaled so its longer side is at most `long_max`
/// (never enlarged), each side rounded to a multiple of 32 (at least 64).
pub fn model_size(region: Region, long_max: usize) -> (usize, usize) {
    let long = region.w.max(region.h) as f32;
    let s = (long_max as f32 / long).min(1.0);
    let side = |v: usize| {
        let a = MODNET_ALIGN as f32;
        (((v as f32 * s) / a).round() as usize * MODNET_ALIGN).max(2 * MODNET_ALIGN)
    };
    (side(region.w), side(region.h))
}

/// Fuses per frame; holds scratch planes so steady state allocates little.
#[derive(Default)]
pub struct Fuser {
    params: FuseParams,
    sel: Vec<f32>,
    core: Vec<f32>,
    halo: Vec<f32>,
    fill: Vec<f32>,
    fill_dil: Vec<f32>,
    /// Selfie-grid planes: the sure core (0–1), MODNet's alpha, MODNet's kept areas (0/1).
    sure: Vec<f32>,
    fine_sel: Vec<f32>,
    kept: Vec<f32>,
    stack: Vec<usize>,
    tmp: Vec<f32>,
    fine: Vec<f32>,
    /// `fill` and `halo` per cell (`cell_constants`).
    fill_cells: Vec<f32>,
    halo_cells: Vec<f32>,
    taps: Taps,
    /// Taps from MODNet's grid to its crop.
    fine_x: AxisMap,
    fine_y: AxisMap,
    /// The sizes `fine_x`, `fine_y` were made for: ((MODNet w, crop w), (MODNet h, crop h)).
    fine_key: ((usize, usize), (usize, usize)),
    blobs: Option<BlobFilter>,
}

/// Bilinear sample of a `w`×`h` plane at continuous pixel coordinates (centres at +0.5).
pub(super) fn sample(plane: &[f32], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let x = (x - 0.5).clamp(0.0, (w - 1) as f32);
    let y = (y - 0.5).clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = plane[y0 * w + x0] + (plane[y0 * w + x1] - plane[y0 * w + x0]) * fx;
    let bot = plane[y1 * w + x0] + (plane[y1 * w + x1] - plane[y1 * w + x0]) * fx;
    top + (bot - top) * fy
}

impl Fuser {
    pub fn new(params: FuseParams) -> Self {
        Fuser {
            params,
            ..Fuser::default()
        }
    }

    /// `self.sure` (`sw`×`sh`, 0–1): where the selfie model is sure of a person
    /// (probability ≥ `sure` throughout a `sure_erode` model-px square around the pixel),
    /// 1; ramping to 0 over [`SURE_RAMP`] below. The erosion clamps its window at the
    /// frame's border: a border the person is cut by counts as inside, as the selfie mask
    /// along it says.
    fn sure_core(&mut self, sw: usize, sh: usize) {
        let p = self.params;
        morph(
            &self.sel,
            sw,
            sh,
            p.sure_erode,
            false,
            &mut self.tmp,
            &mut self.sure,
        );
        let lo = p.sure - SURE_RAMP;
        for v in &mut self.sure {
            *v = ((*v - lo) / (2.0 * SURE_RAMP)).clamp(0.0, 1.0);
        }
    }

    /// `self.fine_sel` (`sw`×`sh`): MODNet's alpha sampled at the selfie grid's pixel
    /// centres, 0 outside its crop or without MODNet.
    fn fine_at_grid(
        &mut self,
        fine: Option<&FineMatte>,
        (sw, sh): (usize, usize),
        (width, height): (usize, usize),
    ) {
        self.fine_sel.clear();
        self.fine_sel.resize(sw * sh, 0.0);
        let Some(f) = fine else {
            return;
        };
        let r = f.region;
        let (gx, gy) = (width as f32 / sw as f32, height as f32 / sh as f32);
        for y in 0..sh {
            let fy = (y as f32 + 0.5) * gy;
            if fy < r.y as f32 || fy >= (r.y + r.h) as f32 {
                continue;
            }
            let sy = (fy - r.y as f32) * f.h as f32 / r.h as f32;
            for x in 0..sw {
                let fx = (x as f32 + 0.5) * gx;
                if fx < r.x as f32 || fx >= (r.x + r.w) as f32 {
                    continue;
                }
                let sx = (fx - r.x as f32) * f.w as f32 / r.w as f32;
                self.fine_sel[y * sw + x] = sample(&self.fine, f.w, f.h, sx, sy);
            }
        }
    }

    /// `self.kept` (`sw`×`sh`, 0 or 1): MODNet's 8-connected areas of alpha ≥ `keep_level`
    /// that hold a pixel the selfie model calls person (p ≥ 0.5; flood fill from those
    /// pixels), grown by [`KEEP_RIM`]. Connectivity, not distance, says what is the person:
    /// a suit the selfie model half missed is joined to the body MODNet sees, a stray blob
    /// is not. The plain mask, not the sure core, seeds it: a small person has no core.
    fn kept_areas(&mut self, sw: usize, sh: usize) {
        let level = self.params.keep_level;
        self.tmp.clear();
        self.tmp.resize(sw * sh, 0.0);
        self.stack.clear();
        for (i, (&m, &p)) in self.fine_sel.iter().zip(&self.sel).enumerate() {
            if m >= level && p >= 0.5 {
                self.tmp[i] = 1.0;
                self.stack.push(i);
            }
        }
        while let Some(i) = self.stack.pop() {
            let (x, y) = (i % sw, i / sw);
            for ny in y.saturating_sub(1)..(y + 2).min(sh) {
                for nx in x.saturating_sub(1)..(x + 2).min(sw) {
                    let j = ny * sw + nx;
                    if self.tmp[j] == 0.0 && self.fine_sel[j] >= level {
                        self.tmp[j] = 1.0;
                        self.stack.push(j);
                    }
                }
            }
        }
        let seeds = std::mem::take(&mut self.tmp);
        morph(
            &seeds,
            sw,
            sh,
            KEEP_RIM,
            true,
            &mut self.tmp,
            &mut self.kept,
        );
        self.tmp = seeds;
    }

    /// `selfie`: the selfie model's output (`sw`×`sh`, person probability over the whole
    /// frame). `fine`: the latest MODNet alpha, if any. Writes `width·height` alpha bytes
    /// (255 = person) into `alpha`:
    /// `α = max(min(M, halo), fill, sure)`, where `fill` is the selfie core only inside the
    /// large areas where MODNet drops a person the core is sure of (connected areas of at
    /// least `fill_area` of the frame): small disagreements (the selfie's band of
    /// background at edges, wallpaper between two people) are left to MODNet; `sure` is the
    /// selfie model's sure core (`lift`), and `halo` also passes MODNet's areas joined to
    /// the selfie mask (`keep_level`; with `keep_only`, only those).
    pub fn fuse(
        &mut self,
        selfie: &[f32],
        (sw, sh): (usize, usize),
        fine: Option<&FineMatte>,
        (width, height): (usize, usize),
        alpha: &mut Vec<u8>,
    ) {
        let p = self.params;
        let n = sw * sh;
        self.sel.clear();
        self.sel.extend(
            selfie[..n]
                .iter()
                .map(|v| if *v >= 0.0 { v.min(1.0) } else { 0.0 }),
        );
        morph(
            &self.sel,
            sw,
            sh,
            p.core_erode,
            false,
            &mut self.tmp,
            &mut self.core,
        );
        for v in &mut self.core {
            *v = ((*v - 0.25) * 2.0).clamp(0.0, 1.0);
        }
        morph(
            &self.sel,
            sw,
            sh,
            p.halo_dilate,
            true,
            &mut self.tmp,
            &mut self.halo,
        );
        for v in &mut self.halo {
            *v = ((*v - 0.1) * 5.0).clamp(0.0, 1.0);
        }
        // MODNet's alpha, cleaned of small blobs, sampled at the selfie grid.
        let fine = fine.filter(|f| {
            let r = f.region;
            f.w > 0
                && f.h > 0
                && f.alpha.len() >= f.w * f.h
                && r.w > 0
                && r.h > 0
                && r.x + r.w <= width
                && r.y + r.h <= height
        });
        if let Some(f) = fine {
            self.fine.clear();
            self.fine.extend_from_slice(&f.alpha[..f.w * f.h]);
            if p.min_blob > 0.0 {
                let blobs = self.blobs.get_or_insert_with(|| BlobFilter::new(0));
                blobs.remove_small(&mut self.fine, f.w, f.h, p.min_blob);
            }
        }
        self.fine_at_grid(fine, (sw, sh), (width, height));
        if p.lift {
            self.sure_core(sw, sh);
        }
        if p.keep_level > 0.0 && fine.is_some() {
            self.kept_areas(sw, sh);
            for (h, k) in self.halo.iter_mut().zip(&self.kept) {
                *h = if p.keep_only { *k } else { h.max(*k) };
            }
        }
        // Disagreement: the core is sure, MODNet is not.
        self.fill.clear();
        self.fill.extend(
            self.core
                .iter()
                .zip(&self.fine_sel)
                .map(|(&c, &m)| if c > 0.5 && m < 0.5 { 1.0 } else { 0.0 }),
        );
        // Keep only the large areas (the filter erases connected areas under the size).
        let blobs = self.blobs.get_or_insert_with(|| BlobFilter::new(0));
        blobs.remove_small(&mut self.fill, sw, sh, p.fill_area);
        // One pixel of growth covers the soft rim of the core around the kept area.
        morph(
            &self.fill,
            sw,
            sh,
            1,
            true,
            &mut self.tmp,
            &mut self.fill_dil,
        );
        for ((f, d), c) in self.fill.iter_mut().zip(&self.fill_dil).zip(&self.core) {
            *f = d * c;
        }
        if p.lift {
            for (f, l) in self.fill.iter_mut().zip(&self.sure) {
                *f = f.max(*l);
            }
        }
        let values = std::mem::take(&mut self.fine);
        self.compose(
            fine.map(|f| (f, &values[..])),
            (sw, sh),
            (width, height),
            alpha,
        );
        self.fine = values;
    }

    /// Writes the full-resolution alpha from the selfie-grid planes `self.fill` and
    /// `self.halo` (both `sw`×`sh`) and MODNet's alpha (`fine`: the matte and its cleaned
    /// values): `to_u8(255·fill↑)` outside MODNet's crop, `to_u8(255·max(min(M↑, halo↑),
    /// fill↑))` inside it (↑: bilinear, pixel-centre aligned). The same bytes as upsampling
    /// each plane to the frame ([`bilinear_f32`]) and combining them, computed row by row
    /// and only where they can differ: where the four selfie-grid values a pixel reads are
    /// equal the upsampled value is that value, and where `halo↑ ≤ fill↑` the result is
    /// `fill↑` whatever MODNet says; so MODNet's upsampled alpha is computed only in the
    /// band between the sure core and the halo, and whole spans of a row are filled far
    /// from the outline (most of a 1080p frame).
    fn compose(
        &mut self,
        fine: Option<(&FineMatte, &[f32])>,
        (sw, sh): (usize, usize),
        (width, height): (usize, usize),
        alpha: &mut Vec<u8>,
    ) {
        alpha.resize(width * height, 0);
        if width == 0 || height == 0 || sw == 0 || sh == 0 {
            alpha.fill(0);
            return;
        }
        self.taps.prepare((sw, sh), (width, height));
        let Taps { xm, ym, runs, .. } = &self.taps;
        cell_constants(&self.fill, sw, sh, &mut self.fill_cells);
        cell_constants(&self.halo, sw, sh, &mut self.halo_cells);
        if let Some((f, _)) = fine {
            let key = ((f.w, f.region.w), (f.h, f.region.h));
            if self.fine_key != key {
                self.fine_key = key;
                self.fine_x = AxisMap::new(f.w, f.region.w);
                self.fine_y = AxisMap::new(f.h, f.region.h);
            }
        }
        let (fill, halo) = (&self.fill[..], &self.halo[..]);
        let (fill_cells, halo_cells) = (&self.fill_cells[..], &self.halo_cells[..]);
        let (fxm, fym) = (&self.fine_x, &self.fine_y);
        for (y, out) in alpha.chunks_exact_mut(width).take(height).enumerate() {
            let (y0, y1, fy) = (ym.i0[y] as usize, ym.i1[y] as usize, ym.frac[y]);
            let (f0, f1) = (&fill[y0 * sw..(y0 + 1) * sw], &fill[y1 * sw..(y1 + 1) * sw]);
            let (h0, h1) = (&halo[y0 * sw..(y0 + 1) * sw], &halo[y1 * sw..(y1 + 1) * sw]);
            let fc = &fill_cells[y0 * sw..(y0 + 1) * sw];
            let hc = &halo_cells[y0 * sw..(y0 + 1) * sw];
            // MODNet's crop on this row, and its two source rows.
            let crop = fine.and_then(|(f, m)| {
                let r = f.region;
                (y >= r.y && y < r.y + r.h).then(|| {
                    let my = y - r.y;
                    let (j0, j1) = (fym.i0[my] as usize, fym.i1[my] as usize);
                    let rows = (&m[j0 * f.w..(j0 + 1) * f.w], &m[j1 * f.w..(j1 + 1) * f.w]);
                    (r.x, r.x + r.w, rows, fym.frac[my])
                })
            });
            let (cx0, cx1) = crop.map_or((0, 0), |c| (c.0, c.1));
            for &(s, e) in runs {
                let (s, e) = (s as usize, e as usize);
                let i0 = xm.i0[s] as usize;
                let i1 = xm.i1[s] as usize;
                let fill_at = |x: usize| {
                    if fc[i0].is_nan() {
                        lerp2(f0, f1, i0, i1, xm.frac[x], fy)
                    } else {
                        fc[i0]
                    }
                };
                // Outside the crop: the fill alone.
                for (a, b) in [(s, e.min(cx0)), (s.max(cx1), e)] {
                    if a >= b {
                        continue;
                    }
                    if fc[i0].is_nan() {
                        for (o, x) in out[a..b].iter_mut().zip(a..) {
                            *o = to_u8(fill_at(x) * 255.0);
                        }
                    } else {
                        out[a..b].fill(to_u8(fc[i0] * 255.0));
                    }
                }
                let (a, b) = (s.max(cx0), e.min(cx1));
                let Some((rx, _, (m0, m1), mfy)) = crop.filter(|_| a < b) else {
                    continue;
                };
                let (cf, ch) = (fc[i0], hc[i0]);
                if !cf.is_nan() && !ch.is_nan() && ch <= cf {
                    out[a..b].fill(to_u8(cf * 255.0));
                    continue;
                }
                for (o, x) in out[a..b].iter_mut().zip(a..) {
                    let c = fill_at(x);
                    let h = if ch.is_nan() {
                        lerp2(h0, h1, i0, i1, xm.frac[x], fy)
                    } else {
                        ch
                    };
                    *o = if h <= c {
                        to_u8(c * 255.0)
                    } else {
                        let mx = x - rx;
                        let (j0, j1) = (fxm.i0[mx] as usize, fxm.i1[mx] as usize);
                        let m = lerp2(m0, m1, j0, j1, fxm.frac[mx], mfy);
                        to_u8(m.min(h).max(c) * 255.0)
                    };
                }
            }
        }
    }

    /// The full-frame form of [`Fuser::compose`] (every plane upsampled to the frame, then
    /// combined), kept as the reference the tests compare it with.
    #[cfg(test)]
    fn compose_reference(
        &self,
        fine: Option<(&FineMatte, &[f32])>,
        (sw, sh): (usize, usize),
        (width, height): (usize, usize),
    ) -> Vec<u8> {
        let (xm, ym) = (AxisMap::new(sw, width), AxisMap::new(sh, height));
        let (mut r0, mut r1) = (Vec::new(), Vec::new());
        let mut fill_full = vec![0.0; width * height];
        let mut halo_full = vec![0.0; width * height];
        bilinear_f32(&self.fill, sw, &xm, &ym, &mut fill_full, &mut r0, &mut r1);
        bilinear_f32(&self.halo, sw, &xm, &ym, &mut halo_full, &mut r0, &mut r1);
        let mut alpha: Vec<u8> = fill_full.iter().map(|c| to_u8(*c * 255.0)).collect();
        let Some((f, fine)) = fine else {
            return alpha;
        };
        let r = f.region;
        let (fx, fy) = (AxisMap::new(f.w, r.w), AxisMap::new(f.h, r.h));
        let mut fine_full = vec![0.0; r.w * r.h];
        bilinear_f32(fine, f.w, &fx, &fy, &mut fine_full, &mut r0, &mut r1);
        for y in 0..r.h {
            let off = (r.y + y) * width + r.x;
            let m = &fine_full[y * r.w..(y + 1) * r.w];
            let c = &fill_full[off..off + r.w];
            let h = &halo_full[off..off + r.w];
            for (((a, m), c), h) in alpha[off..off + r.w].iter_mut().zip(m).zip(c).zip(h) {
                *a = to_u8(m.min(*h).max(*c) * 255.0);
            }
        }
        alpha
    }
}

/// Bilinear value between source rows `r0` and `r1` at taps `i0`, `i1`: the expression
/// [`bilinear_f32`] evaluates (horizontal, then vertical), so the values are the same bits.
#[inline(always)]
fn lerp2(r0: &[f32], r1: &[f32], i0: usize, i1: usize, fx: f32, fy: f32) -> f32 {
    let a = r0[i0] + fx * (r0[i1] - r0[i0]);
    let b = r1[i0] + fx * (r1[i1] - r1[i0]);
    a + fy * (b - a)
}

/// Per selfie-grid cell (`sw`×`sh`, cell (i, j) = the pixels whose bilinear taps are i, i+1
/// and j, j+1, clamped at the last row and column): its value where all four taps are equal
/// (so is every pixel upsampled from it), NaN where they differ.
fn cell_constants(plane: &[f32], sw: usize, sh: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(sw * sh, f32::NAN);
    if sw == 0 {
        return;
    }
    for j in 0..sh {
        let (r0, r1) = (
            &plane[j * sw..(j + 1) * sw],
            &plane[(j + 1).min(sh - 1) * sw..][..sw],
        );
        for (i, o) in out[j * sw..(j + 1) * sw].iter_mut().enumerate() {
            let i1 = (i + 1).min(sw - 1);
            let v = r0[i];
            if r0[i1] == v && r1[i] == v && r1[i1] == v {
                *o = v;
            }
        }
    }
}

/// The bilinear taps from the selfie grid to the frame, kept while the sizes stay.
#[derive(Debug, Default)]
struct Taps {
    size: ((usize, usize), (usize, usize)),
    xm: AxisMap,
    ym: AxisMap,
    /// Runs `[start, end)` of frame columns that share their left tap, left to right.
    runs: Vec<(u32, u32)>,
}

impl Taps {
    fn prepare(&mut self, src: (usize, usize), dst: (usize, usize)) {
        if self.size == (src, dst) && !self.runs.is_empty() {
            return;
        }
        self.size = (src, dst);
        self.xm = AxisMap::new(src.0, dst.0);
        self.ym = AxisMap::new(src.1, dst.1);
        self.runs.clear();
        let mut start = 0;
        for x in 1..=dst.0 {
            if x == dst.0 || self.xm.i0[x] != self.xm.i0[start] {
                self.runs.push((start as u32, x as u32));
                start = x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic plane in [0, 1]: noise, with runs of exact 0 and 1 (as the masks have).
    fn noise_plane(w: usize, h: usize, seed: u32) -> Vec<f32> {
        let mut v = seed.wrapping_mul(2_654_435_761) | 1;
        (0..w * h)
            .map(|_| {
                v ^= v << 13;
                v ^= v >> 17;
                v ^= v << 5;
                match v % 4 {
                    0 => 0.0,
                    1 => 1.0,
                    _ => (v >> 8) as f32 / (1u32 << 24) as f32,
                }
            })
            .collect()
    }

    #[test]
    fn morph_by_shifted_rows_equals_the_per_pixel_form() {
        for (w, h) in [(256, 144), (33, 7), (1, 5), (6, 1)] {
            let src = noise_plane(w, h, (w * h) as u32);
            for r in [0, 1, 2, 4, 6, 10, 40] {
                for dilate in [false, true] {
                    let (mut tmp, mut dst) = (Vec::new(), Vec::new());
                    morph(&src, w, h, r, dilate, &mut tmp, &mut dst);
                    let want = morph_reference(&src, w, h, r, dilate);
                    let same = dst
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{w}x{h} r {r} dilate {dilate}");
                }
            }
        }
    }

    /// Fuses `selfie` with `fine` both ways: the banded compose and the full-frame reference
    /// on the same selfie-grid planes; returns how many bytes differ (and the first).
    fn banded_vs_full(
        fuser: &mut Fuser,
        selfie: &[f32],
        grid: (usize, usize),
        fine: Option<&FineMatte>,
        size: (usize, usize),
    ) -> (usize, Option<(usize, u8, u8)>) {
        let mut alpha = vec![7; 3];
        fuser.fuse(selfie, grid, fine, size, &mut alpha);
        let want = fuser.compose_reference(fine.map(|f| (f, &fuser.fine[..])), grid, size);
        assert_eq!(alpha.len(), want.len());
        let mut diff = alpha
            .iter()
            .zip(&want)
            .enumerate()
            .filter(|(_, (a, b))| a != b);
        let first = diff.next().map(|(i, (a, b))| (i, *a, *b));
        (first.map_or(0, |_| 1 + diff.count()), first)
    }

    /// The banded fusion writes the same bytes as upsampling every plane to the frame: on
    /// the generated moving ellipse (MODNet on a crop, on the whole frame, on a crop at the
    /// frame's corner, none), on noise planes, and on odd frame sizes.
    #[test]
    fn the_banded_fusion_equals_the_full_frame_one() {
        use super::super::motion::tests::{ellipse_matte, ellipse_selfie};
        let mut fuser = Fuser::new(FuseParams::default());
        let sel = ellipse_selfie(600.0, 360.0);
        let crops = [
            Region {
                x: 380,
                y: 80,
                w: 440,
                h: 600,
            },
            Region {
                x: 0,
                y: 0,
                w: 1280,
                h: 720,
            },
            Region {
                x: 700,
                y: 400,
                w: 580,
                h: 320,
            },
        ];
        for (k, crop) in crops.into_iter().enumerate() {
            let fine = ellipse_matte(crop, 604.0, 357.0);
            let got = banded_vs_full(&mut fuser, &sel, (256, 144), Some(&fine), (1280, 720));
            assert_eq!(got, (0, None), "ellipse, crop {k}");
        }
        let got = banded_vs_full(&mut fuser, &sel, (256, 144), None, (1280, 720));
        assert_eq!(got, (0, None), "ellipse, no MODNet");
        // Noise: every cell differs, every pixel takes the full formula.
        let params = FuseParams {
            fill_area: 0.0,
            ..FuseParams::default()
        };
        for (size, grid, crop) in [
            (
                (1920, 1080),
                (256, 144),
                Region {
                    x: 100,
                    y: 40,
                    w: 1500,
                    h: 1000,
                },
            ),
            (
                (641, 361),
                (256, 144),
                Region {
                    x: 3,
                    y: 1,
                    w: 600,
                    h: 358,
                },
            ),
            (
                (1080, 1920),
                (144, 256),
                Region {
                    x: 0,
                    y: 200,
                    w: 1080,
                    h: 1720,
                },
            ),
            (
                (100, 60),
                (256, 144),
                Region {
                    x: 10,
                    y: 10,
                    w: 80,
                    h: 40,
                },
            ),
        ] {
            let sel = noise_plane(grid.0, grid.1, 3);
            let fine = FineMatte {
                alpha: noise_plane(crop.w / 3, crop.h / 3, 5),
                w: crop.w / 3,
                h: crop.h / 3,
                region: crop,
            };
            let mut fuser = Fuser::new(params);
            let got = banded_vs_full(&mut fuser, &sel, grid, Some(&fine), size);
            assert_eq!(got, (0, None), "noise, {size:?}");
        }
    }

    /// The same on a real frame: the talking clip at 1080p, the selfie model's mask and
    /// MODNet's alpha at crop 384 on its first frame (a keyframe), then the second frame's
    /// carried alpha (`--matte-every 2`).
    #[test]
    fn the_banded_fusion_equals_the_full_frame_one_on_a_real_frame() {
        use crate::engine::ffmpeg::Decoder;
        use crate::engine::matte::fine::FineRunner;
        use crate::engine::matte::{Carry, MatteOptions};
        use crate::engine::segment::{ModelKind, Segmenter};
        let clip = std::env::var_os("EBC_FIXTURES")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
            })
            .join("clips/talking_720p.mp4");
        let (w, h) = (1920, 1080);
        let mut dec = Decoder::open(&clip, w as u32, h as u32, false).unwrap();
        let mut frame = dec.new_frame();
        let kind = ModelKind::for_frame(w, h);
        let mut seg = Segmenter::new(kind).unwrap();
        let mut runner = FineRunner::new(&MatteOptions {
            fine_long_side: 384,
            fine_every: 2,
            fine_carry: Carry::Forward,
            ..MatteOptions::default()
        });
        let mut fuser = Fuser::new(FuseParams::default());
        for t in 0..2 {
            assert!(dec.read_frame(&mut frame).unwrap(), "frame {t}");
            let sel = seg.infer_yuv(&frame).unwrap().to_vec();
            let fine = runner.next(&sel, kind.input_size(), &frame).unwrap();
            assert!(fine.is_some(), "frame {t}: MODNet's alpha or its carry");
            let got = banded_vs_full(&mut fuser, &sel, kind.input_size(), fine.as_ref(), (w, h));
            assert_eq!(got, (0, None), "frame {t}");
        }
    }

    #[test]
    fn region_covers_the_person_with_a_margin_and_stays_in_frame() {
        let (sw, sh) = (16, 9);
        let mut sel = vec![0.0; sw * sh];
        for y in 2..7 {
            for x in 5..9 {
                sel[y * sw + x] = 1.0;
            }
        }
        let r = person_region(&sel, sw, sh, 1600, 900, 0.1).unwrap();
        assert!(
            r.x <= 500 && r.x + r.w >= 900 && r.y <= 200 && r.y + r.h >= 700,
            "{r:?}"
        );
        assert!(r.x + r.w <= 1600 && r.y + r.h <= 900);
        assert!(person_region(&vec![0.0; sw * sh], sw, sh, 1600, 900, 0.1).is_none());
        assert_eq!(
            model_size(
                Region {
                    x: 0,
                    y: 0,
                    w: 1920,
                    h: 1080
                },
                512
            ),
            (512, 288)
        );
        assert_eq!(
            model_size(
                Region {
                    x: 0,
                    y: 0,
                    w: 100,
                    h: 300
                },
                512
            ),
            (96, 288)
        );
    }

    #[test]
    fn selfie_core_survives_and_far_modnet_blobs_do_not() {
        let (sw, sh, w, h) = (32, 18, 320, 180);
        // Selfie: a person box; MODNet: drops its lower half and adds a far blob.
        let mut sel = vec![0.0; sw * sh];
        for y in 2..16 {
            for x in 10..20 {
                sel[y * sw + x] = 1.0;
            }
        }
        let mut fine = FineMatte {
            alpha: vec![0.0; w * h],
            w,
            h,
            region: Region { x: 0, y: 0, w, h },
        };
        for y in 20..90 {
            for x in 100..200 {
                fine.alpha[y * w + x] = 1.0;
            }
        }
        for y in 60..120 {
            for x in 280..318 {
                fine.alpha[y * w + x] = 1.0;
            }
        }
        let mut fuser = Fuser::new(FuseParams {
            core_erode: 2,
            halo_dilate: 3,
            min_blob: 0.0,
            fill_area: 0.003,
            ..FuseParams::default()
        });
        let mut alpha = Vec::new();
        fuser.fuse(&sel, (sw, sh), Some(&fine), (w, h), &mut alpha);
        assert_eq!(
            alpha[120 * w + 150],
            255,
            "selfie core kept where MODNet dropped it"
        );
        assert_eq!(alpha[50 * w + 150], 255, "MODNet person kept");
        assert_eq!(
            alpha[90 * w + 300],
            0,
            "far MODNet blob removed by the halo"
        );
        assert_eq!(alpha[5 * w + 5], 0, "background");
    }

    /// A 64×36 selfie grid over a 640×360 frame: a person box sure at `p` from x = 16 to
    /// 48 and y = 8 down through the frame's bottom edge; MODNet's alpha (full size, the
    /// whole frame) is 1 on the box. Returns (selfie, MODNet).
    fn person_cut_by_the_bottom(p: f32) -> (Vec<f32>, FineMatte) {
        let (sw, sh, w, h) = (64, 36, 640, 360);
        let mut sel = vec![0.0; sw * sh];
        for y in 8..sh {
            for x in 16..48 {
                sel[y * sw + x] = p;
            }
        }
        let mut fine = FineMatte {
            alpha: vec![0.0; w * h],
            w,
            h,
            region: Region { x: 0, y: 0, w, h },
        };
        for y in 80..h {
            for x in 160..480 {
                fine.alpha[y * w + x] = 1.0;
            }
        }
        (sel, fine)
    }

    fn set(fine: &mut FineMatte, (x0, y0, x1, y1): (usize, usize, usize, usize), v: f32) {
        for y in y0..y1 {
            for x in x0..x1 {
                fine.alpha[y * fine.w + x] = v;
            }
        }
    }

    #[test]
    fn a_dropout_at_the_border_inside_a_sure_selfie_mask_is_filled() {
        let (sel, mut fine) = person_cut_by_the_bottom(0.98);
        // Low light: MODNet drops the lower part of the suit, down to the frame's bottom
        // edge: partly transparent (0.6, 4×3 model px) on the right, nearly gone (0.2) on
        // the left but small (2×3 model px). The large-dropout fill takes neither: it needs
        // MODNet < 0.5 over ≥ 0.3 % of the frame (7 model px here).
        set(&mut fine, (280, 330, 320, 360), 0.6);
        set(&mut fine, (220, 330, 240, 360), 0.2);
        let mut fuser = Fuser::new(FuseParams::default());
        let mut alpha = Vec::new();
        fuser.fuse(&sel, (64, 36), Some(&fine), (640, 360), &mut alpha);
        for (x, y) in [(300, 345), (300, 359), (230, 345), (230, 359)] {
            assert!(
                alpha[y * 640 + x] >= 250,
                "({x}, {y}): {}",
                alpha[y * 640 + x]
            );
        }
        assert_eq!(alpha[200 * 640 + 320], 255, "MODNet's person");
        assert_eq!(alpha[200 * 640 + 60], 0, "background");
    }

    #[test]
    fn a_gap_the_selfie_model_is_unsure_of_stays_open() {
        let (mut sel, mut fine) = person_cut_by_the_bottom(0.98);
        // A gap between an arm and the body (2×4 model px): MODNet sees background, the
        // selfie model is unsure (0.5).
        for y in 20..24 {
            for x in 30..32 {
                sel[y * 64 + x] = 0.5;
            }
        }
        set(&mut fine, (300, 200, 320, 240), 0.0);
        let mut fuser = Fuser::new(FuseParams::default());
        let mut alpha = Vec::new();
        fuser.fuse(&sel, (64, 36), Some(&fine), (640, 360), &mut alpha);
        assert!(
            alpha[220 * 640 + 310] <= 8,
            "gap: {}",
            alpha[220 * 640 + 310]
        );
    }

    #[test]
    fn modnet_areas_joined_to_the_sure_core_pass_the_halo_and_strays_go() {
        let (sel, mut fine) = person_cut_by_the_bottom(0.98);
        // The suit runs on to the left, far beyond the selfie mask and its halo (which the
        // selfie model missed), joined to the body; a stray blob sits apart from it.
        set(&mut fine, (20, 300, 160, 360), 1.0);
        set(&mut fine, (540, 100, 560, 120), 1.0);
        let params = FuseParams {
            halo_dilate: 3,
            keep_level: 0.25,
            keep_only: true,
            ..FuseParams::default()
        };
        let mut fuser = Fuser::new(params);
        let mut alpha = Vec::new();
        fuser.fuse(&sel, (64, 36), Some(&fine), (640, 360), &mut alpha);
        assert_eq!(alpha[330 * 640 + 40], 255, "the suit beyond the halo");
        assert_eq!(alpha[110 * 640 + 550], 0, "the stray blob");
        let strays_near = FuseParams {
            halo_dilate: 12,
            keep_level: 0.25,
            keep_only: false,
            ..FuseParams::default()
        };
        Fuser::new(strays_near).fuse(&sel, (64, 36), Some(&fine), (640, 360), &mut alpha);
        assert_eq!(
            alpha[110 * 640 + 550],
            255,
            "without keep_only the halo decides"
        );
    }
}
