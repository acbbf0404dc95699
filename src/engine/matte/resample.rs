//! Resampling between the full-resolution frame and the small planes the matte is computed
//! on: box-average downsampling of 8-bit planes and bilinear upsampling of f32 planes, both
//! with pixel-centre alignment (`(d + 0.5)·s/d − 0.5`, as OpenCV's INTER_LINEAR and
//! MediaPipe's mask upsampler use).

/// Precomputed bilinear taps along one axis (`src_len` → `dst_len`).
#[derive(Debug, Clone, Default)]
pub struct AxisMap {
    pub i0: Vec<u32>,
    pub i1: Vec<u32>,
    pub frac: Vec<f32>,
}

impl AxisMap {
    pub fn new(src_len: usize, dst_len: usize) -> Self {
        let scale = src_len as f32 / dst_len.max(1) as f32;
        let last = src_len.saturating_sub(1) as f32;
        let mut m = AxisMap {
            i0: Vec::with_capacity(dst_len),
            i1: Vec::with_capacity(dst_len),
            frac: Vec::with_capacity(dst_len),
        };
        for d in 0..dst_len {
            let s = ((d as f32 + 0.5) * scale - 0.5).clamp(0.0, last);
            let i0 = s.floor();
            m.i0.push(i0 as u32);
            m.i1.push((i0 as usize + 1).min(src_len.saturating_sub(1)) as u32);
            m.frac.push(s - i0);
        }
        m
    }

    pub fn len(&self) -> usize {
        self.i0.len()
    }
}

/// Horizontal bilinear interpolation of one source row into `dst` (`xmap.len()` samples),
/// each result multiplied by `scale`.
#[inline]
pub fn lerp_row(src: &[f32], xmap: &AxisMap, scale: f32, dst: &mut [f32]) {
    for (((d, &i0), &i1), &f) in dst.iter_mut().zip(&xmap.i0).zip(&xmap.i1).zip(&xmap.frac) {
        let a = src[i0 as usize];
        let b = src[i1 as usize];
        *d = (a + f * (b - a)) * scale;
    }
}

/// Bilinear upsampling (or downsampling of smooth data) of a `sw`×`sh` plane into a
/// `xmap.len()`×`ymap.len()` plane. `row0`/`row1` are scratch of `xmap.len()` floats.
pub fn bilinear_f32(
    src: &[f32],
    sw: usize,
    xmap: &AxisMap,
    ymap: &AxisMap,
    dst: &mut [f32],
    row0: &mut Vec<f32>,
    row1: &mut Vec<f32>,
) {
    let dw = xmap.len();
    row0.resize(dw, 0.0);
    row1.resize(dw, 0.0);
    let mut cached = (usize::MAX, usize::MAX);
    for (y, out) in dst.chunks_exact_mut(dw).take(ymap.len()).enumerate() {
        let (y0, y1) = (ymap.i0[y] as usize, ymap.i1[y] as usize);
        let fy = ymap.frac[y];
        if cached.0 != y0 {
            if cached.1 == y0 {
                std::mem::swap(row0, row1);
                cached.0 = y0;
                cached.1 = usize::MAX;
            } else {
                lerp_row(&src[y0 * sw..(y0 + 1) * sw], xmap, 1.0, row0);
                cached.0 = y0;
            }
        }
        if cached.1 != y1 {
            lerp_row(&src[y1 * sw..(y1 + 1) * sw], xmap, 1.0, row1);
            cached.1 = y1;
        }
        for ((o, a), b) in out.iter_mut().zip(row0.iter()).zip(row1.iter()) {
            *o = a + fy * (b - a);
        }
    }
}

/// Size of the box-downsampled plane: `ceil(len / factor)`.
pub fn reduced(len: usize, factor: usize) -> usize {
    len.div_ceil(factor.max(1))
}

