//! ffprobe: what a media file is (kind, size after rotation, fps, frame count, audio, codec).

use std::path::Path;

use serde::Deserialize;

use super::clock::Clock;
use super::color::Hdr10;
use super::ffmpeg::{ColorTags, Tool};
use super::{Error, Result};

/// Formats the engine accepts, for error messages.
pub const ACCEPTED_FORMATS: &str = "video: mp4, mov, avi, webm, mkv, ts/mts/m2ts; animated image (rendered as a video): gif, apng; image: jpg, png, webp (still)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Video,
    Image,
    Audio,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MediaInfo {
    pub kind: MediaKind,
    /// Container format name as ffprobe reports it (e.g. "mov,mp4,m4a,3gp,3g2,mj2").
    pub format_name: String,
    pub video_codec: Option<String>,
    /// Displayed size: rotation already applied (a sideways-coded phone clip reports 720x1280).
    pub width: u32,
    pub height: u32,
    /// Clockwise rotation in degrees the decoder applies (0, 90, 180, 270).
    pub rotation: u32,
    pub fps: f64,
    /// The highest frame rate the file shows, for caps: `fps` ignores declared rates of 1000
    /// and more (a timebase posing as a rate, as variable-rate Matroska writes), so this
    /// also takes the stream's measured rate — packets (or `nb_frames`) over its duration —
    /// and its average rate (`avg_frame_rate`, which ffprobe derives from frames and
    /// duration), whatever their size. `r_frame_rate` alone never raises it. 0 for stills
    /// and audio.
    pub peak_fps: f64,
    pub frames: u64,
    pub duration_s: f64,
    pub has_audio: bool,
    pub audio_codec: Option<String>,
}

/// What the pipeline needs beyond [`MediaInfo`].
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ProbeDetail {
    /// The exact frame rate as a rational, for the encoder's `-r`.
    pub frame_rate: String,
    pub color: ColorTags,
    /// The one map from input to output time: output 0 is the earliest start of the
    /// video and audio tracks.
    pub clock: Clock,
    /// The video stream's timebase (numerator, denominator): the unit of its pts.
    pub time_base: (u64, u64),
    /// Sample (pixel) aspect ratio of the coded frame; (1, 1) when square or unknown.
    pub sar: (u32, u32),
    /// Field order as flagged: `None` for progressive, `Some(true)` top field first,
    /// `Some(false)` bottom field first; `unknown` when the stream does not say.
    pub interlace: Interlace,
    /// The decoded pixel format (ffprobe's name), e.g. `yuv420p`, `gbrp`, `yuva444p10le`.
    pub pix_fmt: String,
    /// The colour range is full (`pc`, JPEG) rather than limited.
    pub full_range: bool,
    /// The picture carries transparency (an alpha plane, or VP8/VP9 alpha side data).
    pub alpha: bool,
    /// Every audio track, in file order.
    pub audio: Vec<Track>,
    /// Every subtitle track, in file order.
    pub subtitles: Vec<Track>,
    /// The video stream's language tag, when set.
    pub video_language: Option<String>,
    /// A display matrix that turns the picture by an angle that is not a quarter turn
    /// (clockwise degrees, e.g. 45): not applied. Turning a frame by such an angle needs a
    /// bigger canvas or cuts corners, and players (mpv, browsers, ExoPlayer) show only
    /// quarter turns, so the picture stays as coded and the plan says so.
    pub odd_rotation: Option<f64>,
}

/// How the video's fields are flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Interlace {
    Progressive,
    TopFirst,
    BottomFirst,
    /// The stream does not say: detect (ffmpeg `idet`).
    #[default]
    Unknown,
}

/// An audio or subtitle track of the input.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Track {
    pub codec: String,
    pub language: Option<String>,
    pub title: Option<String>,
}

pub fn probe(path: &Path) -> Result<MediaInfo> {
    probe_detail(path).map(|(info, _)| info)
}

