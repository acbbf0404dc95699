//! ONNX graph → planned `Model` for one input size: the front end that lets the runtime
//! run MODNet (`modnet.onnx`, opset 11, exported from PyTorch) on the same ops and planner
//! as the `.tflite` models. NCHW tensors become NHWC activations; shape arithmetic
//! (`Shape`, `Gather`, `Unsqueeze`, `Concat` of int64, `Reshape`, `Expand` of the
//! squeeze-excite branch) is evaluated here for the fixed input size; MODNet's IBNorm
//! (`Slice → BatchNormalization`, `Slice → InstanceNormalization`, `Concat`) becomes one
//! `IbNorm` op; weights are repacked from OIHW. Operators are read by the ONNX operator
//! spec (https://onnx.ai/onnx/operators/); anything else gives `ModelError::Unsupported`.

use std::collections::HashMap;

use super::error::ModelError;
use super::model::{Model, Recycled, Reuse, Step, fuse_activations, plan};
use super::onnx::{self, Node, Tensor};
use super::ops::{self, Act, Binary, BinaryKind, Hwc, Op, conv2d::ConvGeometry};

type Result<T> = std::result::Result<T, ModelError>;

/// A value during lowering.
#[derive(Debug, Clone)]
enum Val {
    /// A run-time tensor (id), NHWC. `rank2`: its ONNX shape is `[1, C]` (then H = W = 1).
    Act {
        id: usize,
        shape: Hwc,
        rank2: bool,
    },
    F32 {
        dims: Vec<usize>,
        data: Vec<f32>,
    },
    I64 {
        dims: Vec<usize>,
        data: Vec<i64>,
    },
    /// Channels `c0..c1` of an activation, not materialized (the first half of IBNorm).
    Slice {
        id: usize,
        shape: Hwc,
        c0: usize,
        c1: usize,
    },
    /// A batch-normalized channel slice: `x·scale + shift`.
    SliceBn {
        id: usize,
        shape: Hwc,
        c0: usize,
        c1: usize,
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    /// Convolution weights left undecoded: the plan being reused (`Lower::reuse`) brings
    /// them packed.
    Weights {
        dims: Vec<usize>,
    },
    /// An instance-normalized channel slice.
    SliceIn {
        id: usize,
        c0: usize,
        c1: usize,
        gamma: Vec<f32>,
        beta: Vec<f32>,
        eps: f32,
    },
}

struct Lower<'a> {
    vals: HashMap<&'a str, Val>,
    steps: Vec<Step>,
    names: Vec<String>,
    /// A plan of the same graph at another size whose convolutions are taken, in run
    /// order, instead of being built from the weights (`replan_onnx`).
    reuse: Option<Reuse>,
}

fn unsupported(index: usize, node: &Node<'_>, what: impl std::fmt::Display) -> ModelError {
    ModelError::unsupported(format!("ONNX node {index} ({}): {what}", node.op_type))
}

fn dims_of(t: &Tensor<'_>) -> Vec<usize> {
    t.dims.iter().map(|d| *d as usize).collect()
}

fn constant(t: &Tensor<'_>) -> Result<Val> {
    Ok(match t.data_type {
        onnx::FLOAT => Val::F32 {
            dims: dims_of(t),
            data: t.to_f32()?,
        },
        onnx::INT64 => Val::I64 {
            dims: dims_of(t),
            data: t.to_i64()?,
        },
        other => {
            return Err(ModelError::unsupported(format!(
                "constant {:?} has ONNX data type {other} (only FLOAT and INT64 are read)",
                t.name
            )));
        }
    })
}

impl<'a> Lower<'a> {
    fn tensor(&mut self, name: &str) -> usize {
        self.names.push(name.to_string());
        self.names.len() - 1
    }

