//! Raw command-line arguments (clap) and their conversion into validated engine options,
//! ripgrep's LowArgs → HiArgs split: bad values are refused here, naming the flag.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use ebc::engine::matte::{Carry, MatteMode, MatteOptions};
use ebc::engine::pipeline::HdrMode;
use ebc::engine::segment::modnet::{ConvPrecision, ReducedLayers};
use ebc::engine::{Quality, ReplaceOptions, SegmentOptions, backdrop};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QualityArg {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ResolutionArg {
    /// Fits 1920×1080 (1080×1920 portrait): long side up to 1920 and short side up to
    /// 1080, aspect kept, never upscaled; stills too (the default and the product's limit).
    #[value(name = "1080p")]
    P1080,
    /// Fits 1280×720 (720×1280 portrait): long side up to 1280 and short side up to 720.
    #[value(name = "720p")]
    P720,
}

impl ResolutionArg {
    fn max_long_side(self) -> u32 {
        match self {
            ResolutionArg::P1080 => 1920,
            ResolutionArg::P720 => 1280,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MatteArg {
    /// The selfie segmentation model with edge-aware refinement (cheapest).
    Fast,
    /// The quality matte on keyframes: MODNet on every 2nd frame at a smaller size, the
    /// frames between carried by motion; close to quality's edges at a third of its cost.
    Balanced,
    /// The selfie model fused with MODNet portrait matting: hair-level edges, no band of
    /// old background, several times the cost.
    Quality,
}

/// Matte tunables; unset flags keep the engine's defaults.
#[derive(Debug, Clone, Args)]
pub struct MatteArgs {
    /// Matte: fast, balanced or quality (not the encoder's --quality). Default: balanced.
    #[arg(long, value_enum)]
    pub matte: Option<MatteArg>,
    /// Quality matte: run MODNet on every n-th frame (1 = every frame; balanced: 2).
    #[arg(long, value_name = "N", hide = true)]
    pub matte_every: Option<u32>,
    /// Quality matte, --matte-every > 1: how the frames between MODNet's keyframes get its
    /// alpha: reuse (unmoved), forward (warped by motion), both (blended with the next
    /// keyframe's, warped back).
    #[arg(long, value_name = "HOW", hide = true)]
    pub matte_carry: Option<String>,
    /// Quality matte, carrying by motion: guided-filter radius re-snapping the carried alpha to
    /// the frame's edges, in MODNet pixels (0 = off, at most 16).
    #[arg(long, value_name = "PX", hide = true)]
    pub matte_snap: Option<u32>,
    /// Quality matte: longest side of MODNet's input, in pixels (64..1024; quality: 512,
    /// balanced: 384).
    #[arg(long, value_name = "PX", hide = true)]
    pub matte_long_side: Option<u32>,
    /// Quality matte: threads MODNet's convolutions split over (0 = one per core).
    #[arg(long, value_name = "N", hide = true)]
    pub matte_threads: Option<u32>,
    /// Quality matte: MODNet convolutions in bf16 (AVX-512 BF16 CPUs), as
    /// `MIN_CIN,SKIP_FIRST,SKIP_LAST`, or `off` for fp32 everywhere.
    #[arg(long, value_name = "SPEC", hide = true)]
    pub matte_bf16: Option<String>,
    /// Quality matte: MODNet convolutions in int8 (AVX-512 VNNI or AVX2 CPUs), as
    /// `MIN_CIN,SKIP_FIRST,SKIP_LAST`, or `off` for fp32 everywhere. Not with --matte-bf16.
    #[arg(long, value_name = "SPEC", hide = true)]
    pub matte_int8: Option<String>,
    /// Quality matte: erosion of the selfie mask MODNet may not remove (model pixels).
    #[arg(long, value_name = "PX", hide = true)]
    pub matte_core: Option<usize>,
    /// Quality matte: dilation of the selfie mask MODNet may add within (model pixels).
    #[arg(long, value_name = "PX", hide = true)]
    pub matte_halo: Option<usize>,
    /// Quality matte: smallest MODNet dropout (fraction of the frame) the selfie core fills.
    #[arg(long, value_name = "FRACTION", hide = true)]
    pub matte_fill: Option<f32>,
    /// Quality matte: selfie probability from which the selfie model counts as sure.
    #[arg(long, value_name = "0..1", hide = true)]
    pub matte_sure: Option<f32>,
    /// Quality matte: erosion of the selfie mask before --matte-sure (model pixels).
    #[arg(long, value_name = "PX", hide = true)]
    pub matte_sure_erode: Option<usize>,
    /// Quality matte: raise the alpha to the selfie model's sure core (on|off).
    #[arg(long, value_name = "BOOL", hide = true)]
    pub matte_lift: Option<bool>,
    /// Quality matte: MODNet level whose areas reaching the sure core are kept whole (0 = off).
    #[arg(long, value_name = "0..1", hide = true)]
    pub matte_keep: Option<f32>,
    /// Quality matte: drop MODNet's areas that do not reach the sure core (on|off).
    #[arg(long, value_name = "BOOL", hide = true)]
    pub matte_keep_only: Option<bool>,
    /// Quality matte: drop MODNet blobs smaller than this fraction of its crop.
    #[arg(long, value_name = "FRACTION", hide = true)]
    pub matte_min_blob: Option<f32>,
    /// Temporal smoothing of the matte, 0 (off) to 1 (strongest).
    #[arg(long, value_name = "0..1")]
    pub temporal: Option<f32>,
    /// Feather radius of the matte edge in output pixels (0 = none).
    #[arg(long, value_name = "PX")]
    pub feather: Option<f32>,
    /// Radius of the edge-aware (guided filter) upsampling in output pixels.
    #[arg(long, value_name = "PX")]
    pub guided_radius: Option<u32>,
    /// Drop person blobs smaller than this fraction of the frame (0 keeps all).
    #[arg(long, value_name = "FRACTION")]
    pub min_blob: Option<f32>,
}

/// `off` → None; `MIN_CIN,SKIP_FIRST,SKIP_LAST` → those layers in `precision`
/// (`--matte-bf16`, `--matte-int8`: `flag` names it in errors).
fn parse_reduced(
    flag: &str,
    spec: &str,
    precision: ConvPrecision,
) -> Result<Option<ReducedLayers>> {
    if spec.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let bad = || {
        anyhow::anyhow!(
            "{flag} {spec}: expected `off` or MIN_CIN,SKIP_FIRST,SKIP_LAST (three whole numbers)"
        )
    };
    let v: Vec<u16> = spec
        .split(',')
        .map(|p| p.trim().parse::<u16>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad())?;
    let [min_cin, skip_first, skip_last] = v[..] else {
        return Err(bad());
    };
    Ok(Some(ReducedLayers {
        min_cin,
        skip_first,
        skip_last,
        precision,
    }))
}

/// `--matte-bf16` and `--matte-int8` together: None when neither is given, else the
/// layers (None for `off`). Both may be given when at most one asks for a precision (the
/// other `off`): a convolution runs in one precision.
fn reduced_layers(bf16: Option<&str>, int8: Option<&str>) -> Result<Option<Option<ReducedLayers>>> {
    let b = bf16
        .map(|s| parse_reduced("--matte-bf16", s, ConvPrecision::Bf16))
        .transpose()?;
    let i = int8
        .map(|s| parse_reduced("--matte-int8", s, ConvPrecision::Int8))
        .transpose()?;
    if matches!((&b, &i), (Some(Some(_)), Some(Some(_)))) {
        bail!(
            "--matte-bf16 and --matte-int8: give one of them (a convolution runs in one precision), or set the other to off"
        );
    }
    Ok(match (b, i) {
        (Some(Some(l)), _) | (_, Some(Some(l))) => Some(Some(l)),
        (None, None) => None,
        _ => Some(None),
    })
}

impl MatteArgs {
    fn validate(&self) -> Result<MatteOptions> {
        // The mode's own keyframe settings first; the tuning flags below override them.
        let mut o = MatteOptions::for_mode(match self.matte {
            None => MatteMode::default(),
            Some(MatteArg::Fast) => MatteMode::Fast,
            Some(MatteArg::Balanced) => MatteMode::Balanced,
            Some(MatteArg::Quality) => MatteMode::Quality,
        });
        if let Some(n) = self.matte_every {
            if !(1..=30).contains(&n) {
                bail!("--matte-every {n}: must be between 1 and 30 frames");
            }
            o.fine_every = n;
        }
        if let Some(c) = &self.matte_carry {
            o.fine_carry = Carry::parse(c).ok_or_else(|| {
                anyhow::anyhow!("--matte-carry {c}: expected one of {}", Carry::NAMES)
            })?;
        }
        if let Some(px) = self.matte_snap {
            if px > 16 {
                bail!("--matte-snap {px}: must be between 0 (off) and 16 MODNet pixels");
            }
            o.fine_snap = px;
        }
        if let Some(px) = self.matte_long_side {
            if !(64..=1024).contains(&px) {
                bail!("--matte-long-side {px}: must be between 64 and 1024 pixels");
            }
            o.fine_long_side = px;
        }
        if let Some(n) = self.matte_threads {
            if n > 16 {
                bail!("--matte-threads {n}: must be between 0 (one per core) and 16");
            }
            o.fine_threads = n;
        }
        if let Some(l) = reduced_layers(self.matte_bf16.as_deref(), self.matte_int8.as_deref())? {
            o.fine_reduced = l;
        }
        if let Some(px) = self.matte_core {
            o.fuse.core_erode = px.min(64);
        }
        if let Some(px) = self.matte_halo {
            o.fuse.halo_dilate = px.min(64);
        }
        if let Some(f) = self.matte_fill {
            o.fuse.fill_area = f.clamp(0.0, 1.0);
        }
        if let Some(p) = self.matte_sure {
            o.fuse.sure = p.clamp(0.0, 1.0);
        }
        if let Some(px) = self.matte_sure_erode {
            o.fuse.sure_erode = px.min(64);
        }
        if let Some(b) = self.matte_lift {
            o.fuse.lift = b;
        }
        if let Some(l) = self.matte_keep {
            o.fuse.keep_level = l.clamp(0.0, 1.0);
        }
        if let Some(b) = self.matte_keep_only {
            o.fuse.keep_only = b;
        }
        if let Some(f) = self.matte_min_blob {
            o.fuse.min_blob = f.clamp(0.0, 1.0);
        }
        if let Some(t) = self.temporal {
            if !(0.0..=1.0).contains(&t) {
                bail!("--temporal {t}: must be between 0 (off) and 1 (strongest)");
            }
            o.temporal = t;
        }
        if let Some(f) = self.feather {
            if !(0.0..=50.0).contains(&f) {
                bail!("--feather {f}: must be between 0 and 50 pixels");
            }
            o.feather = f;
        }
        if let Some(r) = self.guided_radius {
            if !(1..=64).contains(&r) {
                bail!("--guided-radius {r}: must be between 1 and 64 pixels");
            }
            o.guided_radius = r;
        }
        if let Some(b) = self.min_blob {
            if !(0.0..=0.5).contains(&b) {
                bail!("--min-blob {b}: must be a fraction of the frame between 0 and 0.5");
            }
            o.min_blob = b;
        }
        Ok(o)
    }
}

/// Encoder and size flags shared by `replace` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Encoder quality (CRF 18 / 23 / 28 for H.264).
    #[arg(long, value_enum, default_value = "high")]
    pub quality: QualityArg,
    /// libx264 speed preset (ultrafast … veryslow).
    #[arg(long, default_value = ebc::engine::pipeline::DEFAULT_X264_PRESET)]
    pub preset: String,
    /// Output size limit; the input is never upscaled.
    #[arg(long, value_enum, default_value = "1080p")]
    pub resolution: ResolutionArg,
    /// Also write a small before/after JPEG of a middle frame.
    #[arg(long, value_name = "FILE.jpg", value_parser = home_path)]
    pub preview: Option<PathBuf>,
    /// Keep HDR (PQ/HLG) input HDR: 10-bit output with its BT.2020 tags. Without it, HDR is
    /// tone-mapped to SDR BT.709, what phone editors export for sharing.
    #[arg(long)]
    pub keep_hdr: bool,
    #[command(flatten)]
    pub matte: MatteArgs,
}

const PRESETS: &[&str] = &[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
];

impl OutputArgs {
    fn apply(&self, opts: &mut ReplaceOptions) -> Result<()> {
        if !PRESETS.contains(&self.preset.as_str()) {
            bail!(
                "--preset {:?}: not an x264 preset; use one of {}",
                self.preset,
                PRESETS.join(", ")
            );
        }
        opts.quality = match self.quality {
            QualityArg::High => Quality::High,
            QualityArg::Medium => Quality::Medium,
            QualityArg::Low => Quality::Low,
        };
        opts.x264_preset = self.preset.clone();
        opts.max_long_side = self.resolution.max_long_side();
        opts.preview = self.preview.clone();
        opts.hdr = if self.keep_hdr {
            HdrMode::Keep
        } else {
            HdrMode::ToneMap
        };
        opts.matte = self.matte.validate()?;
        Ok(())
    }
}

/// `replace INPUT -b BACKDROP -o OUT`
#[derive(Debug, Clone, Args)]
pub struct ReplaceArgs {
    /// The clip (mp4, mov, avi, webm, mkv) or image (jpg, png, webp) to work on.
    #[arg(value_parser = home_path)]
    pub input: PathBuf,
    /// The new background: a description ("clean studio backdrop", "gradient navy to teal",
    /// "#1E90FF", "blur", "transparent", "green screen") or an image/video file.
    #[arg(short = 'b', long)]
    pub backdrop: String,
    /// Where to write the result; the extension picks the format (.mp4, .mov, .webm, .png, .jpg).
    #[arg(short = 'o', long, value_parser = home_path)]
    pub output: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl ReplaceArgs {
    pub fn to_options(&self) -> Result<ReplaceOptions> {
        if !self.input.exists() {
            bail!(
                "{}: no such file; give the path of a clip or image",
                self.input.display()
            );
        }
        let backdrop = backdrop::resolve(&home_text(&self.backdrop))?;
        let mut opts = ReplaceOptions::new(self.input.clone(), self.output.clone(), backdrop);
        self.out.apply(&mut opts)?;
        Ok(opts)
    }
}

/// `demo -o demo.mp4`
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Where to write the demo clip.
    #[arg(short = 'o', long, default_value = "demo.mp4", value_parser = home_path)]
    pub output: PathBuf,
    /// The new background (see `replace --help`).
    #[arg(short = 'b', long, default_value = "clean studio backdrop")]
    pub backdrop: String,
    /// Length of the demo clip in seconds.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub seconds: u32,
    #[command(flatten)]
    pub out: OutputArgs,
}

impl DemoArgs {
    /// Options for rendering `source` (the generated clip) to the demo's output.
    pub fn to_options(&self, source: PathBuf) -> Result<ReplaceOptions> {
        let backdrop = backdrop::resolve(&self.backdrop)?;
        let mut opts = ReplaceOptions::new(source, self.output.clone(), backdrop);
        self.out.apply(&mut opts)?;
        Ok(opts)
    }
}

/// `segment INPUT -o OUT`
#[derive(Debug, Clone, Args)]
pub struct SegmentArgs {
    /// The clip or image to segment.
    #[arg(value_parser = home_path)]
    pub input: PathBuf,
    /// The matte: .png for an image, .mkv (lossless gray FFV1) for a clip.
    #[arg(short = 'o', long, value_parser = home_path)]
    pub output: PathBuf,
    /// Output size limit; the input is never upscaled.
    #[arg(long, value_enum, default_value = "1080p")]
    pub resolution: ResolutionArg,
    #[command(flatten)]
    pub matte: MatteArgs,
}

impl SegmentArgs {
    pub fn to_options(&self) -> Result<SegmentOptions> {
        if !self.input.exists() {
            bail!(
                "{}: no such file; give the path of a clip or image",
                self.input.display()
            );
        }
        let mut opts = SegmentOptions::new(self.input.clone(), self.output.clone());
        opts.max_long_side = self.resolution.max_long_side();
        opts.matte = self.matte.validate()?;
        Ok(opts)
    }
}

/// `~` or `~/…` at the start of a path (quoted on the command line, so the shell left it)
/// → the home directory, as the MCP tools already do; anything else unchanged.
pub fn home_path(s: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(home_text(s)))
}

/// [`home_path`] for text that may be a path (a backdrop file).
pub fn home_text(s: &str) -> String {
    let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    expand_home(s, home.as_deref())
}

fn expand_home(s: &str, home: Option<&std::path::Path>) -> String {
    let Some(home) = home else {
        return s.to_string();
    };
    let trimmed = s.trim_start();
    if trimmed == "~" {
        return home.display().to_string();
    }
    match trimmed
        .strip_prefix("~/")
        .or_else(|| trimmed.strip_prefix("~\\"))
    {
        Some(rest) => home.join(rest).display().to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod home_tests {
    use super::expand_home;
    use std::path::Path;

    #[test]
    fn tilde_at_the_start_is_home() {
        let home = Some(Path::new("/home/ana"));
        assert_eq!(
            expand_home("~/clips/a b.mp4", home),
            "/home/ana/clips/a b.mp4"
        );
        assert_eq!(expand_home("~", home), "/home/ana");
        assert_eq!(expand_home("clips/~/x.mp4", home), "clips/~/x.mp4");
        assert_eq!(expand_home("~bob/x.mp4", home), "~bob/x.mp4");
        assert_eq!(expand_home("#1E90FF", home), "#1E90FF");
        assert_eq!(expand_home("~/x.mp4", None), "~/x.mp4");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--matte-int8` and `--matte-bf16` read the same spec into their own precision, and a
    /// bad spec names the flag it came from.
    #[test]
    fn reduced_precision_specs_parse_into_their_precision() {
        let l = parse_reduced("--matte-int8", "0, 35,0", ConvPrecision::Int8)
            .unwrap()
            .unwrap();
        assert_eq!(l, ebc::engine::segment::modnet::ReducedLayers::DECODER_INT8);
        let b = parse_reduced("--matte-bf16", "64,1,2", ConvPrecision::Bf16)
            .unwrap()
            .unwrap();
        assert_eq!((b.min_cin, b.skip_first, b.skip_last), (64, 1, 2));
        assert_eq!(b.precision, ConvPrecision::Bf16);
        assert_eq!(
            parse_reduced("--matte-int8", "OFF", ConvPrecision::Int8).unwrap(),
            None
        );
        for bad in ["1,2", "1,2,3,4", "a,b,c", ""] {
            let e = parse_reduced("--matte-int8", bad, ConvPrecision::Int8).unwrap_err();
            assert!(e.to_string().starts_with("--matte-int8"), "{bad}: {e}");
        }
        // Both flags: fine while one of them is `off`; refused when both ask for one.
        let int8 = Some(Some(
            ebc::engine::segment::modnet::ReducedLayers::DECODER_INT8,
        ));
        assert_eq!(reduced_layers(Some("off"), Some("0,35,0")).unwrap(), int8);
        assert_eq!(
            reduced_layers(Some("0,35,0"), Some("off"))
                .unwrap()
                .unwrap()
                .unwrap()
                .precision,
            ConvPrecision::Bf16
        );
        assert_eq!(
            reduced_layers(Some("off"), Some("off")).unwrap(),
            Some(None)
        );
        assert_eq!(reduced_layers(None, None).unwrap(), None);
        let e = reduced_layers(Some("64,1,2"), Some("0,35,0")).unwrap_err();
        assert!(e.to_string().contains("give one of them"), "{e}");
    }

    /// The matte flags as the command line gives them.
    fn matte(args: &[&str]) -> MatteOptions {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            matte: MatteArgs,
        }
        let argv = std::iter::once("ebc").chain(args.iter().copied());
        <Cli as clap::Parser>::try_parse_from(argv)
            .unwrap()
            .matte
            .validate()
            .unwrap()
    }

    /// `--matte balanced` is the quality matte with its keyframe settings (crop 384, every
    /// 2nd frame, carried from both sides); a tuning flag given overrides the mode's own;
    /// `quality` keeps MODNet at 512 on every frame.
    #[test]
    fn balanced_brings_its_keyframe_settings_and_flags_override_them() {
        let b = matte(&["--matte", "balanced"]);
        assert_eq!(b.mode, MatteMode::Balanced);
        assert_eq!(
            (b.fine_every, b.fine_long_side, b.fine_carry),
            (2, 384, Carry::Both)
        );
        let o = matte(&["--matte", "balanced", "--matte-every", "3"]);
        assert_eq!((o.fine_every, o.fine_long_side), (3, 384));
        let o = matte(&["--matte", "balanced", "--matte-long-side", "512"]);
        assert_eq!((o.fine_every, o.fine_long_side), (2, 512));
        let o = matte(&["--matte", "balanced", "--matte-carry", "forward"]);
        assert_eq!(
            (o.mode, o.fine_carry),
            (MatteMode::Balanced, Carry::Forward)
        );
        let q = matte(&["--matte", "quality"]);
        assert_eq!((q.fine_every, q.fine_long_side), (1, 512));
        assert_eq!(matte(&["--matte", "fast"]).mode, MatteMode::Fast);
        assert_eq!(matte(&[]), MatteOptions::default());
    }
}
