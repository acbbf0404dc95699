//! AVERAGE_POOL_2D with TFLite semantics: SAME padding averages only the cells inside the
//! image. In this model every pool is global (squeeze-excite), a per-channel mean.

use super::{Act, Hwc, LANES, ModelError, check, out_and_pad};
use crate::engine::segment::tflite::PoolOpts;

#[derive(Debug, Clone)]
pub struct AvgPool {
    pub input: Hwc,
    pub output: Hwc,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub act: Act,
}

impl AvgPool {
    pub fn new(
        index: usize,
        o: &PoolOpts,
        act: Act,
        input: Hwc,
        output: Hwc,
    ) -> Result<Self, ModelError> {
        let (oh, pad_top) = out_and_pad(o.padding, input[0], o.filter_h, o.stride_h);
        let (ow, pad_left) = out_and_pad(o.padding, input[1], o.filter_w, o.stride_w);
        check(
            "AVERAGE_POOL_2D",
            index,
            "output",
            &[oh, ow, input[2]],
            &output,
        )?;
        Ok(AvgPool {
            input,
            output,
            kh: o.filter_h,
            kw: o.filter_w,
            stride_h: o.stride_h,
            stride_w: o.stride_w,
            pad_top,
            pad_left,
            act,
        })
    }

    pub fn eval(&self, input: &[f32], out: &mut [f32]) {
        let [ih, iw, c] = self.input;
        let [oh, ow, _] = self.output;
        for oy in 0..oh {
            let y0 = (oy * self.stride_h) as isize - self.pad_top as isize;
            let (ya, yb) = (
                y0.max(0) as usize,
                ((y0 + self.kh as isize).max(0) as usize).min(ih),
            );
            for ox in 0..ow {
                let x0 = (ox * self.stride_w) as isize - self.pad_left as isize;
                let (xa, xb) = (
                    x0.max(0) as usize,
                    ((x0 + self.kw as isize).max(0) as usize).min(iw),
                );
                let acc = &mut out[(oy * ow + ox) * c..][..c];
                acc.fill(0.0);
                for y in ya..yb {
                    sum_pixels(&input[(y * iw + xa) * c..(y * iw + xb.max(xa)) * c], acc);
                }
                let n = (yb.saturating_sub(ya) * xb.saturating_sub(xa)).max(1) as f32;
                acc.iter_mut().for_each(|a| *a /= n);
                self.act.apply(acc);
            }
        }
    }
}

/// `acc[ch] += Σ pixels[i·c + ch]` over the NHWC run `pixels` (`c = acc.len()`). Channel
/// blocks of LANES keep the running sums in registers.
pub fn sum_pixels(pixels: &[f32], acc: &mut [f32]) {
    let c = acc.len();
    if c == 0 {
        return;
    }
    let blocks = c / LANES;
    for b in 0..blocks {
        let mut sum = [0f32; LANES];
        for px in pixels.chunks_exact(c) {
            let v: &[f32; LANES] = px[b * LANES..][..LANES].try_into().expect("LANES floats");
            for l in 0..LANES {
                sum[l] += v[l];
            }
        }
        for (a, s) in acc[b * LANES..][..LANES].iter_mut().zip(sum) {
            *a += s;
        }
    }
    for px in pixels.chunks_exact(c) {
        for (a, v) in acc[blocks * LANES..].iter_mut().zip(&px[blocks * LANES..]) {
            *a += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::engine::segment::tflite::{FusedAct, Padding};

    fn opts(padding: Padding, k: usize, s: usize) -> PoolOpts {
        PoolOpts {
            padding,
            stride_w: s,
            stride_h: s,
            filter_w: k,
            filter_h: k,
            act: FusedAct::None,
        }
    }

    #[test]
    fn global_pool_is_channel_mean() {
        let (h, w, c) = (16, 16, 24);
        let x = random(h * w * c, 9);
        let p = AvgPool::new(
            0,
            &opts(Padding::Valid, 16, 16),
            Act::None,
            [h, w, c],
            [1, 1, c],
        )
        .unwrap();
        let mut out = vec![0.0; c];
        p.eval(&x, &mut out);
        let want: Vec<f32> = (0..c)
            .map(|ch| {
                ((0..h * w).map(|i| x[i * c + ch] as f64).sum::<f64>() / (h * w) as f64) as f32
            })
            .collect();
        assert!(max_rel_diff(&out, &want) <= TOL_REORDERED_SUMS);
    }

    #[test]
    fn same_padding_averages_inside_cells_only() {
        // 3×3 image, one channel, 2×2 window stride 2 SAME -> 2×2 output.
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let p = AvgPool::new(
            0,
            &opts(Padding::Same, 2, 2),
            Act::None,
            [3, 3, 1],
            [2, 2, 1],
        )
        .unwrap();
        let mut out = vec![0.0; 4];
        p.eval(&x, &mut out);
        assert_eq!(out, vec![3.0, 4.5, 7.5, 9.0]);
    }
}