pub(crate) fn probe_detail(path: &Path) -> Result<(MediaInfo, ProbeDetail)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::input(
            path,
            format!("is a folder, not a media file; give a file ({ACCEPTED_FORMATS})"),
        ));
    }
    let mut cmd = Tool::Ffprobe.command();
    cmd.args([
        "-print_format",
        "json",
        "-show_streams",
        "-show_format",
        "-count_packets",
    ]);
    // The demuxer from the file's own bytes, never ffprobe's guess (which follows playlists
    // and scripts into other files).
    crate::engine::ffmpeg::input::add(&mut cmd, path)?;
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::ToolMissing { tool: "ffprobe" },
            _ => Error::io(path, e),
        })?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why.lines().last().unwrap_or("").trim();
        let why = why
            .strip_prefix(&format!("{}: ", path.display()))
            .unwrap_or(why);
        return Err(not_media(path, why));
    }
    let parsed: Probed = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::input(path, format!("unreadable ffprobe output: {e}")))?;
    interpret(path, parsed)
}

/// [`MediaInfo::peak_fps`]: the largest of `fps`, the average rate as declared (any size),
/// and frames (`nb_frames`, else the packets counted) over the stream's duration.
fn peak_rate(v: &Stream, packets: Option<u64>, duration_s: f64, fps: f64) -> f64 {
    let avg = v
        .avg_frame_rate
        .as_deref()
        .and_then(parse_rational)
        .filter(|f| f.is_finite())
        .unwrap_or(0.0);
    let counted = v
        .nb_frames
        .as_deref()
        .and_then(parse_u64)
        .into_iter()
        .chain(packets)
        .max()
        .unwrap_or(0);
    let measured = if duration_s > 0.0 && counted > 1 {
        // n frames span n − 1 intervals; a clip of one frame has no rate.
        (counted - 1) as f64 / duration_s
    } else {
        0.0
    };
    fps.max(avg).max(measured)
}

#[cold]
fn not_media(path: &Path, why: &str) -> Error {
    let why = if why.is_empty() {
        String::new()
    } else {
        format!(" ({why})")
    };
    Error::input(
        path,
        format!(
            "not a video or image that ffmpeg can read{why}; accepted formats — {ACCEPTED_FORMATS}"
        ),
    )
}

#[derive(Debug, Deserialize)]
struct Probed {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<Format>,
}

#[derive(Debug, Deserialize)]
struct Format {
    #[serde(default)]
    format_name: String,
    duration: Option<String>,
    start_time: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Stream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    nb_frames: Option<String>,
    nb_read_packets: Option<String>,
    duration: Option<String>,
    start_time: Option<String>,
    color_space: Option<String>,
    color_primaries: Option<String>,
    color_transfer: Option<String>,
    color_range: Option<String>,
    pix_fmt: Option<String>,
    field_order: Option<String>,
    sample_aspect_ratio: Option<String>,
    time_base: Option<String>,
    #[serde(default)]
    disposition: Disposition,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
    #[serde(default)]
    side_data_list: Vec<SideData>,
}

#[derive(Debug, Default, Deserialize)]
struct Disposition {
    #[serde(default)]
    attached_pic: u8,
}

#[derive(Debug, Deserialize)]
struct SideData {
    side_data_type: Option<String>,
    rotation: Option<f64>,
    /// The matrix itself, as ffprobe prints it (three rows of three integers after a row
    /// label): ffprobe's `rotation` is truncated to whole degrees, the matrix is exact.
    displaymatrix: Option<String>,
}

impl SideData {
    /// Clockwise degrees from the matrix (a, b on its first row: atan2(b, a); libavutil's
    /// `av_display_rotation_get` is the same angle, counter-clockwise).
    fn matrix_degrees(&self) -> Option<f64> {
        let text = self.displaymatrix.as_deref()?;
        let first = text.lines().find(|l| !l.trim().is_empty())?;
        let mut nums = first
            .split_once(':')?
            .1
            .split_whitespace()
            .filter_map(|n| n.parse::<f64>().ok());
        let (a, b) = (nums.next()?, nums.next()?);
        (a != 0.0 || b != 0.0).then(|| b.atan2(a).to_degrees())
    }
}

