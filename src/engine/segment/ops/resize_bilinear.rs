//! RESIZE_BILINEAR with TFLite's coordinate rules (`align_corners`, `half_pixel_centers`).
//! The per-row and per-column source indices and weights are computed once at load.

use super::{Hwc, ModelError};

#[derive(Debug, Clone)]
pub struct ResizeBilinear {
    pub input: Hwc,
    pub output: Hwc,
    ys: Vec<(usize, usize, f32)>,
    xs: Vec<(usize, usize, f32)>,
    /// Threads the output rows split over when the output is large (`split_threads_len`).
    pub threads: usize,
}

/// TFLite's `ComputeInterpolationValues` for every output coordinate along one axis.
pub fn axis_table(
    input: usize,
    output: usize,
    align_corners: bool,
    half_pixel: bool,
) -> Vec<(usize, usize, f32)> {
    let scale = if align_corners && output > 1 {
        (input as f32 - 1.0) / (output as f32 - 1.0)
    } else {
        input as f32 / output as f32
    };
    (0..output)
        .map(|o| {
            let v = if half_pixel {
                (o as f32 + 0.5) * scale - 0.5
            } else {
                o as f32 * scale
            };
            let lo = v.floor().max(0.0) as usize;
            let hi = (v.ceil() as usize).min(input - 1);
            let lo = lo.min(input - 1);
            // TFLite weights by `v - lo` even when v < 0 (lo = hi = 0 then, so it cancels).
            (lo, hi, v - lo as f32)
        })
        .collect()
}

/// ONNX `Resize` (mode `linear`, `pytorch_half_pixel`) along one axis with an explicit
/// scale: source `x = (o + 0.5) / scale − 0.5`, clamped at 0, and 0 when the output has one
/// element (onnx `Resize` operator spec, coordinate_transformation_mode).
pub fn axis_table_scaled(input: usize, output: usize, scale: f32) -> Vec<(usize, usize, f32)> {
    (0..output)
        .map(|o| {
            let v = if output > 1 {
                ((o as f32 + 0.5) / scale - 0.5).max(0.0)
            } else {
                0.0
            };
            let lo = (v.floor() as usize).min(input - 1);
            let hi = (lo + 1).min(input - 1);
            (lo, hi, (v - lo as f32).min(1.0))
        })
        .collect()
}

impl ResizeBilinear {
    /// ONNX-style resize of `input` to `output` (same channels) by `scales` `[h, w]`.
    pub fn with_scales(
        index: usize,
        input: Hwc,
        output: Hwc,
        scales: [f32; 2],
    ) -> Result<Self, ModelError> {
        if input[0] == 0 || input[1] == 0 || output[2] != input[2] {
            return Err(ModelError::Shape {
                op: "RESIZE_BILINEAR",
                index,
                what: "output",
                expected: vec![output[0], output[1], input[2]],
                got: output.to_vec(),
            });
        }
        Ok(ResizeBilinear {
            input,
            output,
            ys: axis_table_scaled(input[0], output[0], scales[0]),
            xs: axis_table_scaled(input[1], output[1], scales[1]),
            threads: 1,
        })
    }

    pub fn new(
        index: usize,
        input: Hwc,
        size: &[i32],
        output: Hwc,
        align_corners: bool,
        half_pixel: bool,
    ) -> Result<Self, ModelError> {
        let want = [
            size.first().copied().unwrap_or(-1),
            size.get(1).copied().unwrap_or(-1),
        ];
        let got = [output[0] as i32, output[1] as i32];
        if size.len() != 2 || want != got || input[0] == 0 || input[1] == 0 || output[2] != input[2]
        {
            return Err(ModelError::Shape {
                op: "RESIZE_BILINEAR",
                index,
                what: "output",
                expected: vec![want[0].max(0) as usize, want[1].max(0) as usize, input[2]],
                got: output.to_vec(),
            });
        }
        Ok(ResizeBilinear {
            input,
            output,
            ys: axis_table(input[0], output[0], align_corners, half_pixel),
            xs: axis_table(input[1], output[1], align_corners, half_pixel),
            threads: 1,
        })
    }

