//! Load → fix shapes → plan, once: turns a parsed `.tflite` graph into a list of executable
//! steps over a small pool of preallocated buffers. DEQUANTIZE of fp16 constants is folded
//! to f32 weights here; an activation whose input has no other reader is fused into the op
//! that produced it; buffers are assigned by liveness (a buffer is reused once its tensor's
//! last reader ran), so a run touches a few megabytes and allocates nothing.

use super::error::ModelError;
use super::ops::conv2d::ConvParams;
use super::ops::{self, Act, Binary, BinaryKind, Hwc, Op};
use super::tflite::{self, DType, FusedAct, Graph, OpCode, Options};

type Result<T> = std::result::Result<T, ModelError>;

/// Cap on planned activation memory (256 MiB): the real models need under 5 MiB; a damaged
/// file declaring huge tensors gets an error instead of an allocation failure.
const MAX_PLANNED_FLOATS: usize = 1 << 26;

/// What a tensor holds during planning.
#[derive(Debug, Clone)]
enum Value {
    /// Produced at run time (or the graph input).
    Activation,
    F32(Vec<f32>),
    I32(Vec<i32>),
    /// Constant of a type no op here reads.
    Other,
}

#[derive(Debug, Clone)]
pub(super) struct Step {
    pub(super) op: Op,
    /// Tensor ids during planning, buffer slots after.
    pub(super) inputs: Vec<usize>,
    pub(super) output: usize,
    pub(super) out_len: usize,
}

/// Most activation inputs one op reads (CONCATENATION of three tensors in MODNet).
const MAX_OP_INPUTS: usize = 4;

/// What a plan hands to a plan of the same model at another input size
/// (`Model::into_reuse`, `onnx_model::replan_onnx`): its convolutions in run order, with
/// their weights packed and switched as they are, and its buffers, so the new plan neither
/// repacks nor requantises weights nor faults in fresh zeroed pages.
pub(super) struct Reuse {
    pub(super) convs: std::vec::IntoIter<ops::Conv2d>,
    pub(super) depthwise: std::vec::IntoIter<ops::Depthwise>,
    pub(super) buffers: Recycled,
}

/// Buffers a new plan may take instead of allocating (`plan`): any length, any contents
/// (every step writes its output before any step reads it).
#[derive(Debug, Default)]
pub(super) struct Recycled {
    buffers: Vec<Vec<f32>>,
    scratch: Vec<f32>,
}

/// A planned model with its buffers: `run` allocates nothing.
#[derive(Debug, Clone)]
pub struct Model {
    steps: Vec<Step>,
    buffers: Vec<Vec<f32>>,
    scratch: Vec<f32>,
    input_slot: usize,
    input_hwc: Hwc,
    output_slot: usize,
    output_len: usize,
}

fn decode(t: &tflite::TensorDef) -> Result<Value> {
    let Some(data) = &t.data else {
        return Ok(Value::Activation);
    };
    let n: usize = t.shape.iter().product();
    let want = |size: usize| -> Result<()> {
        if data.len() == n * size {
            Ok(())
        } else {
            Err(ModelError::Malformed {
                what: "constant tensor data length",
                offset: data.len(),
            })
        }
    };
    Ok(match t.dtype {
        DType::F32 => {
            want(4)?;
            Value::F32(
                data.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            )
        }
        DType::F16 => {
            want(2)?;
            Value::F32(
                data.chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
            )
        }
        DType::I32 => {
            want(4)?;
            Value::I32(
                data.chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            )
        }
        DType::Other(_) => Value::Other,
    })
}

fn act_of(f: FusedAct) -> Act {
    match f {
        FusedAct::None => Act::None,
        FusedAct::Relu => Act::Relu,
        FusedAct::Relu6 => Act::Relu6,
    }
}

fn op_name(code: &OpCode) -> String {
    match code {
        OpCode::Builtin(c) => format!("builtin operator {c}"),
        OpCode::Custom(s) => format!("custom operator {s:?}"),
    }
}