fn interpret(path: &Path, p: Probed) -> Result<(MediaInfo, ProbeDetail)> {
    let format_name = p
        .format
        .as_ref()
        .map(|f| f.format_name.clone())
        .unwrap_or_default();
    let video = p
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video") && s.disposition.attached_pic == 0);
    let audio = p
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("audio"));
    let format_duration = p
        .format
        .as_ref()
        .and_then(|f| f.duration.as_deref())
        .and_then(parse_f64);
    let Some(v) = video else {
        if let Some(a) = audio {
            let info = MediaInfo {
                kind: MediaKind::Audio,
                format_name,
                video_codec: None,
                width: 0,
                height: 0,
                rotation: 0,
                fps: 0.0,
                peak_fps: 0.0,
                frames: 0,
                duration_s: format_duration.unwrap_or(0.0),
                has_audio: true,
                audio_codec: a.codec_name.clone(),
            };
            let detail = ProbeDetail {
                frame_rate: "0/1".into(),
                ..ProbeDetail::default()
            };
            return Ok((info, detail));
        }
        return Err(not_media(path, "no video or image stream"));
    };
    let (Some(cw), Some(ch)) = (v.width.filter(|w| *w > 0), v.height.filter(|h| *h > 0)) else {
        if is_animated_webp(path) {
            return Err(Error::input(
                path,
                "is an animated WebP, which the ffmpeg found here cannot decode (its WebP decoder reads still images only); convert it to GIF or MP4 first (e.g. `magick in.webp out.gif`), which are rendered as videos with their timing",
            ));
        }
        return Err(not_media(path, "the video stream has no frame size"));
    };
    let (rotation, odd_rotation) = rotation_of(v);
    let sar = v
        .sample_aspect_ratio
        .as_deref()
        .and_then(parse_ratio)
        .filter(|&(n, d)| n > 0 && d > 0 && n != d)
        .map(|(n, d)| {
            let g = gcd(u64::from(n), u64::from(d)) as u32;
            (n / g, d / g)
        })
        .unwrap_or((1, 1));
    // Displayed size: non-square pixels widen (or narrow) the coded width, then rotation.
    let display_w = (u64::from(cw) * u64::from(sar.0) / u64::from(sar.1)).max(1) as u32;
    let (width, height) = if rotation % 180 == 90 {
        (ch, display_w)
    } else {
        (display_w, ch)
    };
    let packets = v.nb_read_packets.as_deref().and_then(parse_u64);
    let codec = v.codec_name.clone().unwrap_or_default();
    // A GIF or APNG of one frame is a still; with more it is a short video.
    let still_format = format_name == "image2"
        || format_name.ends_with("_pipe")
        || format_name == "gif"
        || format_name == "apng";
    let kind = if still_format && packets.unwrap_or(1) <= 1 {
        MediaKind::Image
    } else {
        MediaKind::Video
    };
    let sane = |r: &&str| parse_rational(r).is_some_and(|f| f > 0.0 && f < 1000.0);
    let r_rate = v.r_frame_rate.as_deref().filter(sane);
    let avg_rate = v.avg_frame_rate.as_deref().filter(sane);
    // `r_frame_rate` is exact for constant-rate clips. Phone clips are often variable-rate:
    // when the average differs by more than 1 %, the average keeps the video as long as
    // the audio.
    let rate = match (r_rate, avg_rate) {
        (Some(r), Some(a)) => {
            let (rf, af) = (
                parse_rational(r).unwrap_or(0.0),
                parse_rational(a).unwrap_or(0.0),
            );
            if (rf - af).abs() > 0.01 * af { a } else { r }
        }
        (Some(r), None) => r,
        (None, Some(a)) => a,
        (None, None) => "30/1",
    }
    .to_string();
    let fps = parse_rational(&rate).unwrap_or(30.0);
    let duration_s = v
        .duration
        .as_deref()
        .and_then(parse_f64)
        .or(format_duration)
        .unwrap_or(0.0);
    let frames = if kind == MediaKind::Image {
        1
    } else {
        v.nb_frames
            .as_deref()
            .and_then(parse_u64)
            .filter(|n| *n > 0)
            .or(packets)
            .unwrap_or_else(|| (duration_s * fps).round() as u64)
    };
    let peak_fps = if kind == MediaKind::Image {
        0.0
    } else {
        peak_rate(v, packets, duration_s, fps)
    };
    let info = MediaInfo {
        kind,
        format_name,
        video_codec: Some(codec.clone()),
        width,
        height,
        rotation,
        fps,
        peak_fps,
        frames,
        duration_s,
        has_audio: audio.is_some(),
        audio_codec: audio.and_then(|a| a.codec_name.clone()),
    };
    let file_start = p
        .format
        .as_ref()
        .and_then(|f| f.start_time.as_deref())
        .and_then(parse_f64);
    // The tracks the output carries (the video and every audio track) decide the origin;
    // a data or subtitle stream starting elsewhere does not. No per-stream start: the file's.
    let starts: Vec<f64> = std::iter::once(v)
        .chain(
            p.streams
                .iter()
                .filter(|s| s.codec_type.as_deref() == Some("audio")),
        )
        .filter_map(|s| s.start_time.as_deref().and_then(parse_f64))
        .collect();
    let clock = if starts.is_empty() {
        Clock::from_starts(file_start)
    } else {
        Clock::from_starts(starts)
    };
    let known = |s: &Option<String>| s.clone().filter(|v| v != "unknown" && v != "reserved");
    let pix_fmt = v.pix_fmt.clone().unwrap_or_default();
    let tag = |key: &str, s: &Stream| {
        s.tags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty() && v != "und")
    };
    let track = |s: &Stream| Track {
        codec: s.codec_name.clone().unwrap_or_default(),
        language: tag("language", s),
        title: tag("title", s),
    };
    let of_type = |t: &str| {
        p.streams
            .iter()
            .filter(|s| s.codec_type.as_deref() == Some(t))
            .map(track)
            .collect::<Vec<_>>()
    };
    let alpha = has_alpha(&pix_fmt)
        || (matches!(codec.as_str(), "vp8" | "vp9")
            && tag("alpha_mode", v).is_some_and(|m| m.trim() == "1"));
    let interlace = match v.field_order.as_deref() {
        Some("progressive") => Interlace::Progressive,
        Some("tt" | "tb") => Interlace::TopFirst,
        Some("bb" | "bt") => Interlace::BottomFirst,
        _ => Interlace::Unknown,
    };
    let time_base = v
        .time_base
        .as_deref()
        .and_then(parse_ratio)
        .filter(|&(n, d)| n > 0 && d > 0)
        .map(|(n, d)| (u64::from(n), u64::from(d)))
        .unwrap_or((1, 90_000));
    let detail = ProbeDetail {
        frame_rate: rate,
        color: ColorTags {
            space: known(&v.color_space),
            primaries: known(&v.color_primaries),
            transfer: known(&v.color_transfer),
        },
        clock,
        time_base,
        sar,
        interlace,
        full_range: v.color_range.as_deref() == Some("pc") || pix_fmt.starts_with("yuvj"),
        pix_fmt,
        alpha,
        audio: of_type("audio"),
        subtitles: of_type("subtitle"),
        video_language: tag("language", v),
        odd_rotation,
    };
    Ok((info, detail))
}

