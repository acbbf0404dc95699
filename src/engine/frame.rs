//! Frame buffers passed between pipeline stages. Video frames stay in planar YUV 4:2:0 (what
//! ffmpeg decodes and encodes), so the full-resolution path never converts to RGB; RGB is only
//! built at the model's small input size.

/// A planar 8-bit YUV 4:2:0 frame (BT.709, limited range as ffmpeg delivers it), even size.
/// `a` is present only for outputs with transparency (`yuva420p`).
#[derive(Debug, Clone, PartialEq)]
pub struct YuvFrame {
    pub width: usize,
    pub height: usize,
    /// `width * height` luma samples.
    pub y: Vec<u8>,
    /// `(width/2) * (height/2)` samples each.
    pub u: Vec<u8>,
    pub v: Vec<u8>,
    /// Optional full-resolution alpha plane, 255 = opaque.
    pub a: Option<Vec<u8>>,
}

impl YuvFrame {
    pub fn new(width: usize, height: usize) -> Self {
        assert!(
            width.is_multiple_of(2) && height.is_multiple_of(2),
            "YUV 4:2:0 frames have even sizes"
        );
        let c = (width / 2) * (height / 2);
        YuvFrame {
            width,
            height,
            y: vec![16; width * height],
            u: vec![128; c],
            v: vec![128; c],
            a: None,
        }
    }

    pub fn chroma_width(&self) -> usize {
        self.width / 2
    }

    pub fn chroma_height(&self) -> usize {
        self.height / 2
    }

    /// Bytes of one frame on an ffmpeg `yuv420p` pipe.
    pub fn yuv420p_len(width: usize, height: usize) -> usize {
        width * height + 2 * (width / 2) * (height / 2)
    }
}

/// A single-channel mask, 0.0 = background, 1.0 = person.
#[derive(Debug, Clone, PartialEq)]
pub struct Matte {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Matte {
    pub fn new(width: usize, height: usize) -> Self {
        Matte {
            width,
            height,
            data: vec![0.0; width * height],
        }
    }
}
