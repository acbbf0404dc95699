//! Optional feather: softens the alpha edge with two passes of a separable box blur (≈ a
//! triangle kernel of radius `r`) on the full-resolution 8-bit alpha, using running sums.

#[derive(Default)]
pub struct Feather {
    tmp: Vec<u8>,
    col: Vec<u32>,
}

impl Feather {
    pub fn new() -> Self {
        Self::default()
    }

    /// Blur `alpha` (`w`×`h`) in place with radius `r/2` twice (support ≈ `r`).
    pub fn apply(&mut self, alpha: &mut [u8], w: usize, h: usize, r: usize) {
        let half = r.div_ceil(2);
        if half == 0 || w == 0 || h == 0 {
            return;
        }
        self.tmp.resize(w * h, 0);
        self.col.resize(w, 0);
        for _ in 0..2 {
            for (src, dst) in alpha.chunks_exact(w).zip(self.tmp.chunks_exact_mut(w)) {
                box_row(src, dst, half);
            }
            box_cols(&self.tmp, alpha, &mut self.col, w, h, half);
        }
    }
}

/// 16-bit fixed-point reciprocal of `n`: `round(sum / n)` = `(sum·inv(n) + 2¹⁵) >> 16`
/// (a division per pixel dominated the cost).
fn inv(n: u32) -> u32 {
    (65536 + n / 2) / n
}

#[inline(always)]
fn div(sum: u32, inv: u32) -> u8 {
    ((sum * inv + 32768) >> 16).min(255) as u8
}

fn box_row(src: &[u8], dst: &mut [u8], r: usize) {
    let w = src.len();
    let mut sum: u32 = src[..(r + 1).min(w)].iter().map(|&v| v as u32).sum();
    let full = inv(2 * r as u32 + 1);
    for x in 0..w {
        let i = if x >= r && x + r < w {
            full
        } else {
            inv(((x + r).min(w - 1) - x.saturating_sub(r) + 1) as u32)
        };
        dst[x] = div(sum, i);
        if x + r + 1 < w {
            sum += src[x + r + 1] as u32;
        }
        if x >= r {
            sum -= src[x - r] as u32;
        }
    }
}

fn box_cols(src: &[u8], dst: &mut [u8], col: &mut [u32], w: usize, h: usize, r: usize) {
    col.fill(0);
    for row in src.chunks_exact(w).take((r + 1).min(h)) {
        for (c, &v) in col.iter_mut().zip(row) {
            *c += v as u32;
        }
    }
    for y in 0..h {
        let n = ((y + r).min(h - 1) - y.saturating_sub(r) + 1) as u32;
        let i = inv(n);
        for (d, &c) in dst[y * w..(y + 1) * w].iter_mut().zip(col.iter()) {
            *d = div(c, i);
        }
        if y + r + 1 < h {
            for (c, &v) in col.iter_mut().zip(&src[(y + r + 1) * w..(y + r + 2) * w]) {
                *c += v as u32;
            }
        }
        if y >= r {
            for (c, &v) in col.iter_mut().zip(&src[(y - r) * w..(y - r + 1) * w]) {
                *c -= v as u32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_division_rounds_like_integer_division() {
        for n in 1..=257u32 {
            for sum in (0..=255 * n).step_by(7) {
                let exact = (sum as f64 / n as f64).round();
                assert!((div(sum, inv(n)) as f64 - exact).abs() <= 1.0, "{sum}/{n}");
            }
        }
    }

    #[test]
    fn softens_a_hard_edge_and_keeps_flat_areas() {
        let (w, h) = (40, 8);
        let mut a: Vec<u8> = (0..w * h)
            .map(|i| if i % w < 20 { 255 } else { 0 })
            .collect();
        Feather::new().apply(&mut a, w, h, 6);
        let row = &a[4 * w..5 * w];
        assert_eq!(row[0], 255);
        assert_eq!(row[39], 0);
        assert!(
            row[19] > 128 && row[19] < 255 && row[20] > 0 && row[20] < 128,
            "{row:?}"
        );
    }
}