/// Clockwise degrees to turn the coded frame for display (0, 90, 180, 270), and the angle
/// (clockwise, −180..180) of a display matrix that is not a quarter turn, which is then
/// not applied (rotation 0; see [`ProbeDetail::odd_rotation`]). The display matrix's
/// `rotation` is counter-clockwise (ffprobe reports -90 for "turn 90° clockwise"); the
/// legacy `rotate` tag is clockwise. Within 1° of a quarter turn counts as one, as in
/// ffmpeg's own autorotation (fftools, `get_rotation`).
fn rotation_of(v: &Stream) -> (u32, Option<f64>) {
    let from_matrix = v
        .side_data_list
        .iter()
        .filter(|s| s.side_data_type.as_deref() == Some("Display Matrix"))
        .find_map(|s| s.matrix_degrees().or(s.rotation.map(|r| -r)));
    let from_tag = v.tags.get("rotate").and_then(|r| parse_f64(r));
    let deg = from_matrix.or(from_tag).unwrap_or(0.0);
    let quarters = (deg / 90.0).round();
    if (deg - quarters * 90.0).abs() > 1.0 {
        let signed = (deg + 180.0).rem_euclid(360.0) - 180.0;
        return (0, Some(signed));
    }
    ((quarters as i64).rem_euclid(4) as u32 * 90, None)
}

