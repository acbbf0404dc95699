//! Edge-normalised box mean on f32 planes: separable running sums, O(1) per pixel whatever
//! the radius. Near the border each output averages only the samples inside the image, so
//! constant planes stay constant (the guided filter relies on that).

/// Scratch for [`BoxFilter::mean`]; reused across calls so steady-state filtering allocates
/// nothing.
#[derive(Debug, Default)]
pub struct BoxFilter {
    tmp: Vec<f32>,
    colsum: Vec<f32>,
}

impl BoxFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// `dst[y][x]` = mean of `src` over the (2r+1)² window clipped to the image.
    pub fn mean(&mut self, src: &[f32], dst: &mut [f32], w: usize, h: usize, r: usize) {
        assert!(
            src.len() >= w * h && dst.len() >= w * h,
            "box filter plane too small"
        );
        if w == 0 || h == 0 {
            return;
        }
        if r == 0 {
            dst[..w * h].copy_from_slice(&src[..w * h]);
            return;
        }
        self.tmp.resize(w * h, 0.0);
        self.colsum.resize(w, 0.0);
        // Four rows at a time: four independent running sums hide the add latency that a
        // single row's sum is bound by.
        let mut y = 0;
        while y + 4 <= h {
            let s = &src[y * w..(y + 4) * w];
            let t = &mut self.tmp[y * w..(y + 4) * w];
            horizontal4(s, t, w, r);
            y += 4;
        }
        for yy in y..h {
            horizontal(
                &src[yy * w..(yy + 1) * w],
                &mut self.tmp[yy * w..(yy + 1) * w],
                r,
            );
        }
        vertical(&self.tmp, dst, &mut self.colsum, w, h, r);
    }
}

fn horizontal(src: &[f32], dst: &mut [f32], r: usize) {
    let w = src.len();
    let mut sum: f32 = src[..(r + 1).min(w)].iter().sum();
    for x in 0..w {
        let lo = x.saturating_sub(r);
        let hi = (x + r).min(w - 1);
        dst[x] = sum / (hi - lo + 1) as f32;
        if x + r + 1 < w {
            sum += src[x + r + 1];
        }
        if x >= r {
            sum -= src[x - r];
        }
    }
}

fn horizontal4(src: &[f32], dst: &mut [f32], w: usize, r: usize) {
    let row = |k: usize| k * w;
    let mut sum = [0.0f32; 4];
    for (k, s) in sum.iter_mut().enumerate() {
        *s = src[row(k)..row(k) + (r + 1).min(w)].iter().sum();
    }
    for x in 0..w {
        let lo = x.saturating_sub(r);
        let hi = (x + r).min(w - 1);
        let inv = 1.0 / (hi - lo + 1) as f32;
        for (k, s) in sum.iter_mut().enumerate() {
            dst[row(k) + x] = *s * inv;
            let add = if x + r + 1 < w {
                src[row(k) + x + r + 1]
            } else {
                0.0
            };
            let sub = if x >= r { src[row(k) + x - r] } else { 0.0 };
            *s += add - sub;
        }
    }
}

fn vertical(src: &[f32], dst: &mut [f32], colsum: &mut [f32], w: usize, h: usize, r: usize) {
    colsum.fill(0.0);
    for row in src.chunks_exact(w).take((r + 1).min(h)) {
        for (c, v) in colsum.iter_mut().zip(row) {
            *c += v;
        }
    }
    for y in 0..h {
        let lo = y.saturating_sub(r);
        let hi = (y + r).min(h - 1);
        let inv = 1.0 / (hi - lo + 1) as f32;
        for (d, c) in dst[y * w..(y + 1) * w].iter_mut().zip(colsum.iter()) {
            *d = c * inv;
        }
        if y + r + 1 < h {
            let add = &src[(y + r + 1) * w..(y + r + 2) * w];
            for (c, v) in colsum.iter_mut().zip(add) {
                *c += v;
            }
        }
        if y >= r {
            let sub = &src[(y - r) * w..(y - r + 1) * w];
            for (c, v) in colsum.iter_mut().zip(sub) {
                *c -= v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(src: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
        let mut out = vec![0.0; w * h];
        for y in 0..h {
            for x in 0..w {
                let (mut s, mut n) = (0.0, 0.0);
                for yy in y.saturating_sub(r)..=(y + r).min(h - 1) {
                    for xx in x.saturating_sub(r)..=(x + r).min(w - 1) {
                        s += src[yy * w + xx];
                        n += 1.0;
                    }
                }
                out[y * w + x] = s / n;
            }
        }
        out
    }

    #[test]
    fn matches_naive_reference() {
        for &(w, h, r) in &[(17, 9, 2), (5, 31, 3), (8, 8, 10), (1, 1, 1), (40, 3, 1)] {
            let src: Vec<f32> = (0..w * h)
                .map(|i| ((i * 37) % 101) as f32 / 101.0)
                .collect();
            let mut dst = vec![0.0; w * h];
            BoxFilter::new().mean(&src, &mut dst, w, h, r);
            for (a, b) in dst.iter().zip(naive(&src, w, h, r)) {
                assert!((a - b).abs() < 1e-4, "{w}x{h} r{r}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn constant_plane_stays_constant() {
        let src = vec![0.7f32; 30 * 20];
        let mut dst = vec![0.0; 30 * 20];
        BoxFilter::new().mean(&src, &mut dst, 30, 20, 4);
        assert!(dst.iter().all(|v| (v - 0.7).abs() < 1e-5));
    }
}
