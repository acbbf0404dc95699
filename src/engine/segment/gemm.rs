//! The portable matrix product: `dst (m×n) = lhs (m×k) · rhs (k×n)`, all row-major and
//! dense, for convolutions on CPUs without AVX2+FMA (or channel counts the tiled kernels do
//! not cover). Large products go to the `gemm` crate, forced single-threaded: the pipeline
//! runs one segmenter per stage thread and must not oversubscribe the cores. Tiny ones (the
//! squeeze-excite 1×1 maps) use a plain loop, cheaper than the crate's packing.

/// Below this many rows a plain loop wins over packing.
const SMALL_M: usize = 4;

/// `dst = lhs · rhs`: `lhs` m×k, `rhs` k×n, `dst` m×n, row-major.
pub fn matmul(m: usize, k: usize, n: usize, lhs: &[f32], rhs: &[f32], dst: &mut [f32]) {
    product(m, k, n, lhs, rhs, dst, false);
}

/// `dst += lhs · rhs` (shapes as `matmul`): a product summed over several calls, e.g. a
/// convolution's taps taken a few at a time.
pub fn matmul_add(m: usize, k: usize, n: usize, lhs: &[f32], rhs: &[f32], dst: &mut [f32]) {
    product(m, k, n, lhs, rhs, dst, true);
}

fn product(
    m: usize,
    k: usize,
    n: usize,
    lhs: &[f32],
    rhs: &[f32],
    dst: &mut [f32],
    accumulate: bool,
) {
    let (lhs, rhs, dst) = (&lhs[..m * k], &rhs[..k * n], &mut dst[..m * n]);
    if m < SMALL_M || k == 0 || n == 0 {
        for (row, out) in lhs
            .chunks_exact(k.max(1))
            .zip(dst.chunks_exact_mut(n.max(1)))
        {
            if !accumulate {
                out.fill(0.0);
            }
            for (a, rrow) in row.iter().zip(rhs.chunks_exact(n.max(1))) {
                for (o, b) in out.iter_mut().zip(rrow) {
                    *o += a * b;
                }
            }
        }
        return;
    }
    // SAFETY: the three slices were just cut to exactly m×k, k×n and m×n elements, and the
    // strides below (row stride = columns, column stride = 1) stay inside them; `read_dst` is
    // true only when accumulating into a `dst` the caller filled.
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
            k as isize,
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
            let d = max_rel_diff(&got, &want);
            assert!(d <= TOL_REORDERED_SUMS, "{m}x{k}x{n}: {d}");
        }
    }
}