/// Parses, checks and plans a `.tflite` model. Any malformed, truncated or unsupported input
/// gives `Err`.
pub fn load_model(bytes: &[u8]) -> Result<Model> {
    let g = tflite::parse(bytes)?;
    let mut values: Vec<Value> = g.tensors.iter().map(decode).collect::<Result<_>>()?;
    let (&[input], &[output]) = (g.inputs.as_slice(), g.outputs.as_slice()) else {
        return Err(ModelError::unsupported(format!(
            "{} inputs and {} outputs (expected 1 and 1)",
            g.inputs.len(),
            g.outputs.len()
        )));
    };
    let input_hwc = ops::hwc(&g.tensors[input].shape, "model input", 0, "input")?;
    if g.tensors[input].dtype != DType::F32 || input_hwc[2] != 3 {
        return Err(ModelError::unsupported(
            "model input is not a float32 RGB [1,H,W,3] tensor",
        ));
    }
    values[input] = Value::Activation;

    let mut steps = Vec::new();
    for (index, def) in g.ops.iter().enumerate() {
        if let Some(step) = build_step(&g, &mut values, index, def)? {
            steps.push(step);
        }
    }
    if !matches!(values[output], Value::Activation) {
        return Err(ModelError::unsupported("the model output is a constant"));
    }
    fuse_activations(&mut steps, output);
    let output_len = g.tensors[output].shape.iter().product();
    plan(
        steps,
        g.tensors.len(),
        |t| g.tensors[t].name.clone(),
        input,
        input_hwc,
        (output, output_len),
        Recycled::default(),
    )
}

