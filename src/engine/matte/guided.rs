//! Fast guided filter (He & Sun 2015): the linear coefficients `a`, `b` of `q = a·I + b` are
//! fitted on a reduced grid (guide = box-downsampled luma, input = the coarse mask), then
//! upsampled bilinearly and applied to the full-resolution luma. The mask thereby takes the
//! image's edges (hair, shoulders) instead of the model's blurry 256-px outline, for the cost
//! of a handful of small-plane box filters plus one multiply-add per output pixel.

use super::boxfilter::BoxFilter;
use super::resample::{AxisMap, lerp_row, to_u8};

pub struct FastGuided {
    lw: usize,
    lh: usize,
    boxf: BoxFilter,
    mean_i: Vec<f32>,
    mean_p: Vec<f32>,
    prod: Vec<f32>,
    corr: Vec<f32>,
    /// Box-averaged coefficients after [`FastGuided::fit`].
    a: Vec<f32>,
    b: Vec<f32>,
    /// Full-width rows of the upsampled coefficients (two low-res rows cached).
    ra: [Vec<f32>; 2],
    rb: [Vec<f32>; 2],
    xmap: AxisMap,
    ymap: AxisMap,
}

impl FastGuided {
    /// Coefficients live on `lw`×`lh`; they are applied to `width`×`height` frames.
    pub fn new(lw: usize, lh: usize, width: usize, height: usize) -> Self {
        let n = lw * lh;
        FastGuided {
            lw,
            lh,
            boxf: BoxFilter::new(),
            mean_i: vec![0.0; n],
            mean_p: vec![0.0; n],
            prod: vec![0.0; n],
            corr: vec![0.0; n],
            a: vec![0.0; n],
            b: vec![0.0; n],
            ra: [vec![0.0; width], vec![0.0; width]],
            rb: [vec![0.0; width], vec![0.0; width]],
            xmap: AxisMap::new(lw, width),
            ymap: AxisMap::new(lh, height),
        }
    }

    /// Fit the local linear model of `p` against guide `i` (both `lw`×`lh`, [0,1]) with box
    /// radius `r` (reduced-grid pixels) and regulariser `eps` (in guide units²). `gain`
    /// steepens the result around 0.5 (`(q − ½)·gain + ½`), folded into the coefficients so
    /// it costs nothing per output pixel.
    pub fn fit(&mut self, i: &[f32], p: &[f32], r: usize, eps: f32, gain: f32) {
        let (w, h) = (self.lw, self.lh);
        let n = w * h;
        self.boxf.mean(i, &mut self.mean_i, w, h, r);
        self.boxf.mean(p, &mut self.mean_p, w, h, r);
        for ((d, a), b) in self.prod.iter_mut().zip(&i[..n]).zip(&p[..n]) {
            *d = a * b;
        }
        self.boxf.mean(&self.prod, &mut self.corr, w, h, r);
        // corr := cov(I,p); prod := I² → var(I) below.
        for ((c, mi), mp) in self.corr.iter_mut().zip(&self.mean_i).zip(&self.mean_p) {
            *c -= mi * mp;
        }
        for (d, a) in self.prod.iter_mut().zip(&i[..n]) {
            *d = a * a;
        }
        // `a` temporarily holds mean(I²).
        self.boxf.mean(&self.prod, &mut self.a, w, h, r);
        for ((((a, b), cov), mi), mp) in self
            .a
            .iter_mut()
            .zip(self.b.iter_mut())
            .zip(&self.corr)
            .zip(&self.mean_i)
            .zip(&self.mean_p)
        {
            let var = (*a - mi * mi).max(0.0);
            let k = cov / (var + eps);
            *a = k;
            *b = mp - k * mi;
        }
        // Average the coefficients over each window (the "mean_a, mean_b" step).
        self.prod.copy_from_slice(&self.a);
        self.boxf.mean(&self.prod, &mut self.a, w, h, r);
        self.prod.copy_from_slice(&self.b);
        self.boxf.mean(&self.prod, &mut self.b, w, h, r);
        if gain != 1.0 {
            for (a, b) in self.a.iter_mut().zip(self.b.iter_mut()) {
                *a *= gain;
                *b = (*b - 0.5) * gain + 0.5;
            }
        }
    }

