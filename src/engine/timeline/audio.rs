//! The timeline's sound: each clip's own audio (its trimmed span, silence for clips without
//! sound), joined in order, with the background music under it — volume, looped or cut to
//! the video, faded in and out, optionally ducked under speech — mixed by one ffmpeg run
//! into a single AAC stream of exactly the video's length.

use std::fmt::Write as _;
use std::path::Path;

use super::TimelineMusic;
use crate::engine::Result;
use crate::engine::ffmpeg::{FfmpegProcess, Tool, input};

/// One clip's span of sound.
pub(super) struct AudioPart<'a> {
    pub input: &'a Path,
    pub start_s: f64,
    /// Exactly the clip's video length on the timeline.
    pub duration_s: f64,
    pub has_audio: bool,
}

const RATE: u32 = 48_000;
const FORMAT: &str = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo";

/// The ffmpeg command that writes the mix to `out` (an `.m4a`). Every input is pinned to
/// its sniffed demuxer (`ffmpeg::input`); `Err` for a file of another format.
pub(super) fn command(
    parts: &[AudioPart<'_>],
    music: Option<&TimelineMusic>,
    total_s: f64,
    out: &Path,
) -> Result<std::process::Command> {
    let mut cmd = Tool::Ffmpeg.command();
    cmd.arg("-y");
    for p in parts {
        if p.has_audio {
            if p.start_s > 0.0 {
                cmd.args(["-ss", &format!("{:.3}", p.start_s)]);
            }
            cmd.args(["-t", &format!("{:.3}", p.duration_s + 0.5)]);
            input::add(&mut cmd, p.input)?;
        } else {
            input::restrict_protocols(&mut cmd);
            cmd.args(["-f", "lavfi", "-t", &format!("{:.3}", p.duration_s)]);
            cmd.args(["-i", &format!("anullsrc=r={RATE}:cl=stereo")]);
        }
    }
    let mut graph = String::new();
    for (i, p) in parts.iter().enumerate() {
        let _ = write!(
            graph,
            "[{i}:a:0]{FORMAT},apad,atrim=duration={:.6},asetpts=PTS-STARTPTS[c{i}];",
            p.duration_s
        );
    }
    for i in 0..parts.len() {
        let _ = write!(graph, "[c{i}]");
    }
    let _ = write!(graph, "concat=n={}:v=0:a=1[speech]", parts.len());
    match music {
        Some(m) => {
            let idx = parts.len();
            if m.looped {
                cmd.args(["-stream_loop", "-1"]);
            }
            input::add(&mut cmd, &m.input)?;
            let (start, len) = music_span(m, total_s);
            // The music's own span: cut to its length, faded inside it, then moved to its
            // start and padded with silence to the video's length.
            let _ = write!(
                graph,
                ";[{idx}:a:0]{FORMAT},apad,atrim=duration={len:.6},asetpts=PTS-STARTPTS,volume={:.4}",
                m.volume.max(0.0)
            );
            let fade_in = m.fade_in_s.clamp(0.0, len / 2.0);
            let fade_out = m.fade_out_s.clamp(0.0, len / 2.0);
            if fade_in > 0.0 {
                let _ = write!(graph, ",afade=t=in:st=0:d={fade_in:.3}");
            }
            if fade_out > 0.0 {
                let _ = write!(
                    graph,
                    ",afade=t=out:st={:.3}:d={fade_out:.3}",
                    len - fade_out
                );
            }
            if start > 0.0 {
                // Whole samples, so the start is exact to 1/48000 s.
                let samples = (start * f64::from(RATE)).round() as u64;
                let _ = write!(graph, ",adelay=delays={samples}S:all=1");
            }
            let _ = write!(
                graph,
                ",apad,atrim=duration={total_s:.6},asetpts=PTS-STARTPTS"
            );
            graph.push_str("[bgm];");
            if m.duck {
                // The music dips while someone speaks (about −12 dB), back within ~0.4 s.
                graph.push_str(
                    "[speech]asplit=2[sp][key];[bgm][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[ducked];[sp][ducked]",
                );
            } else {
                graph.push_str("[speech][bgm]");
            }
            graph.push_str("amix=inputs=2:duration=first:normalize=0[out]");
        }
        None => graph.push_str(";[speech]anull[out]"),
    }
    cmd.args(["-filter_complex", &graph, "-map", "[out]"]);
    cmd.args(["-c:a", "aac", "-b:a", "192k", "-ar", &RATE.to_string()]);
    cmd.args(["-t", &format!("{total_s:.6}")]);
    cmd.args(["-f", "ipod"]).arg(out);
    Ok(cmd)
}

/// Where the music plays on a video of `total_s`: (start, length) in s, inside the video.
fn music_span(m: &TimelineMusic, total_s: f64) -> (f64, f64) {
    let start = m.start_s.clamp(0.0, total_s);
    let end = m.end_s.unwrap_or(total_s).clamp(start, total_s);
    (start, end - start)
}

/// Run the mix to completion.
pub(super) fn mix(
    parts: &[AudioPart<'_>],
    music: Option<&TimelineMusic>,
    total_s: f64,
    out: &Path,
) -> Result<()> {
    let cmd = command(parts, music, total_s, out)?;
    let shown = music.map(|m| m.input.as_path()).unwrap_or(out);
    let mut proc = FfmpegProcess::spawn(Tool::Ffmpeg, shown, cmd, false, false)?;
    proc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graph_joins_clips_and_mixes_music() {
        // Headers enough for the sniffer: the command pins each input's demuxer.
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.mp4");
        let b = dir.path().join("b.mp4");
        let lofi = dir.path().join("lofi.mp3");
        std::fs::write(&a, b"\0\0\0\x18ftypisom\0\0\0\0").unwrap();
        std::fs::write(&b, b"\0\0\0\x18ftypisom\0\0\0\0").unwrap();
        std::fs::write(&lofi, b"ID3\x04\0\0\0\0\0\0").unwrap();
        let parts = [
            AudioPart {
                input: &a,
                start_s: 2.0,
                duration_s: 3.0,
                has_audio: true,
            },
            AudioPart {
                input: &b,
                start_s: 0.0,
                duration_s: 2.0,
                has_audio: false,
            },
        ];
        let music = TimelineMusic {
            input: lofi.clone(),
            volume: 0.35,
            looped: true,
            fade_in_s: 1.0,
            fade_out_s: 2.0,
            duck: false,
            start_s: 0.0,
            end_s: None,
        };
        let cmd = command(&parts, Some(&music), 5.0, Path::new("/tmp/mix.m4a")).unwrap();
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let graph = &args[args.iter().position(|a| a == "-filter_complex").unwrap() + 1];
        assert!(graph.contains("concat=n=2:v=0:a=1[speech]"), "{graph}");
        assert!(graph.contains("volume=0.3500"), "{graph}");
        assert!(graph.contains("afade=t=out:st=3.000:d=2.000"), "{graph}");
        assert!(graph.contains("amix=inputs=2"), "{graph}");
        assert!(args.iter().any(|a| a == "anullsrc=r=48000:cl=stereo"));
        assert!(
            args.windows(2)
                .any(|w| w[0] == "-stream_loop" && w[1] == "-1")
        );
        assert!(args.windows(2).any(|w| w[0] == "-ss" && w[1] == "2.000"));
        // Every input pinned: protocols limited, the demuxer named.
        let inputs = args.iter().filter(|a| *a == "-i").count();
        let limited = args
            .windows(2)
            .filter(|w| w[0] == "-protocol_whitelist" && w[1] == "file,pipe")
            .count();
        assert_eq!((inputs, limited), (3, 3), "{args:?}");
        assert!(args.windows(2).any(|w| w[0] == "-f" && w[1] == "mp3"));
        assert!(args.windows(2).any(|w| w[0] == "-f" && w[1] == "mov"));
        // A range of its own: cut to its length, faded inside it, moved to its start.
        let ranged = TimelineMusic {
            start_s: 2.0,
            end_s: Some(4.5),
            ..music
        };
        let cmd = command(&parts, Some(&ranged), 5.0, Path::new("/tmp/mix.m4a")).unwrap();
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let graph = &args[args.iter().position(|a| a == "-filter_complex").unwrap() + 1];
        assert!(graph.contains("atrim=duration=2.500000"), "{graph}");
        assert!(graph.contains("afade=t=in:st=0:d=1.000"), "{graph}");
        assert!(graph.contains("afade=t=out:st=1.250:d=1.250"), "{graph}");
        assert!(graph.contains("adelay=delays=96000S:all=1"), "{graph}");
        assert!(graph.contains("atrim=duration=5.000000"), "{graph}");
    }
}