/// Box-average an 8-bit plane (`w`×`h`, row stride `w`) by `f`×`f` blocks into `dst`
/// (`reduced(w,f)`×`reduced(h,f)`), scaled to [0,1]. Partial border blocks average what
/// they cover. `acc` is scratch.
pub fn downsample_u8(
    src: &[u8],
    w: usize,
    h: usize,
    f: usize,
    dst: &mut [f32],
    acc: &mut Vec<u32>,
) {
    let f = f.max(1);
    acc.resize(w + reduced(w, f) * reduced(h, f), 0);
    let (cols, sums) = acc.split_at_mut(w);
    block_sums_u8(src, w, h, f, sums, cols);
    means_from_sums(sums, w, h, f, dst);
}

/// Integer sums of an 8-bit plane (`w`×`h`, row stride `w`) over `f`×`f` blocks into `sums`
/// (`reduced(w,f)`×`reduced(h,f)` values; partial border blocks sum what they cover).
/// `cols` is scratch of `w` values.
pub fn block_sums_u8(src: &[u8], w: usize, h: usize, f: usize, sums: &mut [u32], cols: &mut [u32]) {
    let f = f.max(1);
    let (lw, lh) = (reduced(w, f), reduced(h, f));
    let cols = &mut cols[..w];
    // Column sums over the block's rows (vectorised), then the block sums.
    for ly in 0..lh {
        cols.fill(0);
        let y0 = ly * f;
        let y1 = (y0 + f).min(h);
        for row in src[y0 * w..y1 * w].chunks_exact(w) {
            for (c, &v) in cols.iter_mut().zip(row) {
                *c += v as u32;
            }
        }
        for (b, block) in sums[ly * lw..(ly + 1) * lw].iter_mut().zip(cols.chunks(f)) {
            *b = block.iter().sum();
        }
    }
}

/// The sums of `q`×`q` blocks of a grid of block sums (`sw`×`sh`, as [`block_sums_u8`]
/// made at factor `f`): the plane's sums at factor `q·f`, the same integers as summing the
/// plane directly (a block at `q·f` is the union of the `q`×`q` blocks at `f` under it).
/// `out` holds `reduced(sw,q)`×`reduced(sh,q)` values.
pub fn coarsen_sums(sums: &[u32], sw: usize, sh: usize, q: usize, out: &mut [u32]) {
    let q = q.max(1);
    let lw = reduced(sw, q);
    out.fill(0);
    for (y, row) in sums.chunks_exact(sw).take(sh).enumerate() {
        let o = &mut out[(y / q) * lw..(y / q + 1) * lw];
        for (b, block) in o.iter_mut().zip(row.chunks(q)) {
            *b += block.iter().sum::<u32>();
        }
    }
}

/// Block means in [0,1] from the block sums of a `w`×`h` 8-bit plane at factor `f`
/// ([`block_sums_u8`]) into `dst`: each sum over the pixels its block covers, ·1/255.
pub fn means_from_sums(sums: &[u32], w: usize, h: usize, f: usize, dst: &mut [f32]) {
    let f = f.max(1);
    let (lw, lh) = (reduced(w, f), reduced(h, f));
    for ly in 0..lh {
        let rows = ((ly * f + f).min(h) - ly * f) as f32;
        let out = &mut dst[ly * lw..(ly + 1) * lw];
        for (lx, (o, &a)) in out.iter_mut().zip(&sums[ly * lw..]).enumerate() {
            let n = (w - lx * f).min(f) as f32 * rows;
            *o = a as f32 / (n * 255.0);
        }
    }
}

