//! The few tables of the TFLite schema this runtime needs (Model, SubGraph, Tensor, Buffer,
//! Operator, OperatorCode and the builtin options of the supported ops), read through the
//! checked reader into owned values. Field slots follow `tensorflow/lite/schema/schema.fbs`.

use super::error::ModelError;
use super::flatbuf::Table;

type Result<T> = std::result::Result<T, ModelError>;

// BuiltinOperator codes used by the selfie-segmentation models.
pub const ADD: i32 = 0;
pub const AVERAGE_POOL_2D: i32 = 1;
pub const CONV_2D: i32 = 3;
pub const DEPTHWISE_CONV_2D: i32 = 4;
pub const DEQUANTIZE: i32 = 6;
pub const LOGISTIC: i32 = 14;
pub const MUL: i32 = 18;
pub const RELU: i32 = 19;
pub const RELU6: i32 = 21;
pub const RESIZE_BILINEAR: i32 = 23;
pub const CUSTOM: i32 = 32;
pub const MEAN: i32 = 40;
pub const HARD_SWISH: i32 = 117;

/// Element types of tensors (TensorType enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    I32,
    Other(u8),
}

impl DType {
    fn from_code(c: u8) -> Self {
        match c {
            0 => DType::F32,
            1 => DType::F16,
            2 => DType::I32,
            o => DType::Other(o),
        }
    }
}

/// TFLite padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Padding {
    Same,
    Valid,
}