fn build_step(
    g: &Graph,
    values: &mut [Value],
    index: usize,
    def: &tflite::OpDef,
) -> Result<Option<Step>> {
    let shape = |t: usize| g.tensors[t].shape.as_slice();
    let input = |i: usize| -> Result<usize> {
        def.inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| ModelError::unsupported(format!("operator {index} lacks input {i}")))
    };
    let konst = |t: usize, what: &str| -> Result<&[f32]> {
        match &values[t] {
            // A constant's length must agree with its declared shape, which the ops trust.
            Value::F32(v) if v.len() == shape(t).iter().product::<usize>() => Ok(v),
            _ => Err(ModelError::unsupported(format!(
                "operator {index} ({}): {what} is not a float constant",
                op_name(&def.code)
            ))),
        }
    };
    let activation = |t: usize| -> Result<usize> {
        match values[t] {
            Value::Activation => Ok(t),
            _ => Err(ModelError::unsupported(format!(
                "operator {index} ({}): constant operand where an activation was expected",
                op_name(&def.code)
            ))),
        }
    };
    let &[out] = def.outputs.as_slice() else {
        return Err(ModelError::unsupported(format!(
            "operator {index} has {} outputs",
            def.outputs.len()
        )));
    };
    let hwc = |t: usize, what| ops::hwc(shape(t), "operator", index, what);
    let bad_opts =
        || ModelError::unsupported(format!("operator {index}: options do not match its type"));

    let (op, inputs) = match (&def.code, &def.options) {
        (OpCode::Builtin(tflite::DEQUANTIZE), _) => {
            let src = input(0)?;
            let v = konst(src, "the DEQUANTIZE input")?.to_vec();
            check_len(index, "DEQUANTIZE", v.len(), shape(out))?;
            values[out] = Value::F32(v);
            return Ok(None);
        }
        (
            OpCode::Builtin(code @ (tflite::CONV_2D | tflite::DEPTHWISE_CONV_2D)),
            Options::Conv(o),
        ) => {
            if o.dilation_h != 1 || o.dilation_w != 1 || o.depth_multiplier != 1 {
                return Err(ModelError::unsupported(format!(
                    "operator {index}: dilated or multiplied convolution"
                )));
            }
            let x = activation(input(0)?)?;
            let w = input(1)?;
            let bias = match def.inputs.get(2).copied().flatten() {
                Some(b) => Some(konst(b, "the bias")?),
                None => None,
            };
            let p = ConvParams {
                padding: o.padding,
                stride_h: o.stride_h,
                stride_w: o.stride_w,
                act: act_of(o.act),
            };
            let (xi, oo) = (hwc(x, "input")?, hwc(out, "output")?);
            let wv = konst(w, "the weights")?;
            let op = if *code == tflite::CONV_2D {
                Op::Conv2d(ops::Conv2d::new(index, p, xi, wv, shape(w), bias, oo)?)
            } else {
                Op::Depthwise(ops::Depthwise::new(index, p, xi, wv, shape(w), bias, oo)?)
            };
            (op, vec![x])
        }
        (OpCode::Custom(name), Options::Custom(bytes)) if name == "Convolution2DTransposeBias" => {
            let x = activation(input(0)?)?;
            let (w, b) = (input(1)?, input(2)?);
            let opts = ops::transpose_conv::parse_options(bytes)?;
            let op = ops::TransposeConv::new(
                index,
                opts,
                hwc(x, "input")?,
                konst(w, "the weights")?,
                shape(w),
                konst(b, "the bias")?,
                hwc(out, "output")?,
            )?;
            (Op::TransposeConv(op), vec![x])
        }
        (
            OpCode::Builtin(
                code @ (tflite::RELU | tflite::RELU6 | tflite::HARD_SWISH | tflite::LOGISTIC),
            ),
            _,
        ) => {
            let act = match *code {
                tflite::RELU => Act::Relu,
                tflite::RELU6 => Act::Relu6,
                tflite::HARD_SWISH => Act::HardSwish,
                _ => Act::Logistic,
            };
            let x = activation(input(0)?)?;
            (
                Op::Unary(ops::Unary::new(act, index, shape(x), shape(out))?),
                vec![x],
            )
        }
        (OpCode::Builtin(code @ (tflite::ADD | tflite::MUL)), opts) => {
            let Options::Act(f) = opts else {
                return Err(bad_opts());
            };
            let kind = if *code == tflite::ADD {
                BinaryKind::Add
            } else {
                BinaryKind::Mul
            };
            let (a, b) = (activation(input(0)?)?, activation(input(1)?)?);
            let op = Binary::new(kind, act_of(*f), index, shape(a), shape(b), shape(out))?;
            (Op::Binary(op), vec![a, b])
        }
        (OpCode::Builtin(tflite::AVERAGE_POOL_2D), Options::Pool(o)) => {
            let x = activation(input(0)?)?;
            let op = ops::AvgPool::new(
                index,
                o,
                act_of(o.act),
                hwc(x, "input")?,
                hwc(out, "output")?,
            )?;
            (Op::AvgPool(op), vec![x])
        }
        (OpCode::Builtin(tflite::MEAN), Options::Reducer { .. }) => {
            let x = activation(input(0)?)?;
            let Value::I32(axes) = &values[input(1)?] else {
                return Err(ModelError::unsupported(format!(
                    "operator {index} (MEAN): axes are not an int32 constant"
                )));
            };
            (
                Op::Mean(ops::Mean::new(index, hwc(x, "input")?, axes, shape(out))?),
                vec![x],
            )
        }
        (
            OpCode::Builtin(tflite::RESIZE_BILINEAR),
            Options::Resize {
                align_corners,
                half_pixel_centers,
            },
        ) => {
            let x = activation(input(0)?)?;
            let Value::I32(size) = &values[input(1)?] else {
                return Err(ModelError::unsupported(format!(
                    "operator {index} (RESIZE_BILINEAR): size is not an int32 constant"
                )));
            };
            let op = ops::ResizeBilinear::new(
                index,
                hwc(x, "input")?,
                size,
                hwc(out, "output")?,
                *align_corners,
                *half_pixel_centers,
            )?;
            (Op::Resize(op), vec![x])
        }
        (code, _) => {
            return Err(ModelError::unsupported(format!(
                "operator {index}: {} is not implemented",
                op_name(code)
            )));
        }
    };
    if !matches!(values[out], Value::Activation) {
        return Err(ModelError::unsupported(format!(
            "operator {index} writes a constant tensor"
        )));
    }
    let out_len = shape(out).iter().product();
    Ok(Some(Step {
        op,
        inputs,
        output: out,
        out_len,
    }))
}

fn check_len(index: usize, op: &'static str, len: usize, shape: &[usize]) -> Result<()> {
    if shape.iter().product::<usize>() == len {
        Ok(())
    } else {
        Err(ModelError::Shape {
            op,
            index,
            what: "output",
            expected: vec![len],
            got: shape.to_vec(),
        })
    }
}

