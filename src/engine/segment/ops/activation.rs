//! Element-wise activations (RELU, RELU6, HARD_SWISH, LOGISTIC): the `Act` other ops fuse,
//! and the standalone `Unary` op for when no producer can absorb one.

use super::{ModelError, check, madd, simd_dispatch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    None,
    Relu,
    Relu6,
    HardSwish,
    Logistic,
}

impl Act {
    pub fn name(self) -> &'static str {
        match self {
            Act::None => "IDENTITY",
            Act::Relu => "RELU",
            Act::Relu6 => "RELU6",
            Act::HardSwish => "HARD_SWISH",
            Act::Logistic => "LOGISTIC",
        }
    }

    /// Applies the activation in place over a slice (vectorized).
    pub fn apply(self, data: &mut [f32]) {
        if super::cpu::act_apply(self, data) {
            return;
        }
        match self {
            Act::None => {}
            Act::Relu => data.iter_mut().for_each(|v| *v = v.max(0.0)),
            Act::Relu6 => data.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
            Act::HardSwish => data.iter_mut().for_each(|v| *v = hard_swish(*v)),
            Act::Logistic => logistic_slice(data),
        }
    }

    /// Adds `bias` (one value per channel, `data.len()` a multiple of it) then applies the
    /// activation: the epilogue of the GEMM convolutions, one pass over the output.
    pub fn bias_apply(self, data: &mut [f32], bias: &[f32]) {
        if super::cpu::bias_act(data, bias, self) {
            return;
        }
        bias_act(data, bias, self)
    }
}

#[inline(always)]
pub fn hard_swish(x: f32) -> f32 {
    x * (x + 3.0).clamp(0.0, 6.0) * (1.0 / 6.0)
}

/// `exp(x)` for f32 with a degree-6 polynomial after range reduction (Cephes `expf`), about
/// 1 ulp on [-87, 88]; written branch-free so the loops calling it vectorize.
#[inline(always)]
fn exp_poly<const FMA: bool>(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = madd::<FMA>(n, -0.693_359_4, x);
    let r = madd::<FMA>(n, 2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4_f32;
    p = madd::<FMA>(p, r, 1.398_199_9e-3);
    p = madd::<FMA>(p, r, 8.333_452e-3);
    p = madd::<FMA>(p, r, 4.166_579_6e-2);
    p = madd::<FMA>(p, r, 1.666_666_5e-1);
    p = madd::<FMA>(p, r, 0.5);
    let y = madd::<FMA>(p, r * r, r) + 1.0;
    // 2^n by building the exponent bits; n is in [-126, 127] after the clamp.
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    y * scale
}

#[inline(always)]
fn logistic_kernel<const FMA: bool>(data: &mut [f32]) {
    for v in data.iter_mut() {
        *v = 1.0 / (1.0 + exp_poly::<FMA>(-*v));
    }
}
simd_dispatch!(fn logistic_slice(data: &mut [f32]) => logistic_kernel);

#[inline(always)]
fn bias_act_kernel<const FMA: bool>(data: &mut [f32], bias: &[f32], act: Act) {
    let c = bias.len();
    if c == 0 {
        return;
    }
    macro_rules! each {
        ($f:expr) => {
            for px in data.chunks_exact_mut(c) {
                for (v, b) in px.iter_mut().zip(bias) {
                    *v = $f(*v + b);
                }
            }
        };
    }
    match act {
        Act::None => each!(|v: f32| v),
        Act::Relu => each!(|v: f32| v.max(0.0)),
        Act::Relu6 => each!(|v: f32| v.clamp(0.0, 6.0)),
        Act::HardSwish => each!(hard_swish),
        Act::Logistic => each!(|v: f32| 1.0 / (1.0 + exp_poly::<FMA>(-v))),
    }
}
simd_dispatch!(fn bias_act(data: &mut [f32], bias: &[f32], act: Act) => bias_act_kernel);

/// A standalone activation op.
#[derive(Debug, Clone)]
pub struct Unary {
    pub act: Act,
    pub len: usize,
}

impl Unary {
    pub fn new(
        act: Act,
        index: usize,
        input: &[usize],
        output: &[usize],
    ) -> Result<Self, ModelError> {
        check(act.name(), index, "output", input, output)?;
        Ok(Unary {
            act,
            len: input.iter().product(),
        })
    }

    pub fn eval(&self, input: &[f32], out: &mut [f32]) {
        out.copy_from_slice(&input[..self.len]);
        self.act.apply(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn reference(act: Act, x: f32) -> f32 {
        let x = x as f64;
        (match act {
            Act::None => x,
            Act::Relu => x.max(0.0),
            Act::Relu6 => x.clamp(0.0, 6.0),
            Act::HardSwish => x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
            Act::Logistic => 1.0 / (1.0 + (-x).exp()),
        }) as f32
    }

    #[test]
    fn activations_match_reference() {
        let mut xs = random(4099, 3);
        xs.iter_mut().for_each(|v| *v *= 12.0);
        xs.extend_from_slice(&[-100.0, -87.5, 0.0, 88.5, 100.0, -3.0, 3.0]);
        for act in [
            Act::None,
            Act::Relu,
            Act::Relu6,
            Act::HardSwish,
            Act::Logistic,
        ] {
            let mut got = xs.clone();
            act.apply(&mut got);
            let want: Vec<f32> = xs.iter().map(|x| reference(act, *x)).collect();
            let tol = if act == Act::Logistic {
                TOL_APPROX_EXP
            } else {
                1e-6
            };
            let d = max_rel_diff(&got, &want);
            assert!(d <= tol, "{act:?}: max diff {d} > {tol}");
        }
    }

    #[test]
    fn bias_then_act_matches_reference() {
        let c = 24;
        let xs = random(c * 37, 5);
        let bias = random(c, 6);
        for act in [Act::Relu, Act::HardSwish, Act::Logistic] {
            let mut got = xs.clone();
            act.bias_apply(&mut got, &bias);
            let want: Vec<f32> = xs
                .iter()
                .enumerate()
                .map(|(i, x)| reference(act, x + bias[i % c]))
                .collect();
            let d = max_rel_diff(&got, &want);
            assert!(d <= TOL_APPROX_EXP, "{act:?}: max diff {d}");
        }
    }
}
