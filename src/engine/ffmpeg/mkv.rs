//! A minimal Matroska (EBML) reader and writer for raw frames with timestamps, the framing on
//! the pipes to and from ffmpeg. Raw video over a bare pipe loses every frame's presentation
//! time; Matroska carries it, and ffmpeg reads and writes it on non-seekable pipes.
//!
//! Only what those pipes use: one video track, frames as SimpleBlock/Block, cluster
//! timestamps; everything else is skipped (reader) or not written (writer).
//! Element ids and layout: RFC 9559 (Matroska) §5 and RFC 8794 (EBML) §4–§6.

use std::io::{self, Read, Write};

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;
const CLUSTER_TIMESTAMP: u32 = 0xE7;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_DURATION: u32 = 0x9B;

/// The "unknown size" marker of an 8-byte EBML size (RFC 8794 §6.2).
const UNKNOWN_SIZE: u64 = (1 << 56) - 1;

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Reads the frames of the first track of a Matroska stream, in stream order.
pub struct MkvReader<R> {
    r: R,
    /// Nanoseconds per timestamp tick (`TimestampScale`, default 1 ms).
    scale_ns: u64,
    cluster_ts: i64,
}

/// One frame's place in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockTime {
    /// Timestamp in ticks of `TimestampScale` (cluster timestamp + the block's offset).
    pub ticks: i64,
    /// Nanoseconds per tick.
    pub scale_ns: u64,
}

impl<R: Read> MkvReader<R> {
    pub fn new(r: R) -> Self {
        MkvReader {
            r,
            scale_ns: 1_000_000,
            cluster_ts: 0,
        }
    }