/// The HDR10 static metadata of the first frame of `path`'s video (ffprobe frame side data:
/// "Mastering display metadata", "Content light level metadata"); `None` when it has none.
pub(crate) fn hdr10_metadata(path: &Path) -> Option<Hdr10> {
    let mut cmd = Tool::Ffprobe.command();
    cmd.args(["-select_streams", "v:0", "-read_intervals", "%+#1"]);
    cmd.args(["-show_frames", "-print_format", "json"])
        .arg(path);
    let out = cmd.stdin(std::process::Stdio::null()).output().ok()?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let list = json["frames"][0]["side_data_list"].as_array()?;
    let of = |kind: &str| list.iter().find(|s| s["side_data_type"] == kind);
    // "34000/50000" → 0.68; the value in `unit` steps.
    let steps = |v: &serde_json::Value, unit: f64| -> Option<u64> {
        let r = parse_rational(v.as_str()?)?;
        Some((r * unit).round() as u64)
    };
    let master_display = of("Mastering display metadata").and_then(|m| {
        let xy = |k: &str| -> Option<String> {
            Some(format!(
                "({},{})",
                steps(&m[format!("{k}_x")], 50_000.0)?,
                steps(&m[format!("{k}_y")], 50_000.0)?
            ))
        };
        Some(format!(
            "G{}B{}R{}WP{}L({},{})",
            xy("green")?,
            xy("blue")?,
            xy("red")?,
            xy("white_point")?,
            steps(&m["max_luminance"], 10_000.0)?,
            steps(&m["min_luminance"], 10_000.0)?
        ))
    });
    let max_cll = of("Content light level metadata").and_then(|c| {
        Some((
            u32::try_from(c["max_content"].as_u64()?).ok()?,
            u32::try_from(c["max_average"].as_u64()?).ok()?,
        ))
    });
    let meta = Hdr10 {
        master_display,
        max_cll,
    };
    (meta != Hdr10::default()).then_some(meta)
}

/// A WebP whose extended header (`VP8X`) has the animation flag (WebP container spec,
/// "Extended File Format": flags byte bit 1, `A`).
fn is_animated_webp(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 21];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if f.read_exact(&mut head).is_err() {
        return false;
    }
    &head[0..4] == b"RIFF"
        && &head[8..12] == b"WEBP"
        && &head[12..16] == b"VP8X"
        && head[20] & 0x02 != 0
}

/// Pixel formats with an alpha plane (libavutil's `AV_PIX_FMT_FLAG_ALPHA` formats, by name).
fn has_alpha(pix_fmt: &str) -> bool {
    let f = pix_fmt;
    f.starts_with("yuva")
        || f.starts_with("rgba")
        || f.starts_with("bgra")
        || f.starts_with("argb")
        || f.starts_with("abgr")
        || f.starts_with("gbrap")
        || f.starts_with("ya8")
        || f.starts_with("ya16")
        || f == "pal8"
}