/// A fused activation of a builtin op (ActivationFunctionType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FusedAct {
    None,
    Relu,
    Relu6,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TensorDef {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    /// Constant data, when the tensor's buffer holds some.
    pub data: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvOpts {
    pub padding: Padding,
    pub stride_w: usize,
    pub stride_h: usize,
    pub act: FusedAct,
    pub dilation_w: usize,
    pub dilation_h: usize,
    pub depth_multiplier: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOpts {
    pub padding: Padding,
    pub stride_w: usize,
    pub stride_h: usize,
    pub filter_w: usize,
    pub filter_h: usize,
    pub act: FusedAct,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Options {
    None,
    Conv(ConvOpts),
    Pool(PoolOpts),
    /// ADD / MUL.
    Act(FusedAct),
    Resize {
        align_corners: bool,
        half_pixel_centers: bool,
    },
    Reducer {
        keep_dims: bool,
    },
    Custom(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum OpCode {
    Builtin(i32),
    Custom(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpDef {
    pub code: OpCode,
    /// Tensor indices; `None` for an omitted optional input (-1).
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
    pub options: Options,
}

/// The one subgraph of a model, with owned tensors and operators.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub tensors: Vec<TensorDef>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    pub ops: Vec<OpDef>,
}

/// Largest tensor accepted (elements); bounds the memory a hostile file can make us reserve.
const MAX_ELEMS: usize = 1 << 26;

fn positive(v: i32, what: &'static str) -> Result<usize> {
    if v <= 0 || v > 1 << 16 {
        return Err(ModelError::unsupported(format!("{what} = {v}")));
    }
    Ok(v as usize)
}

fn padding(code: u8) -> Result<Padding> {
    match code {
        0 => Ok(Padding::Same),
        1 => Ok(Padding::Valid),
        o => Err(ModelError::unsupported(format!("padding code {o}"))),
    }
}

fn fused(code: u8) -> Result<FusedAct> {
    match code {
        0 => Ok(FusedAct::None),
        1 => Ok(FusedAct::Relu),
        3 => Ok(FusedAct::Relu6),
        o => Err(ModelError::unsupported(format!(
            "fused activation code {o}"
        ))),
    }
}

fn conv_opts(t: Option<Table<'_>>, depthwise: bool) -> Result<ConvOpts> {
    let t = t.ok_or_else(|| ModelError::unsupported("convolution without options"))?;
    const W: &str = "convolution options";
    // Depthwise has `depth_multiplier` at slot 3, shifting the later fields by one.
    let (act_slot, dil_w, dil_h) = if depthwise { (4, 5, 6) } else { (3, 4, 5) };
    Ok(ConvOpts {
        padding: padding(t.u8(0, 0, W)?)?,
        stride_w: positive(t.i32(1, 0, W)?, "stride_w")?,
        stride_h: positive(t.i32(2, 0, W)?, "stride_h")?,
        depth_multiplier: if depthwise {
            positive(t.i32(3, 1, W)?, "depth_multiplier")?
        } else {
            1
        },
        act: fused(t.u8(act_slot, 0, W)?)?,
        dilation_w: positive(t.i32(dil_w, 1, W)?, "dilation_w")?,
        dilation_h: positive(t.i32(dil_h, 1, W)?, "dilation_h")?,
    })
}

fn pool_opts(t: Option<Table<'_>>) -> Result<PoolOpts> {
    let t = t.ok_or_else(|| ModelError::unsupported("pooling without options"))?;
    const W: &str = "pool options";
    Ok(PoolOpts {
        padding: padding(t.u8(0, 0, W)?)?,
        stride_w: positive(t.i32(1, 0, W)?, "stride_w")?,
        stride_h: positive(t.i32(2, 0, W)?, "stride_h")?,
        filter_w: positive(t.i32(3, 0, W)?, "filter_width")?,
        filter_h: positive(t.i32(4, 0, W)?, "filter_height")?,
        act: fused(t.u8(5, 0, W)?)?,
    })
}

fn options(code: &OpCode, op: &Table<'_>) -> Result<Options> {
    const W: &str = "operator options";
    let opts = op.table(4, W)?;
    let code = match code {
        OpCode::Custom(_) => {
            return Ok(Options::Custom(
                op.bytes(5, "custom options")?.unwrap_or_default().to_vec(),
            ));
        }
        OpCode::Builtin(c) => *c,
    };
    Ok(match code {
        CONV_2D => Options::Conv(conv_opts(opts, false)?),
        DEPTHWISE_CONV_2D => Options::Conv(conv_opts(opts, true)?),
        AVERAGE_POOL_2D => Options::Pool(pool_opts(opts)?),
        ADD | MUL => Options::Act(match opts {
            Some(t) => fused(t.u8(0, 0, W)?)?,
            None => FusedAct::None,
        }),
        RESIZE_BILINEAR => match opts {
            Some(t) => Options::Resize {
                align_corners: t.bool(2, W)?,
                half_pixel_centers: t.bool(3, W)?,
            },
            None => Options::Resize {
                align_corners: false,
                half_pixel_centers: false,
            },
        },
        MEAN => Options::Reducer {
            keep_dims: match opts {
                Some(t) => t.bool(0, W)?,
                None => false,
            },
        },
        _ => Options::None,
    })
}

fn index(v: i32, n: usize, what: &'static str) -> Result<usize> {
    usize::try_from(v)
        .ok()
        .filter(|i| *i < n)
        .ok_or_else(|| ModelError::unsupported(format!("{what} index {v} out of range 0..{n}")))
}

/// Parses a `.tflite` file into its single subgraph.
pub fn parse(bytes: &[u8]) -> Result<Graph> {
    let model = Table::root(bytes)?;
    let version = model.u32(0, 0, "model version")?;
    if version != 3 {
        return Err(ModelError::unsupported(format!(
            "TFLite schema version {version} (expected 3)"
        )));
    }
    let mut codes = Vec::new();
    for oc in model.tables(1, "operator codes")? {
        const W: &str = "operator code";
        let deprecated = oc.u8(0, 0, W)? as i8 as i32;
        let builtin = oc.i32(3, 0, W)?;
        let code = deprecated.max(builtin);
        codes.push(if code == CUSTOM {
            OpCode::Custom(oc.string(1, "custom op name")?.unwrap_or_default())
        } else {
            OpCode::Builtin(code)
        });
    }
    let buffers = model.tables(4, "buffers")?;
    let subgraphs = model.tables(2, "subgraphs")?;
    let [sg] = subgraphs.as_slice() else {
        return Err(ModelError::unsupported(format!(
            "{} subgraphs (expected 1)",
            subgraphs.len()
        )));
    };

    let mut tensors = Vec::new();
    for t in sg.tables(0, "tensors")? {
        const W: &str = "tensor";
        let mut shape = Vec::new();
        for d in t.i32s(0, "tensor shape")? {
            shape.push(
                usize::try_from(d)
                    .map_err(|_| ModelError::unsupported(format!("tensor dimension {d}")))?,
            );
        }
        let elems = shape
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .filter(|n| *n <= MAX_ELEMS)
            .ok_or_else(|| ModelError::unsupported(format!("tensor shape {shape:?} too large")))?;
        let _ = elems;
        let dtype = DType::from_code(t.u8(1, 0, W)?);
        let bi = t.u32(2, 0, W)? as usize;
        let data = match buffers.get(bi) {
            Some(b) if bi != 0 => {
                let inline = b.bytes(0, "buffer data")?.filter(|d| !d.is_empty());
                let offset = b.u64(1, 0, "buffer offset")?;
                let size = b.u64(2, 0, "buffer size")?;
                match inline {
                    Some(d) => Some(d.to_vec()),
                    None if offset > 1 => {
                        let start = usize::try_from(offset).map_err(|_| ModelError::Malformed {
                            what: "buffer offset",
                            offset: 0,
                        })?;
                        let len = usize::try_from(size).unwrap_or(usize::MAX);
                        let end = start.checked_add(len).filter(|e| *e <= bytes.len()).ok_or(
                            ModelError::Malformed {
                                what: "external buffer",
                                offset: start,
                            },
                        )?;
                        Some(bytes[start..end].to_vec())
                    }
                    None => None,
                }
            }
            Some(_) => None,
            None => {
                return Err(ModelError::Malformed {
                    what: "tensor buffer index",
                    offset: bi,
                });
            }
        };
        tensors.push(TensorDef {
            name: t.string(3, "tensor name")?.unwrap_or_default(),
            shape,
            dtype,
            data,
        });
    }
    let n = tensors.len();
    let idx_list = |v: Vec<i32>, what| -> Result<Vec<usize>> {
        v.into_iter().map(|i| index(i, n, what)).collect()
    };
    let inputs = idx_list(sg.i32s(1, "subgraph inputs")?, "subgraph input")?;
    let outputs = idx_list(sg.i32s(2, "subgraph outputs")?, "subgraph output")?;

    let mut ops = Vec::new();
    for op in sg.tables(3, "operators")? {
        let ci = op.u32(0, 0, "opcode index")? as usize;
        let code = codes
            .get(ci)
            .cloned()
            .ok_or_else(|| ModelError::unsupported(format!("opcode index {ci}")))?;
        let mut ins = Vec::new();
        for i in op.i32s(1, "operator inputs")? {
            ins.push(if i < 0 {
                None
            } else {
                Some(index(i, n, "operator input")?)
            });
        }
        let outs = idx_list(op.i32s(2, "operator outputs")?, "operator output")?;
        let options = options(&code, &op)?;
        ops.push(OpDef {
            code,
            inputs: ins,
            outputs: outs,
            options,
        });
    }
    Ok(Graph {
        tensors,
        inputs,
        outputs,
        ops,
    })
}