    /// Read the next frame into `planes` (filled in order; their lengths must add up to the
    /// frame's size). `Ok(None)` at the end of the stream, including a frame cut short.
    pub fn next_frame(&mut self, planes: &mut [&mut [u8]]) -> io::Result<Option<BlockTime>> {
        loop {
            let Some(id) = self.read_id()? else {
                return Ok(None);
            };
            let Some(size) = self.read_size()? else {
                return Ok(None);
            };
            match id {
                // Masters whose children we want: step inside.
                SEGMENT | CLUSTER | BLOCK_GROUP | INFO => {}
                TIMESTAMP_SCALE => self.scale_ns = self.read_uint(size)?.max(1),
                CLUSTER_TIMESTAMP => self.cluster_ts = self.read_uint(size)? as i64,
                SIMPLE_BLOCK | BLOCK => return self.read_block(size, planes),
                _ => {
                    if size == UNKNOWN_SIZE {
                        return Err(bad(format!("element {id:#x} of unknown size")));
                    }
                    let skipped = io::copy(&mut (&mut self.r).take(size), &mut io::sink())?;
                    if skipped < size {
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn read_block(&mut self, size: u64, planes: &mut [&mut [u8]]) -> io::Result<Option<BlockTime>> {
        // Track number (a vint), 16-bit signed offset, flags (RFC 9559 §10.1).
        let Some((_, track_len)) = self.read_vint(false)? else {
            return Ok(None);
        };
        let mut head = [0u8; 3];
        if !self.fill(&mut head)? {
            return Ok(None);
        }
        if head[2] & 0x06 != 0 {
            return Err(bad("laced blocks are not used for video frames"));
        }
        let offset = i16::from_be_bytes([head[0], head[1]]);
        let payload = size
            .checked_sub(track_len as u64 + 3)
            .ok_or_else(|| bad("block shorter than its header"))?;
        let want: u64 = planes.iter().map(|p| p.len() as u64).sum();
        if payload != want {
            return Err(bad(format!(
                "a frame of {payload} bytes where {want} were expected"
            )));
        }
        for p in planes.iter_mut() {
            if !self.fill(p)? {
                return Ok(None);
            }
        }
        Ok(Some(BlockTime {
            ticks: self.cluster_ts + i64::from(offset),
            scale_ns: self.scale_ns,
        }))
    }

    /// Fill `buf`; false when the stream ended first.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.r.read(&mut buf[filled..]) {
                Ok(0) => return Ok(false),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// An EBML variable-size integer: (value, length in bytes). `keep_marker` keeps the
    /// length bits (element ids); sizes drop them. None at the end of the stream.
    fn read_vint(&mut self, keep_marker: bool) -> io::Result<Option<(u64, usize)>> {
        let mut first = [0u8; 1];
        if !self.fill(&mut first)? {
            return Ok(None);
        }
        let len = first[0].leading_zeros() as usize + 1;
        if len > 8 {
            return Err(bad("invalid EBML variable-size integer"));
        }
        let mut v = if keep_marker {
            u64::from(first[0])
        } else {
            u64::from(first[0]) & (0xFF >> len)
        };
        let mut rest = [0u8; 7];
        if !self.fill(&mut rest[..len - 1])? {
            return Ok(None);
        }
        let all_ones = !keep_marker && {
            let marker_free = (0xFFu64 >> len) == v;
            marker_free && rest[..len - 1].iter().all(|&b| b == 0xFF)
        };
        for &b in &rest[..len - 1] {
            v = (v << 8) | u64::from(b);
        }
        if all_ones {
            v = UNKNOWN_SIZE;
        }
        Ok(Some((v, len)))
    }

    fn read_id(&mut self) -> io::Result<Option<u32>> {
        Ok(self.read_vint(true)?.map(|(v, _)| v as u32))
    }

    fn read_size(&mut self) -> io::Result<Option<u64>> {
        Ok(self.read_vint(false)?.map(|(v, _)| v))
    }

    fn read_uint(&mut self, size: u64) -> io::Result<u64> {
        if size > 8 {
            return Err(bad("integer element longer than 8 bytes"));
        }
        let mut buf = [0u8; 8];
        if !self.fill(&mut buf[8 - size as usize..])? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(u64::from_be_bytes(buf))
    }
}

/// Writes raw frames as a one-track Matroska stream with nanosecond timestamps
/// (`TimestampScale` = 1), one cluster per frame, so any timestamp is exact.
pub struct MkvWriter<W> {
    w: W,
    buf: Vec<u8>,
}

fn put_id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.extend_from_slice(&bytes[skip..]);
}

/// An 8-byte size (simple, and the frame sizes here need up to 5 bytes anyway).
fn put_size(out: &mut Vec<u8>, size: u64) {
    let mut b = size.to_be_bytes();
    b[0] = 0x01;
    out.extend_from_slice(&b);
}

fn put_uint(out: &mut Vec<u8>, id: u32, v: u64) {
    put_id(out, id);
    put_size(out, 8);
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, id: u32, v: &[u8]) {
    put_id(out, id);
    put_size(out, v.len() as u64);
    out.extend_from_slice(v);
}

fn put_master(out: &mut Vec<u8>, id: u32, body: &[u8]) {
    put_bytes(out, id, body);
}

impl<W: Write> MkvWriter<W> {
    /// Write the stream header for `width`×`height` frames whose planes are laid out as
    /// the raw pixel format named by `fourcc` (ffmpeg's raw tags: `I420` = yuv420p,
    /// `Y800` = gray, `Y4\x0b\x08` = yuva420p).
    pub fn new(mut w: W, width: u32, height: u32, fourcc: [u8; 4]) -> io::Result<Self> {
        let mut out = Vec::with_capacity(256);
        let mut head = Vec::new();
        put_uint(&mut head, 0x4286, 1); // EBMLVersion
        put_uint(&mut head, 0x42F7, 1); // EBMLReadVersion
        put_uint(&mut head, 0x42F2, 4); // EBMLMaxIDLength
        put_uint(&mut head, 0x42F3, 8); // EBMLMaxSizeLength
        put_bytes(&mut head, 0x4282, b"matroska"); // DocType
        put_uint(&mut head, 0x4287, 4); // DocTypeVersion
        put_uint(&mut head, 0x4285, 2); // DocTypeReadVersion
        put_master(&mut out, EBML, &head);
        put_id(&mut out, SEGMENT);
        put_size(&mut out, UNKNOWN_SIZE);
        let mut info = Vec::new();
        put_uint(&mut info, TIMESTAMP_SCALE, 1);
        put_bytes(&mut info, 0x4D80, b"editor-background-changer"); // MuxingApp
        put_bytes(&mut info, 0x5741, b"editor-background-changer"); // WritingApp
        put_master(&mut out, INFO, &info);
        let mut video = Vec::new();
        put_uint(&mut video, 0xB0, u64::from(width)); // PixelWidth
        put_uint(&mut video, 0xBA, u64::from(height)); // PixelHeight
        put_bytes(&mut video, 0x2E_B524, &fourcc); // ColourSpace (UncompressedFourCC)
        let mut entry = Vec::new();
        put_uint(&mut entry, 0xD7, 1); // TrackNumber
        put_uint(&mut entry, 0x73C5, 1); // TrackUID
        put_uint(&mut entry, 0x83, 1); // TrackType: video
        put_uint(&mut entry, 0x9C, 0); // FlagLacing
        put_bytes(&mut entry, 0x86, b"V_UNCOMPRESSED"); // CodecID
        put_master(&mut entry, 0xE0, &video); // Video
        let mut tracks = Vec::new();
        put_master(&mut tracks, 0xAE, &entry); // TrackEntry
        put_master(&mut out, TRACKS, &tracks);
        w.write_all(&out)?;
        Ok(MkvWriter {
            w,
            buf: Vec::with_capacity(64),
        })
    }

    /// One frame at `pts_ns` (nanoseconds, ≥ 0) lasting `duration_ns` when known; the planes
    /// are written back to back.
    pub fn write_frame(
        &mut self,
        pts_ns: u64,
        duration_ns: Option<u64>,
        planes: &[&[u8]],
    ) -> io::Result<()> {
        let data: u64 = planes.iter().map(|p| p.len() as u64).sum();
        // Block = track vint (1 byte) + offset (2) + flags (1) + data.
        let block_len = 4 + data;
        let mut group = Vec::with_capacity(32);
        if let Some(d) = duration_ns {
            put_uint(&mut group, BLOCK_DURATION, d);
        }
        let group_len = group.len() as u64 + 1 + 8 + block_len;
        let b = &mut self.buf;
        b.clear();
        put_id(b, CLUSTER);
        put_size(b, 1 + 8 + 8 + 1 + 8 + group_len);
        put_uint(b, CLUSTER_TIMESTAMP, pts_ns);
        put_id(b, BLOCK_GROUP);
        put_size(b, group_len);
        b.extend_from_slice(&group);
        put_id(b, BLOCK);
        put_size(b, block_len);
        b.extend_from_slice(&[0x81, 0, 0, 0]);
        self.w.write_all(b)?;
        for p in planes {
            self.w.write_all(p)?;
        }
        Ok(())
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_timestamps_round_trip() {
        let mut out = Vec::new();
        {
            let mut w = MkvWriter::new(&mut out, 4, 2, *b"I420").unwrap();
            w.write_frame(0, Some(33_366_667), &[&[1; 8], &[2; 2], &[3; 2]])
                .unwrap();
            w.write_frame(1_166_666_667, None, &[&[4; 8], &[5; 2], &[6; 2]])
                .unwrap();
        }
        let mut r = MkvReader::new(&out[..]);
        let (mut y, mut u, mut v) = ([0u8; 8], [0u8; 2], [0u8; 2]);
        let t = r
            .next_frame(&mut [&mut y, &mut u, &mut v])
            .unwrap()
            .unwrap();
        assert_eq!((t.ticks, t.scale_ns), (0, 1));
        assert_eq!((y[0], u[0], v[0]), (1, 2, 3));
        let t = r
            .next_frame(&mut [&mut y, &mut u, &mut v])
            .unwrap()
            .unwrap();
        assert_eq!(t.ticks, 1_166_666_667);
        assert_eq!((y[7], u[1], v[1]), (4, 5, 6));
        assert_eq!(r.next_frame(&mut [&mut y, &mut u, &mut v]).unwrap(), None);
    }

    #[test]
    fn a_truncated_frame_is_the_end() {
        let mut out = Vec::new();
        MkvWriter::new(&mut out, 4, 2, *b"I420")
            .unwrap()
            .write_frame(0, None, &[&[1; 12]])
            .unwrap();
        out.truncate(out.len() - 3);
        let mut buf = [0u8; 12];
        assert_eq!(
            MkvReader::new(&out[..])
                .next_frame(&mut [&mut buf])
                .unwrap(),
            None
        );
    }

    #[test]
    fn a_wrong_frame_size_is_an_error() {
        let mut out = Vec::new();
        MkvWriter::new(&mut out, 4, 2, *b"I420")
            .unwrap()
            .write_frame(0, None, &[&[1; 12]])
            .unwrap();
        let mut buf = [0u8; 10];
        assert!(
            MkvReader::new(&out[..])
                .next_frame(&mut [&mut buf])
                .is_err()
        );
    }
}