/// Clamp to [0,255] and round to nearest, in a form that vectorises: comparisons become
/// min/max, and adding 1.5·2²³ leaves the rounded integer in the low mantissa bits (a
/// saturating `as u8`/`as i32` cast compiles to scalar code).
#[inline(always)]
pub fn to_u8(q: f32) -> u8 {
    let q = if q > 255.0 { 255.0 } else { q };
    let q = if q > 0.0 { q } else { 0.0 };
    (q + 12_582_912.0).to_bits() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_u8_rounds_and_clamps() {
        assert_eq!(to_u8(-3.0), 0);
        assert_eq!(to_u8(f32::NAN), 0);
        assert_eq!(to_u8(0.49), 0);
        assert_eq!(to_u8(0.51), 1);
        assert_eq!(to_u8(127.6), 128);
        assert_eq!(to_u8(254.7), 255);
        assert_eq!(to_u8(1e9), 255);
    }

    #[test]
    fn axis_map_is_centre_aligned() {
        let m = AxisMap::new(2, 4);
        // dst centres 0.5,1.5,2.5,3.5 map to src -0.25,0.25,0.75,1.25 → clamped.
        assert_eq!(m.i0, vec![0, 0, 0, 1]);
        assert!((m.frac[1] - 0.25).abs() < 1e-6 && (m.frac[2] - 0.75).abs() < 1e-6);
        assert_eq!(m.frac[0], 0.0);
    }

    #[test]
    fn bilinear_identity_and_constant() {
        let src: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let (xm, ym) = (AxisMap::new(4, 4), AxisMap::new(3, 3));
        let mut dst = vec![0.0; 12];
        let (mut r0, mut r1) = (Vec::new(), Vec::new());
        bilinear_f32(&src, 4, &xm, &ym, &mut dst, &mut r0, &mut r1);
        assert_eq!(dst, src);
        let src = vec![0.25f32; 6];
        let (xm, ym) = (AxisMap::new(3, 10), AxisMap::new(2, 7));
        let mut dst = vec![0.0; 70];
        bilinear_f32(&src, 3, &xm, &ym, &mut dst, &mut r0, &mut r1);
        assert!(dst.iter().all(|v| (v - 0.25).abs() < 1e-6));
    }

    /// Summing the factor-`f` sums `q`×`q` at a time gives the plane's factor-`q·f` means,
    /// bit for bit, partial border blocks included.
    #[test]
    fn coarsened_sums_give_the_direct_downsample() {
        for (w, h, f, q) in [
            (1920, 1080, 2, 2),
            (1282, 722, 2, 2),
            (37, 23, 1, 3),
            (50, 31, 2, 3),
        ] {
            let src: Vec<u8> = (0..w * h).map(|i| ((i * 7919) % 251) as u8).collect();
            let (lw, lh) = (reduced(w, f * q), reduced(h, f * q));
            let mut direct = vec![0.0; lw * lh];
            downsample_u8(&src, w, h, f * q, &mut direct, &mut Vec::new());
            let mut sums = vec![0; reduced(w, f) * reduced(h, f)];
            let (mut cols, mut coarse) = (vec![0; w], vec![0; lw * lh]);
            block_sums_u8(&src, w, h, f, &mut sums, &mut cols);
            coarsen_sums(&sums, reduced(w, f), reduced(h, f), q, &mut coarse);
            let mut shared = vec![0.0; lw * lh];
            means_from_sums(&coarse, w, h, f * q, &mut shared);
            let same = direct
                .iter()
                .zip(&shared)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{w}x{h} f {f} q {q}");
        }
    }

    #[test]
    fn downsample_averages_blocks_including_partial_ones() {
        // 5x3 plane, factor 2 → 3x2.
        let src: Vec<u8> = vec![
            0, 255, 10, 20, 100, //
            255, 0, 30, 40, 100, //
            51, 51, 51, 51, 200,
        ];
        let mut dst = vec![0.0; 6];
        downsample_u8(&src, 5, 3, 2, &mut dst, &mut Vec::new());
        let expect = [127.5, 25.0, 100.0, 51.0, 51.0, 200.0];
        for (d, e) in dst.iter().zip(expect) {
            assert!((d * 255.0 - e).abs() < 1e-3, "{d} vs {e}");
        }
    }
}