/// `n:d` or `n/d` as two positive integers.
fn parse_ratio(s: &str) -> Option<(u32, u32)> {
    let (n, d) = s.split_once([':', '/'])?;
    Some((n.trim().parse().ok()?, d.trim().parse().ok()?))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

fn parse_f64(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn parse_u64(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

fn parse_rational(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d) = (parse_f64(n)?, parse_f64(d)?);
    (d != 0.0).then(|| n / d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_from_matrix_and_tag() {
        let json = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":1280,
            "height":720,"r_frame_rate":"30/1","nb_frames":"60","side_data_list":[
            {"side_data_type":"Display Matrix","rotation":-90}]}],"format":{"format_name":"mov"}}"#;
        let p: Probed = serde_json::from_str(json).unwrap();
        let (info, detail) = interpret(Path::new("x.mp4"), p).unwrap();
        assert_eq!((info.width, info.height, info.rotation), (720, 1280, 90));
        assert_eq!(detail.frame_rate, "30/1");
        assert_eq!(info.frames, 60);
        let json = r#"{"streams":[{"codec_type":"video","width":640,"height":480,
            "r_frame_rate":"30000/1001","tags":{"rotate":"180"}}],"format":{"format_name":"mov","duration":"2.0"}}"#;
        let p: Probed = serde_json::from_str(json).unwrap();
        let (info, _) = interpret(Path::new("x.mp4"), p).unwrap();
        assert_eq!((info.width, info.height, info.rotation), (640, 480, 180));
        assert_eq!(info.frames, 60);
        assert!((info.fps - 29.97).abs() < 0.01);
    }

    #[test]
    fn matrices_off_quarter_turns_are_not_applied() {
        let probe = |rot: f64| {
            let json = format!(
                r#"{{"streams":[{{"codec_type":"video","width":320,"height":180,
                "side_data_list":[{{"side_data_type":"Display Matrix","rotation":{rot}}}]}}],
                "format":{{"format_name":"mov"}}}}"#
            );
            let p: Probed = serde_json::from_str(&json).unwrap();
            let (info, detail) = interpret(Path::new("x.mov"), p).unwrap();
            (info.width, info.height, info.rotation, detail.odd_rotation)
        };
        assert_eq!(probe(-45.0), (320, 180, 0, Some(45.0)));
        assert_eq!(probe(30.0), (320, 180, 0, Some(-30.0)));
        assert_eq!(probe(-135.0), (320, 180, 0, Some(135.0)));
        assert_eq!(probe(-90.4), (180, 320, 90, None));
        assert_eq!(probe(180.0), (320, 180, 180, None));
        // The matrix wins over the truncated `rotation` (30° clockwise, ffprobe says -29).
        let json = r#"{"streams":[{"codec_type":"video","width":320,"height":180,
            "side_data_list":[{"side_data_type":"Display Matrix","rotation":-29,
            "displaymatrix":"\n00000000:        56756       32768           0\n00000001:       -32768       56756           0\n00000002:            0           0  1073741824\n"}]}],
            "format":{"format_name":"mov"}}"#;
        let p: Probed = serde_json::from_str(json).unwrap();
        let (_, detail) = interpret(Path::new("x.mov"), p).unwrap();
        let deg = detail.odd_rotation.unwrap();
        assert!((deg - 30.0).abs() < 0.01, "{deg}");
    }

    #[test]
    fn stills_are_images() {
        let json = r#"{"streams":[{"codec_type":"video","codec_name":"png","width":64,
            "height":64,"r_frame_rate":"25/1","nb_read_packets":"1"}],"format":{"format_name":"png_pipe"}}"#;
        let p: Probed = serde_json::from_str(json).unwrap();
        let (info, _) = interpret(Path::new("x.png"), p).unwrap();
        assert_eq!(info.kind, MediaKind::Image);
        assert_eq!(info.frames, 1);
    }
}