    fn get(&self, index: usize, node: &Node<'_>, i: usize) -> Result<&Val> {
        let name = node
            .inputs
            .get(i)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| unsupported(index, node, format!("input {i} is missing")))?;
        self.vals
            .get(*name)
            .ok_or_else(|| unsupported(index, node, format!("input {name:?} is not defined")))
    }

    fn act(&self, index: usize, node: &Node<'_>, i: usize) -> Result<(usize, Hwc, bool)> {
        match self.get(index, node, i)? {
            Val::Act { id, shape, rank2 } => Ok((*id, *shape, *rank2)),
            _ => Err(unsupported(
                index,
                node,
                format!("input {i} is not a run-time tensor of a supported kind"),
            )),
        }
    }

    fn f32s(&self, index: usize, node: &Node<'_>, i: usize) -> Result<(&[usize], &[f32])> {
        match self.get(index, node, i)? {
            Val::F32 { dims, data } => Ok((dims, data)),
            _ => Err(unsupported(
                index,
                node,
                format!("input {i} is not a float constant"),
            )),
        }
    }

    /// The dims of weight input `i`, decoded or not (`Val::Weights`).
    fn weight_dims(&self, index: usize, node: &Node<'_>, i: usize) -> Result<Vec<usize>> {
        match self.get(index, node, i)? {
            Val::F32 { dims, .. } | Val::Weights { dims } => Ok(dims.clone()),
            _ => Err(unsupported(
                index,
                node,
                format!("input {i} is not a float constant"),
            )),
        }
    }

    /// The next convolution of the plan being reused, when there is one.
    fn reused_conv(&mut self, index: usize, node: &Node<'_>) -> Option<Result<ops::Conv2d>> {
        let r = self.reuse.as_mut()?;
        Some(r.convs.next().ok_or_else(|| {
            unsupported(index, node, "the plan being reused has fewer convolutions")
        }))
    }

    /// The next depthwise convolution of the plan being reused, when there is one.
    fn reused_depthwise(
        &mut self,
        index: usize,
        node: &Node<'_>,
    ) -> Option<Result<ops::Depthwise>> {
        let r = self.reuse.as_mut()?;
        Some(r.depthwise.next().ok_or_else(|| {
            unsupported(
                index,
                node,
                "the plan being reused has fewer depthwise convolutions",
            )
        }))
    }

    fn i64s(&self, index: usize, node: &Node<'_>, i: usize) -> Result<(&[usize], &[i64])> {
        match self.get(index, node, i)? {
            Val::I64 { dims, data } => Ok((dims, data)),
            _ => Err(unsupported(
                index,
                node,
                format!("input {i} is not an int64 constant"),
            )),
        }
    }

    /// Adds a step writing a new tensor named `out`.
    fn push(&mut self, op: Op, inputs: Vec<usize>, out: &'a str, shape: Hwc, rank2: bool) {
        let id = self.tensor(out);
        self.steps.push(Step {
            op,
            inputs,
            output: id,
            out_len: ops::elems(shape),
        });
        self.vals.insert(out, Val::Act { id, shape, rank2 });
    }

    fn node(&mut self, index: usize, n: &Node<'a>) -> Result<()> {
        let out = *n
            .outputs
            .first()
            .ok_or_else(|| unsupported(index, n, "no output"))?;
        match n.op_type {
            "Constant" => {
                let t = n
                    .attr("value")
                    .and_then(|a| a.t.as_ref())
                    .ok_or_else(|| unsupported(index, n, "no tensor `value`"))?;
                let v = constant(t)?;
                self.vals.insert(out, v);
            }
            "Conv" => self.conv(index, n, out)?,
            "Relu" | "Sigmoid" | "Clip" => {
                let act = match n.op_type {
                    "Relu" => Act::Relu,
                    "Sigmoid" => Act::Logistic,
                    _ => {
                        let bound = |i: usize, attr: &str| -> Result<Option<f32>> {
                            if n.inputs.get(i).is_some_and(|s| !s.is_empty()) {
                                let (_, v) = self.f32s(index, n, i)?;
                                Ok(v.first().copied())
                            } else {
                                Ok(n.attr(attr).and_then(|a| a.f))
                            }
                        };
                        match (bound(1, "min")?, bound(2, "max")?) {
                            (Some(lo), Some(hi)) if lo == 0.0 && hi == 6.0 => Act::Relu6,
                            (Some(0.0), None) => Act::Relu,
                            b => return Err(unsupported(index, n, format!("Clip bounds {b:?}"))),
                        }
                    }
                };
                let (x, shape, rank2) = self.act(index, n, 0)?;
                let s = [1, shape[0], shape[1], shape[2]];
                let op = ops::Unary::new(act, index, &s, &s)?;
                self.push(Op::Unary(op), vec![x], out, shape, rank2);
            }
            "Add" | "Mul" => {
                let kind = if n.op_type == "Add" {
                    BinaryKind::Add
                } else {
                    BinaryKind::Mul
                };
                let (a, sa, _) = self.act(index, n, 0)?;
                let (b, sb, _) = self.act(index, n, 1)?;
                let shape = if ops::elems(sa) >= ops::elems(sb) {
                    sa
                } else {
                    sb
                };
                let four = |s: Hwc| [1, s[0], s[1], s[2]];
                let op = Binary::new(kind, Act::None, index, &four(sa), &four(sb), &four(shape))?;
                self.push(Op::Binary(op), vec![a, b], out, shape, false);
            }
            "Slice" => {
                let (id, shape, _) = self.act(index, n, 0)?;
                let (_, starts) = self.i64s(index, n, 1)?;
                let (_, ends) = self.i64s(index, n, 2)?;
                let axes = if n.inputs.len() > 3 {
                    self.i64s(index, n, 3)?.1.to_vec()
                } else {
                    vec![0]
                };
                let steps = if n.inputs.len() > 4 {
                    self.i64s(index, n, 4)?.1.to_vec()
                } else {
                    vec![1]
                };
                if axes != [1] || steps != [1] || starts.len() != 1 || ends.len() != 1 {
                    return Err(unsupported(
                        index,
                        n,
                        "only channel slices (axis 1, step 1)",
                    ));
                }
                let c = shape[2] as i64;
                let clamp = |v: i64| (if v < 0 { v + c } else { v }).clamp(0, c) as usize;
                let (c0, c1) = (clamp(starts[0]), clamp(ends[0]));
                if c0 >= c1 {
                    return Err(unsupported(index, n, "empty channel slice"));
                }
                self.vals.insert(out, Val::Slice { id, shape, c0, c1 });
            }
            "BatchNormalization" | "InstanceNormalization" => {
                let Val::Slice { id, shape, c0, c1 } = self.get(index, n, 0)?.clone() else {
                    return Err(unsupported(index, n, "only on a channel slice (IBNorm)"));
                };
                let eps = n.attr("epsilon").and_then(|a| a.f).unwrap_or(1e-5);
                let param = |i: usize| -> Result<Vec<f32>> {
                    let (_, v) = self.f32s(index, n, i)?;
                    if v.len() != c1 - c0 {
                        return Err(unsupported(index, n, format!("parameter {i} length")));
                    }
                    Ok(v.to_vec())
                };
                let (gamma, beta) = (param(1)?, param(2)?);
                let v = if n.op_type == "BatchNormalization" {
                    let (mean, var) = (param(3)?, param(4)?);
                    let scale: Vec<f32> = gamma
                        .iter()
                        .zip(&var)
                        .map(|(g, v)| g / (v + eps).sqrt())
                        .collect();
                    let shift = beta
                        .iter()
                        .zip(&mean)
                        .zip(&scale)
                        .map(|((b, m), s)| b - m * s)
                        .collect();
                    Val::SliceBn {
                        id,
                        shape,
                        c0,
                        c1,
                        scale,
                        shift,
                    }
                } else {
                    Val::SliceIn {
                        id,
                        c0,
                        c1,
                        gamma,
                        beta,
                        eps,
                    }
                };
                self.vals.insert(out, v);
            }
            "Concat" => self.concat(index, n, out)?,
            "Resize" | "Upsample" => {
                let (x, shape, _) = self.act(index, n, 0)?;
                let mode = n.attr_str("mode");
                let ctm = n.attr_str("coordinate_transformation_mode");
                if mode != b"linear" || !matches!(ctm, b"pytorch_half_pixel" | b"half_pixel") {
                    return Err(unsupported(
                        index,
                        n,
                        "only linear resize with half-pixel centres",
                    ));
                }
                let si = if n.op_type == "Upsample" { 1 } else { 2 };
                let (_, scales) = self.f32s(index, n, si)?;
                let &[1.0, 1.0, sh, sw] = scales else {
                    return Err(unsupported(index, n, format!("scales {scales:?}")));
                };
                let oh = (shape[0] as f32 * sh).floor() as usize;
                let ow = (shape[1] as f32 * sw).floor() as usize;
                let o = [oh, ow, shape[2]];
                let op = ops::ResizeBilinear::with_scales(index, shape, o, [sh, sw])?;
                self.push(Op::Resize(op), vec![x], out, o, false);
            }
            "GlobalAveragePool" => {
                let (x, shape, _) = self.act(index, n, 0)?;
                let op = ops::Mean::new(index, shape, &[1, 2], &[1, 1, 1, shape[2]])?;
                self.push(Op::Mean(op), vec![x], out, [1, 1, shape[2]], false);
            }
            "Shape" => {
                let (_, s, rank2) = self.act(index, n, 0)?;
                let data: Vec<i64> = if rank2 {
                    vec![1, s[2] as i64]
                } else {
                    vec![1, s[2] as i64, s[0] as i64, s[1] as i64]
                };
                let dims = vec![data.len()];
                self.vals.insert(out, Val::I64 { dims, data });
            }
            "Gather" => {
                let (_, data) = self.i64s(index, n, 0)?;
                let (idims, idx) = self.i64s(index, n, 1)?;
                if n.attr_int("axis", 0) != 0 {
                    return Err(unsupported(index, n, "only axis 0 of a shape"));
                }
                let pick = idx
                    .iter()
                    .map(|i| {
                        let i = if *i < 0 { *i + data.len() as i64 } else { *i };
                        data.get(i as usize).copied()
                    })
                    .collect::<Option<Vec<i64>>>()
                    .ok_or_else(|| unsupported(index, n, "index out of range"))?;
                let dims = idims.to_vec();
                self.vals.insert(out, Val::I64 { dims, data: pick });
            }
            "Unsqueeze" => {
                let (dims, data) = self.i64s(index, n, 0)?;
                let mut dims = dims.to_vec();
                for &a in n.attr_ints("axes") {
                    let a = if a < 0 { a + dims.len() as i64 + 1 } else { a } as usize;
                    if a > dims.len() {
                        return Err(unsupported(index, n, "axis out of range"));
                    }
                    dims.insert(a, 1);
                }
                let data = data.to_vec();
                self.vals.insert(out, Val::I64 { dims, data });
            }
            "Reshape" => {
                let (x, shape, _) = self.act(index, n, 0)?;
                let (_, target) = self.i64s(index, n, 1)?;
                let c = shape[2] as i64;
                let ok = shape[0] == 1
                    && shape[1] == 1
                    && target.first().is_some_and(|d| matches!(d, 0 | 1))
                    && target.iter().skip(1).product::<i64>().abs() == c
                    && target.iter().skip(2).all(|d| *d == 1);
                if !ok {
                    return Err(unsupported(
                        index,
                        n,
                        format!("reshape of {shape:?} to {target:?}"),
                    ));
                }
                let rank2 = target.len() == 2;
                self.vals.insert(
                    out,
                    Val::Act {
                        id: x,
                        shape,
                        rank2,
                    },
                );
            }
            "Expand" => {
                // [1, C, 1, 1] → [1, C, H, W]: left as the per-channel vector that `Mul`
                // broadcasts.
                let (x, shape, rank2) = self.act(index, n, 0)?;
                let (_, target) = self.i64s(index, n, 1)?;
                if rank2
                    || shape[0] != 1
                    || shape[1] != 1
                    || target.get(1) != Some(&(shape[2] as i64))
                {
                    return Err(unsupported(
                        index,
                        n,
                        format!("expand of {shape:?} to {target:?}"),
                    ));
                }
                self.vals.insert(
                    out,
                    Val::Act {
                        id: x,
                        shape,
                        rank2,
                    },
                );
            }
            "MatMul" => {
                let (x, shape, rank2) = self.act(index, n, 0)?;
                let wd = self.weight_dims(index, n, 1)?;
                let &[cin, cout] = wd.as_slice() else {
                    return Err(unsupported(index, n, "weights are not 2-D"));
                };
                if !rank2 || shape[2] != cin {
                    return Err(unsupported(index, n, "only [1, C] × [C, K]"));
                }
                let geo = ConvGeometry {
                    stride: [1, 1],
                    pads: [0; 4],
                };
                let o = [1, 1, cout];
                if let Some(c) = self.reused_conv(index, n) {
                    let op = c?.resized(index, geo, [1, 1], shape, o, Act::None)?;
                    self.push(Op::Conv2d(op), vec![x], out, o, true);
                    return Ok(());
                }
                let (_, w) = self.f32s(index, n, 1)?;
                let mut ohwi = vec![0.0; cin * cout];
                for i in 0..cin {
                    for o in 0..cout {
                        ohwi[o * cin + i] = w[i * cout + o];
                    }
                }
                let op = ops::Conv2d::with_geometry(
                    index,
                    geo,
                    shape,
                    &ohwi,
                    &[cout, 1, 1, cin],
                    None,
                    o,
                    Act::None,
                )?;
                self.push(Op::Conv2d(op), vec![x], out, o, true);
            }
            other => {
                return Err(unsupported(index, n, format!("{other} is not implemented")));
            }
        }
        Ok(())
    }

    fn conv(&mut self, index: usize, n: &Node<'a>, out: &'a str) -> Result<()> {
        let (x, shape, _) = self.act(index, n, 0)?;
        let wd = self.weight_dims(index, n, 1)?;
        let &[cout, cin_g, kh, kw] = wd.as_slice() else {
            return Err(unsupported(index, n, "weights are not OIHW"));
        };
        if n.attr_ints("dilations").iter().any(|d| *d != 1) {
            return Err(unsupported(index, n, "dilated convolution"));
        }
        let strides = n.attr_ints("strides");
        let pads = n.attr_ints("pads");
        let stride = match strides {
            [] => [1, 1],
            [a, b] if *a > 0 && *b > 0 => [*a as usize, *b as usize],
            _ => return Err(unsupported(index, n, "strides")),
        };
        let pads = match pads {
            [] => [0; 4],
            [t, l, b, r] if [t, l, b, r].iter().all(|p| **p >= 0) => {
                [*t as usize, *l as usize, *b as usize, *r as usize]
            }
            _ => return Err(unsupported(index, n, "pads")),
        };
        if !matches!(n.attr_str("auto_pad"), b"" | b"NOTSET") {
            return Err(unsupported(index, n, "auto_pad"));
        }
        let geo = ConvGeometry { stride, pads };
        let o = [
            geo.out_len(shape[0], kh, 0),
            geo.out_len(shape[1], kw, 1),
            cout,
        ];
        let group = n.attr_int("group", 1) as usize;
        let depthwise = group == shape[2] && cin_g == 1 && cout == group;
        if group != 1 && !depthwise {
            return Err(unsupported(index, n, format!("group {group}")));
        }
        let reused = if group == 1 {
            self.reused_conv(index, n).map(|c| {
                Ok(Op::Conv2d(c?.resized(
                    index,
                    geo,
                    [kh, kw],
                    shape,
                    o,
                    Act::None,
                )?))
            })
        } else {
            self.reused_depthwise(index, n).map(|d| {
                Ok(Op::Depthwise(d?.resized(
                    index,
                    geo,
                    [kh, kw],
                    shape,
                    o,
                    Act::None,
                )?))
            })
        };
        if let Some(op) = reused {
            self.push(op?, vec![x], out, o, false);
            return Ok(());
        }
        let (_, w) = self.f32s(index, n, 1)?;
        let bias = if n.inputs.len() > 2 {
            Some(self.f32s(index, n, 2)?.1.to_vec())
        } else {
            None
        };
        let op = if group == 1 {
            let cin = cin_g;
            let mut ohwi = vec![0.0; cout * kh * kw * cin];
            for oc in 0..cout {
                for i in 0..cin {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            ohwi[((oc * kh + ky) * kw + kx) * cin + i] =
                                w[((oc * cin + i) * kh + ky) * kw + kx];
                        }
                    }
                }
            }
            Op::Conv2d(ops::Conv2d::with_geometry(
                index,
                geo,
                shape,
                &ohwi,
                &[cout, kh, kw, cin],
                bias.as_deref(),
                o,
                Act::None,
            )?)
        } else {
            let c = cout;
            let mut hwc = vec![0.0; kh * kw * c];
            for ch in 0..c {
                for k in 0..kh * kw {
                    hwc[k * c + ch] = w[ch * kh * kw + k];
                }
            }
            Op::Depthwise(ops::Depthwise::with_geometry(
                index,
                geo,
                shape,
                &hwc,
                [kh, kw],
                bias.as_deref(),
                o,
                Act::None,
            )?)
        };
        self.push(op, vec![x], out, o, false);
        Ok(())
    }

    fn concat(&mut self, index: usize, n: &Node<'a>, out: &'a str) -> Result<()> {
        let vals: Vec<Val> = (0..n.inputs.len())
            .map(|i| self.get(index, n, i).cloned())
            .collect::<Result<_>>()?;
        if vals.iter().all(|v| matches!(v, Val::I64 { .. })) {
            let mut data = Vec::new();
            for v in &vals {
                if let Val::I64 { data: d, .. } = v {
                    data.extend_from_slice(d);
                }
            }
            let dims = vec![data.len()];
            self.vals.insert(out, Val::I64 { dims, data });
            return Ok(());
        }
        let axis = n.attr_int("axis", 1);
        if axis != 1 && axis != -3 {
            return Err(unsupported(
                index,
                n,
                format!("axis {axis} (only channels)"),
            ));
        }
        if let [
            Val::SliceBn {
                id,
                shape,
                c0: 0,
                c1: k,
                scale,
                shift,
            },
            Val::SliceIn {
                id: id2,
                c0: k2,
                c1,
                gamma,
                beta,
                eps,
                ..
            },
        ] = vals.as_slice()
            && id == id2
            && k == k2
            && *c1 == shape[2]
        {
            let op = ops::IbNorm {
                shape: *shape,
                split: *k,
                bn_scale: scale.clone(),
                bn_shift: shift.clone(),
                in_gamma: gamma.clone(),
                in_beta: beta.clone(),
                in_eps: *eps,
                act: Act::None,
                threads: 1,
            };
            let shape = *shape;
            self.push(Op::IbNorm(op), vec![*id], out, shape, false);
            return Ok(());
        }
        let mut ids = Vec::new();
        let mut shapes = Vec::new();
        for v in &vals {
            let Val::Act {
                id,
                shape,
                rank2: false,
            } = v
            else {
                return Err(unsupported(
                    index,
                    n,
                    "inputs are not run-time NCHW tensors",
                ));
            };
            ids.push(*id);
            shapes.push(*shape);
        }
        let c: usize = shapes.iter().map(|s| s[2]).sum();
        let o = [shapes[0][0], shapes[0][1], c];
        let op = ops::Concat::new(index, &shapes, o)?;
        self.push(Op::Concat(op), ids, out, o, false);
        Ok(())
    }
}