/// Merges `producer → activation` pairs when the activation is the producer's only reader.
pub(super) fn fuse_activations(steps: &mut Vec<Step>, graph_output: usize) {
    let mut i = 0;
    while i < steps.len() {
        let Op::Unary(u) = &steps[i].op else {
            i += 1;
            continue;
        };
        let (act, t) = (u.act, steps[i].inputs[0]);
        let readers = steps.iter().filter(|s| s.inputs.contains(&t)).count();
        let producer = steps[..i].iter().position(|s| s.output == t);
        match producer {
            Some(p) if readers == 1 && t != graph_output && steps[p].op.fuse_act(act) => {
                steps[p].output = steps[i].output;
                steps.remove(i);
            }
            _ => i += 1,
        }
    }
}

/// Assigns buffers by liveness: each step's output takes the smallest free buffer that fits
/// (or a new one); inputs are released after the step that reads them last.
/// `n` tensor ids, `name` of a tensor id for errors, `(output id, output length)`.
pub(super) fn plan(
    mut steps: Vec<Step>,
    n: usize,
    name: impl Fn(usize) -> String,
    input: usize,
    input_hwc: Hwc,
    (output, output_len): (usize, usize),
    recycled: Recycled,
) -> Result<Model> {
    let mut last_use = vec![0usize; n];
    for (i, s) in steps.iter().enumerate() {
        for &t in &s.inputs {
            last_use[t] = i;
        }
    }
    let mut slot_of = vec![usize::MAX; n];
    let mut sizes: Vec<usize> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let take = |len: usize, sizes: &mut Vec<usize>, free: &mut Vec<usize>| -> usize {
        let best = free
            .iter()
            .enumerate()
            .filter(|(_, s)| sizes[**s] >= len)
            .min_by_key(|(_, s)| sizes[**s])
            .map(|(i, _)| i)
            .or_else(|| {
                free.iter()
                    .enumerate()
                    .max_by_key(|(_, s)| sizes[**s])
                    .map(|(i, _)| i)
            });
        match best {
            Some(i) => {
                let s = free.swap_remove(i);
                sizes[s] = sizes[s].max(len);
                s
            }
            None => {
                sizes.push(len);
                sizes.len() - 1
            }
        }
    };
    let input_len = ops::elems(input_hwc);
    slot_of[input] = take(input_len, &mut sizes, &mut free);
    for (i, s) in steps.iter_mut().enumerate() {
        for t in s.inputs.iter_mut() {
            if slot_of[*t] == usize::MAX {
                return Err(ModelError::unsupported(format!(
                    "tensor {:?} is read before it is written",
                    name(*t)
                )));
            }
        }
        if slot_of[s.output] != usize::MAX {
            return Err(ModelError::unsupported(format!(
                "tensor {:?} is written twice",
                name(s.output)
            )));
        }
        let out_slot = take(s.out_len, &mut sizes, &mut free);
        slot_of[s.output] = out_slot;
        let mut released = Vec::new();
        for t in s.inputs.iter_mut() {
            let tensor = *t;
            *t = slot_of[tensor];
            if last_use[tensor] == i && tensor != output && !released.contains(&tensor) {
                released.push(tensor);
                free.push(slot_of[tensor]);
            }
        }
        s.output = out_slot;
    }
    if slot_of[output] == usize::MAX {
        return Err(ModelError::unsupported(
            "no operator writes the model output",
        ));
    }
    if steps.iter().map(|s| s.inputs.len()).max().unwrap_or(0) > MAX_OP_INPUTS {
        return Err(ModelError::unsupported(format!(
            "an operator reads more than {MAX_OP_INPUTS} tensors"
        )));
    }
    let scratch_len = steps.iter().map(|s| s.op.scratch_len()).max().unwrap_or(0);
    let floats = sizes.iter().sum::<usize>() + scratch_len;
    if floats > MAX_PLANNED_FLOATS {
        return Err(ModelError::unsupported(format!(
            "the model needs {} MiB of activations (limit {} MiB)",
            (floats * 4) >> 20,
            (MAX_PLANNED_FLOATS * 4) >> 20
        )));
    }
    tracing::debug!(
        steps = steps.len(),
        buffers = sizes.len(),
        floats,
        "segmentation model planned"
    );
    let Recycled {
        buffers: old,
        scratch,
    } = recycled;
    let scratch = if scratch.len() >= scratch_len {
        scratch
    } else {
        vec![0.0; scratch_len]
    };
    Ok(Model {
        buffers: recycle(&sizes, old),
        scratch,
        input_slot: slot_of[input],
        input_hwc,
        output_slot: slot_of[output],
        output_len,
        steps,
    })
}

