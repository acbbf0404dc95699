//! How the input's picture is prepared before the pipeline sees it, and what the output is
//! tagged with: deinterlacing (flagged or detected fields), HDR tone mapping, the YUV matrix
//! frames travel in (carried when the pipeline can, converted otherwise), the colour tags
//! of the output in code points, transparency in, and the EXIF orientation of stills.

use std::path::Path;

use crate::engine::color::{Hdr10, HdrMode, Matrix, TagKind, is_hdr_transfer, tag_code};
use crate::engine::ffmpeg::{ColorTags, DecodeLook};
use crate::engine::probe::{Interlace, MediaInfo, ProbeDetail};

/// The decisions for one input.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Source {
    pub look: DecodeLook,
    /// The YUV matrix of the frames in the pipeline and of the output.
    pub matrix: Matrix,
    /// The output's colour tags (code points).
    pub color: ColorTags,
    /// Write 10-bit video (HDR kept).
    pub ten_bit: bool,
    /// HDR10 metadata to write with kept HDR (read from the input).
    pub hdr10: Option<Hdr10>,
}

/// Tone mapping to SDR BT.709 with zscale (zimg) and ffmpeg's `tonemap` (Hable), the chain
/// in ffmpeg's own documentation of `tonemap`
/// (<https://ffmpeg.org/ffmpeg-filters.html#tonemap-1>), with 100 nits as SDR white.
const TONE_MAP: &str = "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p";

/// RGB-coded pixel formats (no YUV matrix of their own).
fn is_rgb(pix_fmt: &str) -> bool {
    [
        "gbr", "rgb", "bgr", "argb", "abgr", "0rgb", "0bgr", "x2rgb", "x2bgr",
    ]
    .iter()
    .any(|p| pix_fmt.starts_with(p))
        || pix_fmt == "pal8"
}

pub(super) fn decide(
    input: &Path,
    info: &MediaInfo,
    detail: &ProbeDetail,
    hdr: HdrMode,
    still: bool,
) -> Source {
    let mut look = DecodeLook {
        alpha: detail.alpha,
        ..DecodeLook::default()
    };
    if detail.alpha && !detail.pix_fmt.contains('a') {
        // VP8/VP9 alpha rides in side data that only libvpx's decoders read.
        look.decoder = match info.video_codec.as_deref() {
            Some("vp9") => Some("libvpx-vp9".into()),
            Some("vp8") => Some("libvpx".into()),
            _ => None,
        };
    }
    if still {
        // Stills: RGB (PNG/WebP) or full-range BT.601 (JPEG); converted to BT.709 limited.
        look.convert_to = Some(Matrix::Bt709);
        if let Some(filters) = exif_orientation(input).and_then(orientation_filters) {
            look.no_autorotate = true;
            look.pre_filters
                .extend(filters.iter().map(|f| f.to_string()));
        }
        return Source {
            look,
            matrix: Matrix::Bt709,
            color: ColorTags::default(),
            ten_bit: false,
            hdr10: None,
        };
    }
    if detail.odd_rotation.is_some() {
        // Not a quarter turn: ffmpeg would turn the picture inside its own frame (corners
        // cut) and the frame would then be scaled to the rotated size. Left as coded.
        look.no_autorotate = true;
    }
    match detail.interlace {
        Interlace::Progressive => {}
        Interlace::TopFirst => look
            .pre_filters
            .push("bwdif=mode=send_frame:parity=tff:deint=all".into()),
        Interlace::BottomFirst => look
            .pre_filters
            .push("bwdif=mode=send_frame:parity=bff:deint=all".into()),
        // Not flagged either way: `idet` marks the frames it finds interlaced (and their
        // field order), and bwdif deinterlaces only those.
        Interlace::Unknown => look
            .pre_filters
            .push("idet,bwdif=mode=send_frame:parity=auto:deint=interlaced".into()),
    }
    let code = |kind, v: &Option<String>| v.as_deref().and_then(|v| tag_code(kind, v));
    let space = code(TagKind::Matrix, &detail.color.space);
    let primaries = code(TagKind::Primaries, &detail.color.primaries);
    let transfer = code(TagKind::Transfer, &detail.color.transfer);
    let tags = |m: Matrix, p: Option<u8>, t: Option<u8>| ColorTags {
        space: Some(m.code().to_string()),
        primaries: p.map(|c| c.to_string()),
        transfer: t.map(|c| c.to_string()),
    };
    if is_hdr_transfer(transfer) {
        if hdr == HdrMode::ToneMap {
            look.pre_filters.push(TONE_MAP.into());
            return Source {
                look,
                matrix: Matrix::Bt709,
                color: tags(Matrix::Bt709, Some(1), Some(1)),
                ten_bit: false,
                hdr10: None,
            };
        }
        let matrix = space.and_then(Matrix::from_code).unwrap_or(Matrix::Bt2020);
        return Source {
            look,
            matrix,
            color: tags(matrix, primaries.or(Some(9)), transfer),
            ten_bit: true,
            hdr10: crate::engine::probe::hdr10_metadata(input),
        };
    }
    let matrix = match space.and_then(Matrix::from_code) {
        Some(m) => m,
        // Untagged YUV: what players assume (BT.709 from 720 lines up, BT.601 below),
        // now said explicitly in the output's tags.
        None if space.is_none() && !is_rgb(&detail.pix_fmt) => {
            if info.width.max(info.height) >= 1280 || info.width.min(info.height) >= 720 {
                Matrix::Bt709
            } else {
                Matrix::Bt601
            }
        }
        // RGB-coded, or a matrix the pipeline does not carry (FCC, SMPTE 240M, YCgCo,
        // BT.2020 CL, ICtCp…): converted to BT.709.
        None => {
            look.convert_to = Some(Matrix::Bt709);
            Matrix::Bt709
        }
    };
    let mut color = tags(matrix, primaries, transfer);
    if look.convert_to.is_none()
        && let Some(c) = space.filter(|c| Matrix::from_code(*c) == Some(matrix))
    {
        // Carried as is: keep the input's own spelling of it (BT.470BG stays BT.470BG).
        color.space = Some(c.to_string());
    }
    Source {
        look,
        matrix,
        color,
        ten_bit: false,
        hdr10: None,
    }
}

/// The EXIF orientation (1–8) of a still image, when it has one.
pub(super) fn exif_orientation(path: &Path) -> Option<u8> {
    use image::ImageDecoder;
    let mut dec = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .into_decoder()
        .ok()?;
    dec.orientation().ok().map(|o| o.to_exif())
}

/// The ffmpeg filters that show a picture of EXIF orientation `o` upright (the
/// transformations of the `image` crate's `Orientation`, from the EXIF 2.32 spec §4.6.5
/// table of `Orientation` values). `None` for 1 (nothing to do) and invalid values.
pub(super) fn orientation_filters(o: u8) -> Option<&'static [&'static str]> {
    Some(match o {
        2 => &["hflip"],
        3 => &["hflip", "vflip"],
        4 => &["vflip"],
        5 => &["transpose=clock", "hflip"],
        6 => &["transpose=clock"],
        7 => &["transpose=cclock", "hflip"],
        8 => &["transpose=cclock"],
        _ => return None,
    })
}
