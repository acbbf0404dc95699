//! ADD and MUL with NHWC broadcasting: equal shapes (residual adds), one operand a per-channel
//! vector `[1,1,1,C]` (squeeze-excite scaling) or a scalar, plus the fused activation.

use super::{Act, ModelError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryKind {
    Add,
    Mul,
}

impl BinaryKind {
    pub fn name(self) -> &'static str {
        match self {
            BinaryKind::Add => "ADD",
            BinaryKind::Mul => "MUL",
        }
    }

    #[inline(always)]
    fn f(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryKind::Add => a + b,
            BinaryKind::Mul => a * b,
        }
    }
}

/// How the second operand lines up with the first (after swapping so the first is larger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Same,
    /// The small operand repeats every `period` values (channel vector or scalar).
    Repeat {
        period: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Binary {
    pub kind: BinaryKind,
    pub act: Act,
    layout: Layout,
    /// True when operand 0 is the small one (both ops commute, so it is swapped at eval).
    swapped: bool,
    len: usize,
}

fn padded4(s: &[usize]) -> Option<[usize; 4]> {
    if s.len() > 4 {
        return None;
    }
    let mut out = [1; 4];
    out[4 - s.len()..].copy_from_slice(s);
    Some(out)
}

impl Binary {
    pub fn new(
        kind: BinaryKind,
        act: Act,
        index: usize,
        a: &[usize],
        b: &[usize],
        output: &[usize],
    ) -> Result<Self, ModelError> {
        let shape_err = |expected: &[usize], got: &[usize], what| ModelError::Shape {
            op: kind.name(),
            index,
            what,
            expected: expected.to_vec(),
            got: got.to_vec(),
        };
        let (pa, pb) = match (padded4(a), padded4(b)) {
            (Some(x), Some(y)) => (x, y),
            _ => return Err(shape_err(a, b, "operands (rank > 4)")),
        };
        let (big, small, swapped) = if pa.iter().product::<usize>() >= pb.iter().product::<usize>()
        {
            (pa, pb, false)
        } else {
            (pb, pa, true)
        };
        let len: usize = big.iter().product();
        let layout = if big == small {
            Layout::Same
        } else if small.iter().product::<usize>() == 1 {
            Layout::Repeat { period: 1 }
        } else if small[..3] == [1, 1, 1] && small[3] == big[3] {
            Layout::Repeat { period: big[3] }
        } else {
            return Err(shape_err(&big, &small, "broadcast operand"));
        };
        let out4 = padded4(output).ok_or_else(|| shape_err(&big, output, "output"))?;
        if out4 != big {
            return Err(shape_err(&big, &out4, "output"));
        }
        Ok(Binary {
            kind,
            act,
            layout,
            swapped,
            len,
        })
    }

    pub fn eval(&self, a: &[f32], b: &[f32], out: &mut [f32]) {
        let (big, small) = if self.swapped { (b, a) } else { (a, b) };
        let out = &mut out[..self.len];
        let big = &big[..self.len];
        let k = self.kind;
        match self.layout {
            Layout::Same => {
                for ((o, x), y) in out.iter_mut().zip(big).zip(&small[..self.len]) {
                    *o = k.f(*x, *y);
                }
            }
            Layout::Repeat { period } => {
                let small = &small[..period];
                for (o, x) in out.chunks_exact_mut(period).zip(big.chunks_exact(period)) {
                    for ((o, x), y) in o.iter_mut().zip(x).zip(small) {
                        *o = k.f(*x, *y);
                    }
                }
            }
        }
        self.act.apply(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn broadcasts_like_numpy() {
        let a = random(2 * 3 * 4, 1);
        let v = random(4, 2);
        for kind in [BinaryKind::Add, BinaryKind::Mul] {
            let op = Binary::new(
                kind,
                Act::None,
                0,
                &[1, 2, 3, 4],
                &[1, 1, 1, 4],
                &[1, 2, 3, 4],
            )
            .unwrap();
            let mut out = vec![0.0; 24];
            op.eval(&a, &v, &mut out);
            let want: Vec<f32> = a
                .iter()
                .enumerate()
                .map(|(i, x)| kind.f(*x, v[i % 4]))
                .collect();
            assert_eq!(out, want);
            // Swapped operands give the same result (both ops commute).
            let op = Binary::new(
                kind,
                Act::None,
                0,
                &[1, 1, 1, 4],
                &[1, 2, 3, 4],
                &[1, 2, 3, 4],
            )
            .unwrap();
            op.eval(&v, &a, &mut out);
            assert_eq!(out, want);
        }
        let b = random(24, 3);
        let op = Binary::new(
            BinaryKind::Add,
            Act::Relu,
            0,
            &[1, 2, 3, 4],
            &[1, 2, 3, 4],
            &[1, 2, 3, 4],
        )
        .unwrap();
        let mut out = vec![0.0; 24];
        op.eval(&a, &b, &mut out);
        let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| (x + y).max(0.0)).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn incompatible_shapes_are_typed_errors() {
        let e = Binary::new(
            BinaryKind::Add,
            Act::None,
            3,
            &[1, 2, 3, 4],
            &[1, 2, 1, 4],
            &[1, 2, 3, 4],
        );
        assert!(matches!(
            e,
            Err(ModelError::Shape {
                op: "ADD",
                index: 3,
                ..
            })
        ));
        let e = Binary::new(
            BinaryKind::Mul,
            Act::None,
            4,
            &[1, 2, 3, 4],
            &[1, 2, 3, 4],
            &[1, 2, 3, 5],
        );
        assert!(matches!(
            e,
            Err(ModelError::Shape {
                op: "MUL",
                what: "output",
                ..
            })
        ));
    }
}