/// One buffer of at least `sizes[i]` floats per slot: the smallest of `old` that fits
/// (largest slots first), else a new zeroed one. Old buffers nothing fits in are dropped.
fn recycle(sizes: &[usize], mut old: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); sizes.len()];
    for i in order {
        let fit = old
            .iter()
            .enumerate()
            .filter(|(_, b)| b.len() >= sizes[i])
            .min_by_key(|(_, b)| b.len())
            .map(|(j, _)| j);
        out[i] = match fit {
            Some(j) => old.swap_remove(j),
            None => vec![0.0; sizes[i]],
        };
    }
    out
}

impl Model {
    /// Takes the plan apart for a plan of the same model at another input size
    /// (`onnx_model::replan_onnx`).
    pub(super) fn into_reuse(self) -> Reuse {
        let (mut convs, mut depthwise) = (Vec::new(), Vec::new());
        for s in self.steps {
            match s.op {
                Op::Conv2d(c) => convs.push(c),
                Op::Depthwise(d) => depthwise.push(d),
                _ => {}
            }
        }
        Reuse {
            convs: convs.into_iter(),
            depthwise: depthwise.into_iter(),
            buffers: Recycled {
                buffers: self.buffers,
                scratch: self.scratch,
            },
        }
    }

    /// Height, width, channels of the input tensor.
    pub fn input_hwc(&self) -> Hwc {
        self.input_hwc
    }

    /// The input tensor's buffer, to fill in place before `run_loaded`.
    pub fn input_mut(&mut self) -> &mut [f32] {
        let n = ops::elems(self.input_hwc);
        &mut self.buffers[self.input_slot][..n]
    }

    /// Copies `input` (H×W×3) into the model and runs it.
    pub fn run(&mut self, input: &[f32]) -> Result<&[f32]> {
        let n = ops::elems(self.input_hwc);
        if input.len() != n {
            return Err(ModelError::InputSize {
                what: "H×W×3 input tensor",
                expected: n,
                got: input.len(),
            });
        }
        self.input_mut().copy_from_slice(input);
        Ok(self.run_loaded())
    }

    /// Lets every convolution, depthwise convolution, concatenation, resize and IBNorm
    /// split its work over up to `threads` threads (the large ones do: `ops::split_threads`,
    /// `ops::split_threads_len`), growing the scratch buffer to match. The output is the
    /// same bit for bit; only wall time changes.
    pub fn set_threads(&mut self, threads: usize) {
        let threads = threads.max(1);
        for s in &mut self.steps {
            match &mut s.op {
                Op::Conv2d(c) => c.threads = threads,
                Op::Depthwise(d) => d.threads = threads,
                Op::Concat(c) => c.threads = threads,
                Op::Resize(r) => r.threads = threads,
                Op::IbNorm(n) => n.threads = threads,
                _ => {}
            }
        }
        self.fit_scratch();
    }

    /// Grows the scratch buffer to what the largest step needs now.
    fn fit_scratch(&mut self) {
        let need = self
            .steps
            .iter()
            .map(|s| s.op.scratch_len())
            .max()
            .unwrap_or(0);
        if need > self.scratch.len() {
            self.scratch.resize(need, 0.0);
        }
    }

    /// Runs the convolutions `pick(index, count, cin)` chooses in bfloat16 with fp32 sums
    /// (`ops::cpu::conv_to_bf16`: CPUs with AVX-512 BF16 only; every other convolution,
    /// and all of them on other CPUs, stay fp32). `index` counts the model's convolutions
    /// in run order, `count` is how many there are, `cin` is the convolution's input
    /// channels. Returns how many now run in bf16. The output changes (8-bit mantissas):
    /// the caller judges that by its own metrics.
    pub fn set_conv_bf16(&mut self, pick: impl Fn(usize, usize, usize) -> bool) -> usize {
        self.switch_convs(pick, ops::cpu::conv_to_bf16)
    }