/// Parses an ONNX model and plans it for an NHWC input of `height`×`width`×3. The caller
/// fills `Model::input_mut` in the model's own normalization (MODNet: (x − 127.5)/127.5,
/// RGB). `Err` for malformed bytes, operators or shapes this runtime does not handle.
pub fn load_onnx(bytes: &[u8], height: usize, width: usize) -> Result<Model> {
    lower(bytes, height, width, None)
}

/// As `load_onnx`, for `old`, a plan of the same `bytes` at another size (or this one):
/// its convolutions are carried over with their weights packed (and switched to bf16 or
/// int8) as they are, and its buffers are reused, so only what depends on the input size
/// is planned again. The result is the plan `load_onnx` would give, with `old`'s precision
/// switches and threads, bit for bit in what it computes. `Err` as `load_onnx`, and when
/// `old`'s convolutions do not match the graph's (another model); `old` is gone either way.
pub fn replan_onnx(bytes: &[u8], height: usize, width: usize, old: Model) -> Result<Model> {
    lower(bytes, height, width, Some(old.into_reuse()))
}

fn lower(bytes: &[u8], height: usize, width: usize, reuse: Option<Reuse>) -> Result<Model> {
    let g = onnx::parse(bytes)?;
    // With a plan to reuse, the convolutions' weights (the bulk of the file) are not decoded.
    let skip: std::collections::HashSet<&str> = if reuse.is_some() {
        g.nodes
            .iter()
            .filter(|n| matches!(n.op_type, "Conv" | "MatMul"))
            .filter_map(|n| n.inputs.get(1).copied())
            .collect()
    } else {
        Default::default()
    };
    let mut low = Lower {
        vals: HashMap::new(),
        steps: Vec::new(),
        names: Vec::new(),
        reuse,
    };
    for t in &g.initializers {
        let v = if skip.contains(t.name) && t.data_type == onnx::FLOAT {
            Val::Weights { dims: dims_of(t) }
        } else {
            constant(t)?
        };
        low.vals.insert(t.name, v);
    }
    let inputs: Vec<&str> = g
        .inputs
        .iter()
        .copied()
        .filter(|n| !low.vals.contains_key(n))
        .collect();
    let (&[input], &[output]) = (inputs.as_slice(), g.outputs.as_slice()) else {
        return Err(ModelError::unsupported(format!(
            "{} inputs and {} outputs (expected 1 and 1)",
            inputs.len(),
            g.outputs.len()
        )));
    };
    if height == 0 || width == 0 {
        return Err(ModelError::InputSize {
            what: "ONNX model input height and width",
            expected: 1,
            got: 0,
        });
    }
    let input_hwc = [height, width, 3];
    let input_id = low.tensor(input);
    low.vals.insert(
        input,
        Val::Act {
            id: input_id,
            shape: input_hwc,
            rank2: false,
        },
    );
    for (i, n) in g.nodes.iter().enumerate() {
        low.node(i, n)?;
    }
    let Some(Val::Act {
        id: out_id, shape, ..
    }) = low.vals.get(output).cloned()
    else {
        return Err(ModelError::unsupported(format!(
            "the graph output {output:?} is not computed at run time"
        )));
    };
    let Lower {
        mut steps,
        names,
        reuse,
        ..
    } = low;
    let recycled = match reuse {
        Some(mut r) => {
            if r.convs.next().is_some() || r.depthwise.next().is_some() {
                return Err(ModelError::unsupported(
                    "the plan being reused has more convolutions than the graph",
                ));
            }
            r.buffers
        }
        None => Recycled::default(),
    };
    fuse_activations(&mut steps, out_id);
    plan(
        steps,
        names.len(),
        |t| names[t].clone(),
        input_id,
        input_hwc,
        (out_id, ops::elems(shape)),
        recycled,
    )
}
