//! CONCATENATION along channels of NHWC tensors with the same height and width (ONNX
//! `Concat` on axis 1 of NCHW), plus a fused activation (MODNet's `Concat → Relu`).

use super::{Act, Hwc, ModelError, check};

#[derive(Debug, Clone)]
pub struct Concat {
    /// Channels of each input, in order.
    pub channels: Vec<usize>,
    pub output: Hwc,
    pub act: Act,
    /// Threads the output rows split over when the output is large (`split_threads_len`).
    pub threads: usize,
}

impl Concat {
    pub fn new(index: usize, inputs: &[Hwc], output: Hwc) -> Result<Self, ModelError> {
        const OP: &str = "CONCATENATION";
        let total: usize = inputs.iter().map(|s| s[2]).sum();
        for s in inputs {
            check(OP, index, "input", &[output[0], output[1]], &s[..2])?;
        }
        check(OP, index, "output", &[output[0], output[1], total], &output)?;
        Ok(Concat {
            channels: inputs.iter().map(|s| s[2]).collect(),
            output,
            act: Act::None,
            threads: 1,
        })
    }

    /// `inputs` are H×W×`channels[i]`, `out` holds `output` H×W×C floats.
    pub fn eval(&self, inputs: &[&[f32]], out: &mut [f32]) {
        let [h, w, c] = self.output;
        super::split_out_rows(h, w * c, self.threads, out, |ys, rows| {
            let p0 = ys.start * w;
            for (p, dst) in rows.chunks_exact_mut(c).enumerate() {
                let p = p0 + p;
                let mut at = 0;
                for (x, &ci) in inputs.iter().zip(&self.channels) {
                    dst[at..at + ci].copy_from_slice(&x[p * ci..(p + 1) * ci]);
                    at += ci;
                }
            }
            // On the rows just written, while they are in cache.
            self.act.apply(rows);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaves_channels_per_pixel() {
        let a = [1.0, 2.0, 3.0, 4.0]; // 2 px × 2 ch
        let b = [-5.0, -6.0]; // 2 px × 1 ch
        let op = Concat::new(0, &[[1, 2, 2], [1, 2, 1]], [1, 2, 3]).unwrap();
        let mut out = [0.0; 6];
        op.eval(&[&a, &b], &mut out);
        assert_eq!(out, [1.0, 2.0, -5.0, 3.0, 4.0, -6.0]);
        assert!(Concat::new(0, &[[1, 2, 2], [2, 1, 1]], [1, 2, 3]).is_err());
    }
}