    /// Runs the convolutions `pick(index, count, cin)` chooses in int8 (u8 activations
    /// quantised per call from their range, i8 weights per output channel, i32 sums;
    /// `ops::cpu::conv_to_int8`: CPUs with AVX-512 VNNI, or AVX2 with 7-bit weights; every
    /// other convolution, and all of them on other CPUs, stay fp32). Arguments and result
    /// as `set_conv_bf16`. The output changes (8-bit operands): the caller judges that by
    /// its own metrics.
    pub fn set_conv_int8(&mut self, pick: impl Fn(usize, usize, usize) -> bool) -> usize {
        self.switch_convs(pick, ops::cpu::conv_to_int8)
    }

    /// Applies `switch` to the convolutions `pick` chooses; how many it switched.
    fn switch_convs(
        &mut self,
        pick: impl Fn(usize, usize, usize) -> bool,
        switch: fn(&mut ops::Conv2d) -> bool,
    ) -> usize {
        let count = self
            .steps
            .iter()
            .filter(|s| matches!(s.op, Op::Conv2d(_)))
            .count();
        let mut index = 0;
        let mut switched = 0;
        for s in &mut self.steps {
            if let Op::Conv2d(c) = &mut s.op {
                if pick(index, count, c.input[2]) && switch(c) {
                    switched += 1;
                }
                index += 1;
            }
        }
        // The int8 kernel quantises its input into the scratch buffer.
        self.fit_scratch();
        switched
    }

    /// Runs on whatever `input_mut` holds; returns the output tensor.
    pub fn run_loaded(&mut self) -> &[f32] {
        for s in &self.steps {
            // The planner never gives a step's output the buffer of one of its inputs, so
            // taking the output Vec out leaves the inputs borrowable.
            let mut out = std::mem::take(&mut self.buffers[s.output]);
            {
                let mut ins: [&[f32]; MAX_OP_INPUTS] = [&[]; MAX_OP_INPUTS];
                for (slot, &b) in ins.iter_mut().zip(&s.inputs) {
                    *slot = &self.buffers[b];
                }
                s.op.eval(
                    &ins[..s.inputs.len()],
                    &mut out[..s.out_len],
                    &mut self.scratch,
                );
            }
            self.buffers[s.output] = out;
        }
        &self.buffers[self.output_slot][..self.output_len]
    }

    /// Runs every step `iters` times on the loaded input and returns, per step, its name,
    /// output length and fastest time in nanoseconds (the minimum resists other load on the
    /// machine; for finding the slow ops, benches print it).
    #[doc(hidden)]
    pub fn profile(&mut self, iters: usize) -> Vec<(&'static str, usize, f64)> {
        let mut times = vec![f64::MAX; self.steps.len()];
        for _ in 0..iters.max(1) {
            for (i, s) in self.steps.iter().enumerate() {
                let t = std::time::Instant::now();
                let mut out = std::mem::take(&mut self.buffers[s.output]);
                {
                    let mut ins: [&[f32]; MAX_OP_INPUTS] = [&[]; MAX_OP_INPUTS];
                    for (slot, &b) in ins.iter_mut().zip(&s.inputs) {
                        *slot = &self.buffers[b];
                    }
                    s.op.eval(
                        &ins[..s.inputs.len()],
                        &mut out[..s.out_len],
                        &mut self.scratch,
                    );
                }
                self.buffers[s.output] = out;
                times[i] = times[i].min(t.elapsed().as_nanos() as f64);
            }
        }
        self.steps
            .iter()
            .zip(times)
            .map(|(s, t)| (s.op.name(), s.out_len, t))
            .collect()
    }

    /// One line per step (name, shapes, kernel), in execution order, for profiles.
    #[doc(hidden)]
    pub fn describe_steps(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| format!("{} {}", s.op.name(), s.op.describe()))
            .collect()
    }

    /// Op names in execution order (for diagnostics and tests).
    pub fn op_names(&self) -> Vec<&'static str> {
        self.steps.iter().map(|s| s.op.name()).collect()
    }
}
