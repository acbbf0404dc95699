//! A bounds-checked reader for the FlatBuffers wire format, just enough to walk a `.tflite`
//! file: tables (through their vtables), scalars, vectors of scalars/tables, byte blobs and
//! strings. Every offset and length read from the file is checked against the buffer before
//! use, so a truncated or corrupted model yields `Err`, never a panic or an out-of-bounds read.
//! (The `flatbuffers` crate's verifier needs generated code per table; a dozen checked
//! accessors are shorter than that and cannot be bypassed.)

use super::error::ModelError;

type Result<T> = std::result::Result<T, ModelError>;

#[cold]
fn bad(what: &'static str, offset: usize) -> ModelError {
    ModelError::Malformed { what, offset }
}

fn slice<'a>(buf: &'a [u8], pos: usize, len: usize, what: &'static str) -> Result<&'a [u8]> {
    let end = pos.checked_add(len).ok_or_else(|| bad(what, pos))?;
    buf.get(pos..end).ok_or_else(|| bad(what, pos))
}

fn read_u16(buf: &[u8], pos: usize, what: &'static str) -> Result<u16> {
    let b = slice(buf, pos, 2, what)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn read_u32(buf: &[u8], pos: usize, what: &'static str) -> Result<u32> {
    let b = slice(buf, pos, 4, what)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_u64(buf: &[u8], pos: usize, what: &'static str) -> Result<u64> {
    let b = slice(buf, pos, 8, what)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(u64::from_le_bytes(a))
}

/// Follows a `uoffset_t` stored at `pos` (relative to `pos`).
fn follow(buf: &[u8], pos: usize, what: &'static str) -> Result<usize> {
    let off = read_u32(buf, pos, what)? as usize;
    let target = pos.checked_add(off).ok_or_else(|| bad(what, pos))?;
    if target >= buf.len() {
        return Err(bad(what, pos));
    }
    Ok(target)
}

/// One table: its position and its (checked) vtable.
#[derive(Clone, Copy, Debug)]
pub(super) struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
    vtable: usize,
    vt_len: usize,
    table_len: usize,
}

impl<'a> Table<'a> {
    /// The root table of a buffer.
    pub fn root(buf: &'a [u8]) -> Result<Self> {
        let pos = follow(buf, 0, "root table offset")?;
        Table::at(buf, pos, "root table")
    }

    fn at(buf: &'a [u8], pos: usize, what: &'static str) -> Result<Self> {
        let soff = read_u32(buf, pos, what)? as i32 as i64;
        let vtable = (pos as i64)
            .checked_sub(soff)
            .filter(|v| *v >= 0)
            .ok_or_else(|| bad(what, pos))? as usize;
        let vt_len = read_u16(buf, vtable, what)? as usize;
        let table_len = read_u16(buf, vtable + 2, what)? as usize;
        if vt_len < 4 || !vt_len.is_multiple_of(2) || table_len < 4 {
            return Err(bad(what, vtable));
        }
        slice(buf, vtable, vt_len, what)?;
        slice(buf, pos, table_len, what)?;
        Ok(Table {
            buf,
            pos,
            vtable,
            vt_len,
            table_len,
        })
    }

    /// Absolute position of field `slot` with `size` bytes, if present.
    fn field(&self, slot: usize, size: usize, what: &'static str) -> Result<Option<usize>> {
        let voff = 4 + 2 * slot;
        if voff + 2 > self.vt_len {
            return Ok(None);
        }
        let rel = read_u16(self.buf, self.vtable + voff, what)? as usize;
        if rel == 0 {
            return Ok(None);
        }
        if rel + size > self.table_len {
            return Err(bad(what, self.pos));
        }
        Ok(Some(self.pos + rel))
    }

    pub fn u8(&self, slot: usize, default: u8, what: &'static str) -> Result<u8> {
        match self.field(slot, 1, what)? {
            Some(p) => Ok(slice(self.buf, p, 1, what)?[0]),
            None => Ok(default),
        }
    }

    pub fn bool(&self, slot: usize, what: &'static str) -> Result<bool> {
        Ok(self.u8(slot, 0, what)? != 0)
    }

    pub fn i32(&self, slot: usize, default: i32, what: &'static str) -> Result<i32> {
        match self.field(slot, 4, what)? {
            Some(p) => Ok(read_u32(self.buf, p, what)? as i32),
            None => Ok(default),
        }
    }

    pub fn u32(&self, slot: usize, default: u32, what: &'static str) -> Result<u32> {
        match self.field(slot, 4, what)? {
            Some(p) => read_u32(self.buf, p, what),
            None => Ok(default),
        }
    }

    pub fn u64(&self, slot: usize, default: u64, what: &'static str) -> Result<u64> {
        match self.field(slot, 8, what)? {
            Some(p) => read_u64(self.buf, p, what),
            None => Ok(default),
        }
    }

    pub fn table(&self, slot: usize, what: &'static str) -> Result<Option<Table<'a>>> {
        match self.field(slot, 4, what)? {
            Some(p) => Ok(Some(Table::at(self.buf, follow(self.buf, p, what)?, what)?)),
            None => Ok(None),
        }
    }

    /// A vector of `elem_size`-byte elements.
    pub fn vector(
        &self,
        slot: usize,
        elem_size: usize,
        what: &'static str,
    ) -> Result<Option<Vector<'a>>> {
        let Some(p) = self.field(slot, 4, what)? else {
            return Ok(None);
        };
        let start = follow(self.buf, p, what)?;
        let len = read_u32(self.buf, start, what)? as usize;
        let data = start + 4;
        let bytes = len.checked_mul(elem_size).ok_or_else(|| bad(what, start))?;
        slice(self.buf, data, bytes, what)?;
        Ok(Some(Vector {
            buf: self.buf,
            data,
            len,
            elem_size,
        }))
    }

    pub fn bytes(&self, slot: usize, what: &'static str) -> Result<Option<&'a [u8]>> {
        match self.vector(slot, 1, what)? {
            Some(v) => Ok(Some(&v.buf[v.data..v.data + v.len])),
            None => Ok(None),
        }
    }

    pub fn string(&self, slot: usize, what: &'static str) -> Result<Option<String>> {
        Ok(self
            .bytes(slot, what)?
            .map(|b| String::from_utf8_lossy(b).into_owned()))
    }

    /// A vector of `i32` as owned values (empty when absent).
    pub fn i32s(&self, slot: usize, what: &'static str) -> Result<Vec<i32>> {
        match self.vector(slot, 4, what)? {
            Some(v) => (0..v.len()).map(|i| v.i32(i, what)).collect(),
            None => Ok(Vec::new()),
        }
    }

    /// A vector of tables (empty when absent).
    pub fn tables(&self, slot: usize, what: &'static str) -> Result<Vec<Table<'a>>> {
        match self.vector(slot, 4, what)? {
            Some(v) => (0..v.len()).map(|i| v.table(i, what)).collect(),
            None => Ok(Vec::new()),
        }
    }
}

/// A checked vector: `data..data + len * elem_size` lies inside the buffer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Vector<'a> {
    buf: &'a [u8],
    data: usize,
    len: usize,
    elem_size: usize,
}

impl<'a> Vector<'a> {
    pub fn len(&self) -> usize {
        self.len
    }

    fn elem(&self, i: usize, what: &'static str) -> Result<usize> {
        if i >= self.len {
            return Err(bad(what, self.data));
        }
        Ok(self.data + i * self.elem_size)
    }

    pub fn i32(&self, i: usize, what: &'static str) -> Result<i32> {
        Ok(read_u32(self.buf, self.elem(i, what)?, what)? as i32)
    }

    pub fn table(&self, i: usize, what: &'static str) -> Result<Table<'a>> {
        let p = self.elem(i, what)?;
        Table::at(self.buf, follow(self.buf, p, what)?, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-assembled buffer: root offset, vtable (4 + 2 slots), table with one i32.
    fn tiny() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&14u32.to_le_bytes()); // root at 14
        b.extend_from_slice(&[0, 0]); // padding
        b.extend_from_slice(&8u16.to_le_bytes()); // vtable at 6: vt_len 8
        b.extend_from_slice(&8u16.to_le_bytes()); // table_len 8
        b.extend_from_slice(&0u16.to_le_bytes()); // slot 0 absent
        b.extend_from_slice(&4u16.to_le_bytes()); // slot 1 at +4
        b.extend_from_slice(&8i32.to_le_bytes()); // table at 14: soffset -> vtable 6
        b.extend_from_slice(&42i32.to_le_bytes());
        b
    }

    #[test]
    fn reads_fields_and_defaults() {
        let b = tiny();
        let t = Table::root(&b).unwrap();
        assert_eq!(t.i32(0, 7, "x").unwrap(), 7);
        assert_eq!(t.i32(1, 7, "x").unwrap(), 42);
        assert_eq!(t.i32(5, 9, "x").unwrap(), 9);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = tiny();
        for n in 0..b.len() {
            let r = Table::root(&b[..n]).and_then(|t| t.i32(1, 0, "x"));
            assert!(r.is_err(), "truncated to {n} bytes was accepted");
        }
    }
}
