//! The portable matrix product: `dst (m×n) = lhs (m×k) · rhs (k×n)`, all row-major and
//! dense, for convolutions on CPUs without AVX2+FMA (or channel counts the tiled kernels do
//! not cover). Large products go to the `gemm` crate, forced single-threaded: the pipeline
//! runs one segmenter per stage thread and must not oversubscribe the cores. Tiny ones (the
//! squeeze-excite 1×1 maps) use a plain loop, cheaper than the crate's packing.

/// Below this many rows a plain loop wins over packing.
const SMALL_M: usize = 4;

/// `dst = lhs · rhs`: `lhs` m×k, `rhs` k×n, `dst` m×n, row-major.
pub fn matmul(m: usize, k: usize, n: usize, lhs: &[f32], rhs: &[f32], dst: &mut [f32]) {
    product(m, k, n, lhs, k, rhs, dst, false);
}

/// `dst += lhs · rhs` (shapes as `matmul`): a product summed over several calls, e.g. a
/// convolution's taps taken a few at a time.
pub fn matmul_add(m: usize, k: usize, n: usize, lhs: &[f32], rhs: &[f32], dst: &mut [f32]) {
    product(m, k, n, lhs, k, rhs, dst, true);
}

/// `dst (+)= lhs · rhs` where row `i` of the m×k `lhs` is `lhs[i·row_stride..][..k]`: rows
/// may overlap (`row_stride` < `k`), which lets a stride-1 convolution read its windows
/// straight from a padded input instead of an im2col copy. `accumulate`: add to `dst`
/// (else overwrite it). Panics if `lhs` is shorter than `(m−1)·row_stride + k`.
pub fn matmul_strided(
    m: usize,
    k: usize,
    n: usize,
    (lhs, row_stride): (&[f32], usize),
    rhs: &[f32],
    dst: &mut [f32],
    accumulate: bool,
) {
    product(m, k, n, lhs, row_stride, rhs, dst, accumulate);
}

/// Deepest product handed to the `gemm` crate in one call. Deeper ones are cut into equal
/// parts summed in `dst`: the crate itself cuts a depth over 512 into blocks whose size
/// depends on `m` (512 at most 64×64, equal parts above), so without this a row's bits
/// would change with the rows per call, i.e. with the thread split (gemm-common 0.19,
/// `gemm.rs`: `kc = k.min(512)` for small products, `kernel_params` otherwise).
const MAX_DEPTH: usize = 512;

#[allow(clippy::too_many_arguments)]
fn product(
    m: usize,
    k: usize,
    n: usize,
    lhs: &[f32],
    lrs: usize,
    rhs: &[f32],
    dst: &mut [f32],
    accumulate: bool,
) {
    if k > MAX_DEPTH {
        let part = k.div_ceil(k.div_ceil(MAX_DEPTH));
        for c0 in (0..k).step_by(part) {
            let c1 = (c0 + part).min(k);
            let rhs = &rhs[c0 * n..c1 * n];
            product(
                m,
                c1 - c0,
                n,
                &lhs[c0..],
                lrs,
                rhs,
                dst,
                accumulate || c0 > 0,
            );
        }
        return;
    }
    let lhs_len = if m == 0 { 0 } else { (m - 1) * lrs + k };
    let (lhs, rhs, dst) = (&lhs[..lhs_len], &rhs[..k * n], &mut dst[..m * n]);
    if m < SMALL_M || k == 0 || n == 0 {
        for (i, out) in dst.chunks_exact_mut(n.max(1)).enumerate().take(m) {
            if !accumulate {
                out.fill(0.0);
            }
            let row = &lhs[i * lrs..][..k];
            for (a, rrow) in row.iter().zip(rhs.chunks_exact(n.max(1))) {
                for (o, b) in out.iter_mut().zip(rrow) {
                    *o += a * b;
                }
            }
        }
        return;
    }
    // SAFETY: the three slices were just cut to exactly (m−1)·lrs + k, k×n and m×n
    // elements, and the strides below (lhs rows `lrs` apart, other row strides = columns,
    // column stride 1) stay inside them; `read_dst` is true only when accumulating into a
    // `dst` the caller filled.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            1,
            lrs as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::ops::testutil::*;
    use super::*;

    #[test]
    fn matches_naive_product() {
        for (m, k, n) in [
            (1, 16, 8),
            (3, 5, 7),
            (64, 27, 16),
            (100, 72, 24),
            (33, 1, 9),
            (70, 1300, 12),
        ] {
            let a = random(m * k, m as u64);
            let b = random(k * n, n as u64);
            let mut got = vec![f32::NAN; m * n];
            matmul(m, k, n, &a, &b, &mut got);
            let mut want = vec![0.0; m * n];
            for i in 0..m {
                for j in 0..n {
                    want[i * n + j] = (0..k)
                        .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                        .sum::<f64>() as f32;
                }
            }
            // f32 rounding of a k-term sum grows like √k (the f64 reference has none).
            let tol = TOL_REORDERED_SUMS * (k as f32 / 100.0).sqrt().max(1.0);
            let d = max_rel_diff(&got, &want);
            assert!(d <= tol, "{m}x{k}x{n}: {d}");
        }
    }

    /// Rows that overlap (`row_stride` < `k`, as a stride-1 convolution reads its windows)
    /// and rows with gaps, overwriting and accumulating, on both sides of `SMALL_M`.
    #[test]
    fn strided_rows_match_naive_product() {
        for (m, k, n, stride) in [
            (2, 12, 5, 3),
            (40, 27, 16, 9),
            (64, 8, 24, 12),
            (7, 30, 3, 1),
        ] {
            let a = random((m - 1) * stride + k, (m * k) as u64);
            let b = random(k * n, n as u64);
            let base = random(m * n, 7);
            for accumulate in [false, true] {
                let mut got = base.clone();
                matmul_strided(m, k, n, (&a, stride), &b, &mut got, accumulate);
                let want: Vec<f32> = (0..m * n)
                    .map(|e| {
                        let (i, j) = (e / n, e % n);
                        let sum: f64 = (0..k)
                            .map(|p| a[i * stride + p] as f64 * b[p * n + j] as f64)
                            .sum();
                        (sum + if accumulate { base[e] as f64 } else { 0.0 }) as f32
                    })
                    .collect();
                let d = max_rel_diff(&got, &want);
                assert!(
                    d <= TOL_REORDERED_SUMS,
                    "{m}x{k}x{n}/{stride} {accumulate}: {d}"
                );
            }
        }
    }
}
