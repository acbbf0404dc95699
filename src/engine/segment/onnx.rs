//! A bounds-checked reader for the ONNX protobuf format, just enough to walk a model graph:
//! `ModelProto.graph` → nodes (op type, inputs, outputs, attributes), initializers and the
//! graph's input/output names. Field numbers follow `onnx/onnx.proto3`
//! (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto3). Every length read from the
//! file is checked before use, so a truncated or corrupted file yields `Err`, never a panic.
//! (A generated `prost` reader would need the .proto and a build script; the five messages
//! read here are shorter by hand, like `flatbuf` for `.tflite`.)

use super::error::ModelError;

type Result<T> = std::result::Result<T, ModelError>;

#[cold]
fn bad(what: &'static str, offset: usize) -> ModelError {
    ModelError::Malformed { what, offset }
}

/// One protobuf field value (wire types 0, 1, 2, 5; groups are rejected).
#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    /// An 8-byte value (no field read here has this type; skipped).
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Walks the fields of one message. `base` is the message's offset in the file, for errors.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Fields { buf, pos: 0, base }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| bad("varint", self.base + self.pos))?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint longer than 10 bytes", self.base + self.pos))
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| bad(what, self.base + self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// The next `(field number, value, offset of the value)`, or `None` at the end.
    fn next_field(&mut self) -> Result<Option<(u64, Wire<'a>, usize)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let at = self.base + self.pos;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8, "fixed64 field")?;
                Wire::Fixed64
            }
            2 => {
                let n = usize::try_from(self.varint()?)
                    .map_err(|_| bad("length", self.base + self.pos))?;
                Wire::Bytes(self.take(n, "length-delimited field")?)
            }
            5 => {
                let b = self.take(4, "fixed32 field")?;
                Wire::Fixed32(u32::from_le_bytes(b.try_into().expect("4 bytes")))
            }
            _ => return Err(bad("protobuf wire type", at)),
        };
        Ok(Some((key >> 3, wire, at)))
    }
}

fn bytes<'a>(w: Wire<'a>, what: &'static str, at: usize) -> Result<&'a [u8]> {
    match w {
        Wire::Bytes(b) => Ok(b),
        _ => Err(bad(what, at)),
    }
}

fn string<'a>(w: Wire<'a>, what: &'static str, at: usize) -> Result<&'a str> {
    std::str::from_utf8(bytes(w, what, at)?).map_err(|_| bad(what, at))
}

fn int(w: Wire<'_>, what: &'static str, at: usize) -> Result<i64> {
    match w {
        Wire::Varint(v) => Ok(v as i64),
        _ => Err(bad(what, at)),
    }
}

/// Appends a repeated int64 field, packed or not.
fn ints(w: Wire<'_>, at: usize, out: &mut Vec<i64>) -> Result<()> {
    match w {
        Wire::Varint(v) => out.push(v as i64),
        Wire::Bytes(b) => {
            let mut f = Fields::new(b, at);
            while f.pos < b.len() {
                out.push(f.varint()? as i64);
            }
        }
        _ => return Err(bad("repeated int64", at)),
    }
    Ok(())
}

/// Appends a repeated float field, packed or not.
fn floats(w: Wire<'_>, at: usize, out: &mut Vec<f32>) -> Result<()> {
    match w {
        Wire::Fixed32(v) => out.push(f32::from_bits(v)),
        Wire::Bytes(b) if b.len() % 4 == 0 => out.extend(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        _ => return Err(bad("repeated float", at)),
    }
    Ok(())
}

/// `TensorProto` data types read here (onnx.proto3 `TensorProto.DataType`).
pub const FLOAT: i64 = 1;
pub const INT64: i64 = 7;

/// A constant tensor (initializer or `Constant` node value).
#[derive(Debug, Clone, Default)]
pub struct Tensor<'a> {
    pub name: &'a str,
    pub dims: Vec<i64>,
    pub data_type: i64,
    raw: &'a [u8],
    float_data: Vec<f32>,
    int64_data: Vec<i64>,
    offset: usize,
}