    /// `input` is `input` H×W×C, `out` holds `output` H×W×C floats.
    pub fn eval(&self, input: &[f32], out: &mut [f32]) {
        let [oh, ow, c] = self.output;
        super::split_out_rows(oh, ow * c, self.threads, out, |ys, rows| {
            self.rows(input, &self.ys[ys], rows)
        });
    }

    /// The output rows whose source rows and weights are `ys`, into `out`.
    fn rows(&self, input: &[f32], ys: &[(usize, usize, f32)], out: &mut [f32]) {
        let [_, iw, c] = self.input;
        let ow = self.output[1];
        for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
            let (r0, r1) = (
                &input[y0 * iw * c..][..iw * c],
                &input[y1 * iw * c..][..iw * c],
            );
            let orow = &mut out[oy * ow * c..][..ow * c];
            for (dst, &(x0, x1, fx)) in orow.chunks_exact_mut(c).zip(&self.xs) {
                let (a, b) = (&r0[x0 * c..][..c], &r0[x1 * c..][..c]);
                let (d, e) = (&r1[x0 * c..][..c], &r1[x1 * c..][..c]);
                for i in 0..c {
                    let top = a[i] + (b[i] - a[i]) * fx;
                    let bot = d[i] + (e[i] - d[i]) * fx;
                    dst[i] = top + (bot - top) * fy;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    /// TFLite's reference formula, in f64.
    fn reference(x: &[f32], [ih, iw, c]: Hwc, [oh, ow]: [usize; 2]) -> Vec<f32> {
        let mut out = vec![0.0; oh * ow * c];
        let (sy, sx) = (ih as f64 / oh as f64, iw as f64 / ow as f64);
        for oy in 0..oh {
            let fy = (oy as f64 + 0.5) * sy - 0.5;
            let (y0, y1) = (
                (fy.floor().max(0.0)) as usize,
                (fy.ceil() as usize).min(ih - 1),
            );
            let dy = fy - y0 as f64;
            for ox in 0..ow {
                let fx = (ox as f64 + 0.5) * sx - 0.5;
                let (x0, x1) = (
                    (fx.floor().max(0.0)) as usize,
                    (fx.ceil() as usize).min(iw - 1),
                );
                let dx = fx - x0 as f64;
                for ch in 0..c {
                    let g = |y: usize, xx: usize| x[(y * iw + xx) * c + ch] as f64;
                    out[(oy * ow + ox) * c + ch] = (g(y0, x0) * (1.0 - dy) * (1.0 - dx)
                        + g(y1, x0) * dy * (1.0 - dx)
                        + g(y0, x1) * (1.0 - dy) * dx
                        + g(y1, x1) * dy * dx)
                        as f32;
                }
            }
        }
        out
    }

    #[test]
    fn half_pixel_upsampling_matches_reference() {
        for (input, out_hw) in [
            ([4, 4, 16], [8, 8]),
            ([9, 16, 24], [18, 32]),
            ([5, 3, 2], [7, 11]),
        ] {
            let x = random(super::super::elems(input), 8);
            let r = ResizeBilinear::new(
                0,
                input,
                &[out_hw[0] as i32, out_hw[1] as i32],
                [out_hw[0], out_hw[1], input[2]],
                false,
                true,
            )
            .unwrap();
            let mut got = vec![0.0; out_hw[0] * out_hw[1] * input[2]];
            r.eval(&x, &mut got);
            let d = max_rel_diff(&got, &reference(&x, input, out_hw));
            assert!(d <= TOL_REORDERED_SUMS, "{input:?}: {d}");
        }
    }

    #[test]
    fn size_tensor_must_match_output() {
        assert!(ResizeBilinear::new(0, [4, 4, 2], &[8, 9], [8, 8, 2], false, true).is_err());
        assert!(ResizeBilinear::new(0, [4, 4, 2], &[8], [8, 8, 2], false, true).is_err());
    }
}
