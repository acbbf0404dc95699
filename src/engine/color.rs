//! Colour facts of a clip and of the output: the YUV matrix frames travel in, the tags ffprobe
//! reports (in any spelling) turned into ITU-T H.273 code points that every ffmpeg encoder
//! option accepts, and RGB → YUV conversion of synthetic colours with the output's matrix.
//!
//! Code points: ITU-T H.273 (ISO/IEC 23091-2) tables 2–4, the values ffmpeg's `AVColor*`
//! enums use. Spellings: ffprobe prints `av_color_*_name` (libavutil/pixdesc.c), which
//! differs from the encoder option constants (libavcodec/options_table.h), e.g. transfer
//! 5 is `bt470bg` in ffprobe but `gamma28` as an option, matrix 0 is `gbr` vs `rgb`.

/// The YUV ↔ RGB matrix of frames in the pipeline and of the output (limited range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Matrix {
    /// ITU-R BT.601 (SD: `smpte170m`, `bt470bg`).
    Bt601,
    /// ITU-R BT.709 (HD).
    #[default]
    Bt709,
    /// ITU-R BT.2020 non-constant luminance.
    Bt2020,
}

impl Matrix {
    /// (Kr, Kb) luma coefficients (H.273 table 4).
    pub fn kr_kb(self) -> (f32, f32) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
            Matrix::Bt2020 => (0.2627, 0.0593),
        }
    }

    /// H.273 `MatrixCoefficients` code point.
    pub fn code(self) -> u8 {
        match self {
            Matrix::Bt601 => 6,
            Matrix::Bt709 => 1,
            Matrix::Bt2020 => 9,
        }
    }

    /// The name ffmpeg's `scale` filter takes for `in_color_matrix`/`out_color_matrix`.
    pub fn swscale_name(self) -> &'static str {
        match self {
            Matrix::Bt601 => "bt601",
            Matrix::Bt709 => "bt709",
            Matrix::Bt2020 => "bt2020",
        }
    }

    /// The matrix of a YUV stream whose `MatrixCoefficients` code point is `code`, when the
    /// pipeline can carry it as is (no conversion).
    pub fn from_code(code: u8) -> Option<Matrix> {
        match code {
            1 => Some(Matrix::Bt709),
            5 | 6 => Some(Matrix::Bt601),
            9 => Some(Matrix::Bt2020),
            _ => None,
        }
    }

    /// Limited-range YUV (8-bit code values, fractional) of an RGB colour (0..=255).
    pub fn rgb_to_yuv(self, r: f32, g: f32, b: f32) -> (f32, f32, f32) {
        let (kr, kb) = self.kr_kb();
        let kg = 1.0 - kr - kb;
        let (r, g, b) = (r / 255.0, g / 255.0, b / 255.0);
        let y = kr * r + kg * g + kb * b;
        (
            16.0 + 219.0 * y,
            128.0 + 224.0 * (b - y) / (2.0 * (1.0 - kb)),
            128.0 + 224.0 * (r - y) / (2.0 * (1.0 - kr)),
        )
    }
}

/// Which colour property a tag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Primaries,
    Transfer,
    Matrix,
}

/// The H.273 code point of a colour tag in any spelling ffprobe or ffmpeg uses (5.1 to 7.x),
/// or a plain number; `None` for unknown, unspecified, reserved or unrecognised values,
/// which the output then simply does not carry.
pub fn tag_code(kind: TagKind, name: &str) -> Option<u8> {
    let n = name.trim().to_ascii_lowercase().replace('_', "-");
    if let Ok(v) = n.parse::<u8>() {
        return (v != 2 && v < 64).then_some(v);
    }
    let code = match kind {
        TagKind::Primaries => match n.as_str() {
            "bt709" => 1,
            "bt470m" => 4,
            "bt470bg" => 5,
            "smpte170m" => 6,
            "smpte240m" => 7,
            "film" => 8,
            "bt2020" => 9,
            "smpte428" | "smpte428-1" | "smpte-st-428-1" => 10,
            "smpte431" | "smpte-rp-431-2" => 11,
            "smpte432" | "smpte-eg-432-1" => 12,
            "jedec-p22" | "ebu3213" => 22,
            _ => return None,
        },
        TagKind::Transfer => match n.as_str() {
            "bt709" => 1,
            "bt470m" | "gamma22" => 4,
            "bt470bg" | "gamma28" => 5,
            "smpte170m" | "bt601" => 6,
            "smpte240m" => 7,
            "linear" => 8,
            "log100" | "log" => 9,
            "log316" | "log-sqrt" => 10,
            "iec61966-2-4" => 11,
            "bt1361e" | "bt1361" => 12,
            "iec61966-2-1" | "srgb" => 13,
            "bt2020-10" | "bt2020-10bit" => 14,
            "bt2020-12" | "bt2020-12bit" => 15,
            "smpte2084" | "pq" => 16,
            "smpte428" | "smpte428-1" => 17,
            "arib-std-b67" | "hlg" => 18,
            _ => return None,
        },
        TagKind::Matrix => match n.as_str() {
            "gbr" | "rgb" => 0,
            "bt709" => 1,
            "fcc" => 4,
            "bt470bg" => 5,
            "smpte170m" | "bt601" => 6,
            "smpte240m" => 7,
            "ycgco" | "ycocg" => 8,
            "bt2020nc" | "bt2020-ncl" => 9,
            "bt2020c" | "bt2020-cl" => 10,
            "smpte2085" => 11,
            "chroma-derived-nc" => 12,
            "chroma-derived-c" => 13,
            "ictcp" => 14,
            "ipt-c2" => 15,
            "ycgco-re" => 16,
            "ycgco-ro" => 17,
            _ => return None,
        },
    };
    Some(code)
}