impl<'a> Tensor<'a> {
    fn parse(buf: &'a [u8], base: usize) -> Result<Self> {
        let mut t = Tensor {
            offset: base,
            ..Tensor::default()
        };
        let mut f = Fields::new(buf, base);
        while let Some((num, w, at)) = f.next_field()? {
            match num {
                1 => ints(w, at, &mut t.dims)?,
                2 => t.data_type = int(w, "tensor data_type", at)?,
                4 => floats(w, at, &mut t.float_data)?,
                7 => ints(w, at, &mut t.int64_data)?,
                8 => t.name = string(w, "tensor name", at)?,
                9 => t.raw = bytes(w, "tensor raw_data", at)?,
                _ => {}
            }
        }
        if t.dims.iter().any(|d| *d < 0) {
            return Err(bad("negative tensor dimension", base));
        }
        Ok(t)
    }

    /// Element count from `dims` (1 for a scalar).
    pub fn len(&self) -> usize {
        self.dims.iter().map(|d| *d as usize).product()
    }

    /// The values of a FLOAT tensor; `Err` for another type or a length that disagrees
    /// with `dims`.
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        if self.data_type != FLOAT {
            return Err(bad("tensor is not FLOAT", self.offset));
        }
        let v: Vec<f32> = if self.raw.is_empty() {
            self.float_data.clone()
        } else {
            self.raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        if v.len() != self.len() || (!self.raw.is_empty() && self.raw.len() != 4 * v.len()) {
            return Err(bad("FLOAT tensor data length", self.offset));
        }
        Ok(v)
    }

    /// The values of an INT64 tensor; `Err` as for `to_f32`.
    pub fn to_i64(&self) -> Result<Vec<i64>> {
        if self.data_type != INT64 {
            return Err(bad("tensor is not INT64", self.offset));
        }
        let v: Vec<i64> = if self.raw.is_empty() {
            self.int64_data.clone()
        } else {
            self.raw
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        };
        if v.len() != self.len() || (!self.raw.is_empty() && self.raw.len() != 8 * v.len()) {
            return Err(bad("INT64 tensor data length", self.offset));
        }
        Ok(v)
    }
}

/// One node attribute (`AttributeProto`): the fields MODNet-style graphs use.
#[derive(Debug, Clone, Default)]
pub struct Attr<'a> {
    pub name: &'a str,
    pub f: Option<f32>,
    pub i: Option<i64>,
    pub s: &'a [u8],
    pub t: Option<Tensor<'a>>,
    pub ints: Vec<i64>,
}

impl<'a> Attr<'a> {
    fn parse(buf: &'a [u8], base: usize) -> Result<Self> {
        let mut a = Attr::default();
        let mut f = Fields::new(buf, base);
        while let Some((num, w, at)) = f.next_field()? {
            match (num, w) {
                (1, _) => a.name = string(w, "attribute name", at)?,
                (2, Wire::Fixed32(v)) => a.f = Some(f32::from_bits(v)),
                (3, _) => a.i = Some(int(w, "attribute i", at)?),
                (4, _) => a.s = bytes(w, "attribute s", at)?,
                (5, _) => a.t = Some(Tensor::parse(bytes(w, "attribute t", at)?, at)?),
                (8, _) => ints(w, at, &mut a.ints)?,
                _ => {}
            }
        }
        Ok(a)
    }
}

/// One graph node (`NodeProto`).
#[derive(Debug, Clone, Default)]
pub struct Node<'a> {
    pub op_type: &'a str,
    pub inputs: Vec<&'a str>,
    pub outputs: Vec<&'a str>,
    pub attrs: Vec<Attr<'a>>,
}

impl<'a> Node<'a> {
    fn parse(buf: &'a [u8], base: usize) -> Result<Self> {
        let mut n = Node::default();
        let mut f = Fields::new(buf, base);
        while let Some((num, w, at)) = f.next_field()? {
            match num {
                1 => n.inputs.push(string(w, "node input", at)?),
                2 => n.outputs.push(string(w, "node output", at)?),
                4 => n.op_type = string(w, "node op_type", at)?,
                5 => n
                    .attrs
                    .push(Attr::parse(bytes(w, "node attribute", at)?, at)?),
                _ => {}
            }
        }
        Ok(n)
    }

    pub fn attr(&self, name: &str) -> Option<&Attr<'a>> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub fn attr_int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).and_then(|a| a.i).unwrap_or(default)
    }

    pub fn attr_ints(&self, name: &str) -> &[i64] {
        self.attr(name).map(|a| a.ints.as_slice()).unwrap_or(&[])
    }

    pub fn attr_str(&self, name: &str) -> &'a [u8] {
        self.attr(name).map(|a| a.s).unwrap_or(&[])
    }
}