    /// `out[y][x] = clamp(a·Y/255 + b) · 255` on the full-resolution luma plane.
    pub fn apply(&mut self, luma: &[u8], width: usize, out: &mut [u8]) {
        let lw = self.lw;
        let mut cached = [usize::MAX; 2];
        for (y, (orow, lrow)) in out
            .chunks_exact_mut(width)
            .zip(luma.chunks_exact(width))
            .take(self.ymap.len())
            .enumerate()
        {
            let (y0, y1) = (self.ymap.i0[y] as usize, self.ymap.i1[y] as usize);
            let fy = self.ymap.frac[y];
            if cached[0] != y0 {
                if cached[1] == y0 {
                    self.ra.swap(0, 1);
                    self.rb.swap(0, 1);
                    cached = [y0, usize::MAX];
                } else {
                    lerp_row(
                        &self.a[y0 * lw..(y0 + 1) * lw],
                        &self.xmap,
                        1.0,
                        &mut self.ra[0],
                    );
                    lerp_row(
                        &self.b[y0 * lw..(y0 + 1) * lw],
                        &self.xmap,
                        255.0,
                        &mut self.rb[0],
                    );
                    cached[0] = y0;
                }
            }
            if cached[1] != y1 {
                lerp_row(
                    &self.a[y1 * lw..(y1 + 1) * lw],
                    &self.xmap,
                    1.0,
                    &mut self.ra[1],
                );
                lerp_row(
                    &self.b[y1 * lw..(y1 + 1) * lw],
                    &self.xmap,
                    255.0,
                    &mut self.rb[1],
                );
                cached[1] = y1;
            }
            let [ra0, ra1] = &self.ra;
            let [rb0, rb1] = &self.rb;
            for (((((o, &l), a0), a1), b0), b1) in orow
                .iter_mut()
                .zip(lrow)
                .zip(ra0.iter())
                .zip(ra1.iter())
                .zip(rb0.iter())
                .zip(rb1.iter())
            {
                let a = a0 + fy * (a1 - a0);
                let b = b0 + fy * (b1 - b0);
                *o = to_u8(a * l as f32 + b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A constant mask stays constant whatever the guide (a = 0, b = p).
    #[test]
    fn constant_mask_passes_through() {
        let (lw, lh, w, h) = (20, 12, 80, 48);
        let guide: Vec<f32> = (0..lw * lh).map(|i| (i % 7) as f32 / 7.0).collect();
        let p = vec![0.6f32; lw * lh];
        let mut g = FastGuided::new(lw, lh, w, h);
        g.fit(&guide, &p, 2, 1e-3, 1.0);
        let luma: Vec<u8> = (0..w * h).map(|i| (i * 13 % 256) as u8).collect();
        let mut out = vec![0u8; w * h];
        g.apply(&luma, w, &mut out);
        assert!(
            out.iter().all(|&v| (v as i32 - 153).abs() <= 1),
            "{:?}",
            &out[..10]
        );
    }

    /// A blurry mask over a sharp luma step comes out sharp at the step.
    #[test]
    fn edges_snap_to_the_guide() {
        let (w, h, s) = (64, 16, 4);
        let (lw, lh) = (w / s, h / s);
        // Sharp luma edge at x = 30: left bright (person), right dark.
        let luma: Vec<u8> = (0..w * h)
            .map(|i| if i % w < 30 { 200 } else { 40 })
            .collect();
        let mut guide = vec![0.0; lw * lh];
        super::super::resample::downsample_u8(&luma, w, h, s, &mut guide, &mut Vec::new());
        // Soft ramp mask from x≈20 to x≈40 (in full-res units).
        let p: Vec<f32> = (0..lw * lh)
            .map(|i| {
                let x = (i % lw) as f32 * s as f32 + 1.5;
                (1.0 - (x - 20.0) / 20.0).clamp(0.0, 1.0)
            })
            .collect();
        let mut g = FastGuided::new(lw, lh, w, h);
        g.fit(&guide, &p, 2, 1e-4, 1.0);
        let mut out = vec![0u8; w * h];
        g.apply(&luma, w, &mut out);
        let row = &out[8 * w..9 * w];
        // Within a couple of pixels of the luma edge the mask jumps by most of its range.
        assert!(row[28] as i32 - row[32] as i32 > 100, "{:?}", row);
    }
}