/// HDR transfer functions (PQ, HLG), by code point.
pub fn is_hdr_transfer(code: Option<u8>) -> bool {
    matches!(code, Some(16 | 18))
}

/// HDR10 static metadata of a clip (SMPTE ST 2086 mastering display, CTA-861.3 content
/// light level), in the units x265's `master-display` / `max-cll` options take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hdr10 {
    /// Primaries G, B, R and white point (x, y) in 0.00002 steps, luminance max and min in
    /// 0.0001 cd/m² steps: `G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)`.
    pub master_display: Option<String>,
    /// (MaxCLL, MaxFALL) in cd/m².
    pub max_cll: Option<(u32, u32)>,
}

impl Hdr10 {
    /// The x265 options that write this metadata as SEI (`hdr10=1` turns them on).
    pub fn x265_params(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(m) = &self.master_display {
            p.push(format!("master-display={m}"));
        }
        if let Some((cll, fall)) = self.max_cll {
            p.push(format!("max-cll={cll},{fall}"));
        }
        if !p.is_empty() {
            p.insert(0, "hdr10=1".into());
        }
        p
    }
}

/// How HDR (PQ/HLG) input is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HdrMode {
    /// Tone-mapped to SDR BT.709 (what phone editors export for sharing).
    #[default]
    ToneMap,
    /// Kept HDR: 10-bit output with the input's BT.2020 primaries and PQ/HLG transfer tags.
    Keep,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_maps_to_one_code_point() {
        use TagKind::*;
        for (kind, names, code) in [
            (Transfer, &["bt470bg", "gamma28", "GAMMA28", "5"][..], 5),
            (Transfer, &["bt470m", "gamma22"][..], 4),
            (Transfer, &["arib-std-b67", "arib_std_b67", "hlg"][..], 18),
            (Transfer, &["iec61966-2-1", "iec61966_2_1"][..], 13),
            (Transfer, &["bt2020-10", "bt2020_10bit"][..], 14),
            (Matrix, &["gbr", "rgb"][..], 0),
            (Matrix, &["bt2020nc", "bt2020_ncl"][..], 9),
            (Primaries, &["jedec-p22", "ebu3213"][..], 22),
            (Primaries, &["smpte428", "smpte428_1"][..], 10),
        ] {
            for n in names {
                assert_eq!(tag_code(kind, n), Some(code), "{n}");
            }
        }
        for n in ["unknown", "reserved", "unspecified", "2", "", "bogus"] {
            assert_eq!(tag_code(Matrix, n), None, "{n}");
        }
    }

    #[test]
    fn dodger_blue_on_each_matrix() {
        // Reference values: the same conversion done by ffmpeg's swscale for each matrix
        // (`color=0x1E90FF,scale=out_color_matrix=…:out_range=tv`), ±1.
        for (m, want) in [
            (Matrix::Bt601, (121.0, 194.0, 70.0)),
            (Matrix::Bt709, (125.0, 189.0, 73.0)),
            (Matrix::Bt2020, (119.0, 191.0, 74.0)),
        ] {
            let (y, u, v) = m.rgb_to_yuv(30.0, 144.0, 255.0);
            for (got, want) in [(y, want.0), (u, want.1), (v, want.2)] {
                assert!((got - want).abs() <= 1.0, "{m:?}: {got} vs {want}");
            }
        }
    }
}