/// The main graph of a model.
#[derive(Debug, Clone, Default)]
pub struct Graph<'a> {
    pub nodes: Vec<Node<'a>>,
    pub initializers: Vec<Tensor<'a>>,
    /// `graph.input` names (older exporters list the initializers here too).
    pub inputs: Vec<&'a str>,
    pub outputs: Vec<&'a str>,
}

/// `ValueInfoProto.name`.
fn value_name(buf: &[u8], base: usize) -> Result<&str> {
    let mut f = Fields::new(buf, base);
    while let Some((num, w, at)) = f.next_field()? {
        if num == 1 {
            return string(w, "value_info name", at);
        }
    }
    Err(bad("value_info without a name", base))
}

/// Parses `ModelProto` bytes down to its graph.
pub fn parse(model: &[u8]) -> Result<Graph<'_>> {
    let mut graph = None;
    let mut f = Fields::new(model, 0);
    while let Some((num, w, at)) = f.next_field()? {
        if num == 7 {
            graph = Some((bytes_of(w, at)?, at));
        }
    }
    let (buf, base) = graph.ok_or_else(|| bad("ModelProto without a graph", 0))?;
    let mut g = Graph::default();
    let mut f = Fields::new(buf, base);
    while let Some((num, w, at)) = f.next_field()? {
        match num {
            1 => g.nodes.push(Node::parse(bytes(w, "node", at)?, at)?),
            5 => g
                .initializers
                .push(Tensor::parse(bytes(w, "initializer", at)?, at)?),
            11 => g.inputs.push(value_name(bytes(w, "graph input", at)?, at)?),
            12 => g
                .outputs
                .push(value_name(bytes(w, "graph output", at)?, at)?),
            _ => {}
        }
    }
    Ok(g)
}

fn bytes_of(w: Wire<'_>, at: usize) -> Result<&[u8]> {
    bytes(w, "ModelProto.graph", at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn field_bytes(num: u64, b: &[u8], out: &mut Vec<u8>) {
        varint(num << 3 | 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }

    /// A one-node model: `y = Relu(x)` with a 2-element FLOAT initializer.
    fn tiny() -> Vec<u8> {
        let mut node = Vec::new();
        field_bytes(1, b"x", &mut node);
        field_bytes(2, b"y", &mut node);
        field_bytes(4, b"Relu", &mut node);
        let mut init = Vec::new();
        varint(1 << 3, &mut init);
        varint(2, &mut init);
        varint(2 << 3, &mut init);
        varint(FLOAT as u64, &mut init);
        field_bytes(8, b"w", &mut init);
        let raw: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        field_bytes(9, &raw, &mut init);
        let mut vi = Vec::new();
        field_bytes(1, b"x", &mut vi);
        let mut vo = Vec::new();
        field_bytes(1, b"y", &mut vo);
        let mut graph = Vec::new();
        field_bytes(1, &node, &mut graph);
        field_bytes(5, &init, &mut graph);
        field_bytes(11, &vi, &mut graph);
        field_bytes(12, &vo, &mut graph);
        let mut model = Vec::new();
        varint(1 << 3, &mut model);
        varint(6, &mut model);
        field_bytes(7, &graph, &mut model);
        model
    }

    #[test]
    fn reads_nodes_initializers_and_names() {
        let bytes = tiny();
        let g = parse(&bytes).unwrap();
        assert_eq!(g.nodes.len(), 1);
        assert_eq!(g.nodes[0].op_type, "Relu");
        assert_eq!(g.nodes[0].inputs, ["x"]);
        assert_eq!(g.inputs, ["x"]);
        assert_eq!(g.outputs, ["y"]);
        assert_eq!(g.initializers[0].name, "w");
        assert_eq!(g.initializers[0].to_f32().unwrap(), [1.5, -2.0]);
        assert!(g.initializers[0].to_i64().is_err());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = tiny();
        for n in 0..bytes.len() {
            // Cutting inside a nested message must fail; cutting between top-level
            // fields may parse (a graph-less model is then an error of its own).
            let _ = parse(&bytes[..n]);
        }
        assert!(parse(&bytes[..bytes.len() - 1]).is_err());
        assert!(parse(&[0xff; 12]).is_err());
    }
}
