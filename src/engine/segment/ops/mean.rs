//! MEAN over the spatial axes (1, 2) of an NHWC tensor, the landscape model's global pool.
//! Other axis sets are rejected at load. Sums in f32 per channel, then divides, as TFLite's
//! float kernel does.

use super::{Hwc, ModelError};

#[derive(Debug, Clone)]
pub struct Mean {
    pub input: Hwc,
}

impl Mean {
    pub fn new(
        index: usize,
        input: Hwc,
        axes: &[i32],
        output: &[usize],
    ) -> Result<Self, ModelError> {
        let mut ax: Vec<i32> = axes
            .iter()
            .map(|a| if *a < 0 { a + 4 } else { *a })
            .collect();
        ax.sort_unstable();
        if ax != [1, 2] {
            return Err(ModelError::unsupported(format!(
                "operator {index} (MEAN) over axes {axes:?}; only the spatial axes [1, 2] are supported"
            )));
        }
        let c = input[2];
        if output != [1, 1, 1, c] && output != [1, c] {
            return Err(ModelError::Shape {
                op: "MEAN",
                index,
                what: "output",
                expected: vec![1, 1, 1, c],
                got: output.to_vec(),
            });
        }
        Ok(Mean { input })
    }

    pub fn eval(&self, input: &[f32], out: &mut [f32]) {
        let [h, w, c] = self.input;
        let acc = &mut out[..c];
        acc.fill(0.0);
        super::avg_pool::sum_pixels(&input[..h * w * c], acc);
        let n = (h * w).max(1) as f32;
        acc.iter_mut().for_each(|a| *a /= n);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn spatial_mean_and_axis_checks() {
        let (h, w, c) = (9, 16, 16);
        let x = random(h * w * c, 4);
        let m = Mean::new(0, [h, w, c], &[2, 1], &[1, 1, 1, c]).unwrap();
        let mut out = vec![0.0; c];
        m.eval(&x, &mut out);
        let want: Vec<f32> = (0..c)
            .map(|ch| {
                ((0..h * w).map(|i| x[i * c + ch] as f64).sum::<f64>() / (h * w) as f64) as f32
            })
            .collect();
        assert!(max_rel_diff(&out, &want) <= TOL_REORDERED_SUMS);
        assert!(Mean::new(0, [h, w, c], &[3], &[1, h, w, 1]).is_err());
        assert!(Mean::new(0, [h, w, c], &[1, 2], &[1, 1, 1, c + 1]).is_err());
    }
}
