//! Pinned inputs: every file ffmpeg or ffprobe opens is read with the demuxer chosen from its
//! own first bytes, from an allow-list of single-file container formats, and with protocols
//! limited to `file` and `pipe`. ffmpeg's own probing would otherwise pick demuxers that open
//! other files (HLS and other playlists behind an ID3 tag, `concat`/`ffconcat` scripts, SDP,
//! image sequences), and read files nobody uploaded.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use crate::engine::{Error, Result};

/// The protocols an ffmpeg/ffprobe input may use (`-protocol_whitelist`).
pub const PROTOCOLS: &str = "file,pipe";

/// The accepted formats, as users see them.
pub const ACCEPTED: &str =
    "video mp4 mov avi webm mkv ts mts m2ts, image jpg png gif webp, audio mp3 wav m4a aac";

/// A container format on the allow-list, named as ffmpeg's demuxer (`-f`). None of them
/// opens another file (the `mov` demuxer's external references stay off: `enable_drefs`
/// defaults to 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demuxer {
    /// ISO BMFF: mp4, mov, m4a.
    Mov,
    /// Matroska and WebM.
    Matroska,
    /// MPEG transport stream: `.ts`, and AVCHD `.mts`/`.m2ts` (192-byte packets) from
    /// camcorders, TV and DVR recordings, HLS pieces. The demuxer reads one file only.
    Mpegts,
    Avi,
    Wav,
    Mp3,
    /// AAC in ADTS frames.
    Aac,
    Png,
    /// Animated PNG (a PNG with an `acTL` chunk before its image data): read by ffmpeg's
    /// `apng` demuxer, so every frame and its delay is kept.
    Apng,
    Jpeg,
    Gif,
    Webp,
}

impl Demuxer {
    /// ffmpeg's name of the demuxer.
    pub fn name(self) -> &'static str {
        match self {
            Demuxer::Mov => "mov",
            Demuxer::Matroska => "matroska",
            Demuxer::Mpegts => "mpegts",
            Demuxer::Avi => "avi",
            Demuxer::Wav => "wav",
            Demuxer::Mp3 => "mp3",
            Demuxer::Aac => "aac",
            Demuxer::Png => "png_pipe",
            Demuxer::Apng => "apng",
            Demuxer::Jpeg => "jpeg_pipe",
            Demuxer::Gif => "gif",
            Demuxer::Webp => "webp_pipe",
        }
    }

    /// The format of a file from its first bytes (at least 12 for RIFF and ISO BMFF, 3
    /// packets — 577 bytes — for a transport stream);
    /// `None` for anything not on the allow-list. An ID3 tag means MP3, whatever follows it.
    pub fn sniff(head: &[u8]) -> Option<Demuxer> {
        let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);
        if at(4, b"ftyp") {
            return Some(Demuxer::Mov);
        }
        if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
            return Some(Demuxer::Matroska);
        }
        if at(0, b"RIFF") {
            return match head.get(8..12)? {
                b"AVI " => Some(Demuxer::Avi),
                b"WAVE" => Some(Demuxer::Wav),
                b"WEBP" => Some(Demuxer::Webp),
                _ => None,
            };
        }
        if at(0, &[0xFF, 0xD8, 0xFF]) {
            return Some(Demuxer::Jpeg);
        }
        if at(0, &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            return Some(if is_animated_png(head) {
                Demuxer::Apng
            } else {
                Demuxer::Png
            });
        }
        if at(0, b"GIF87a") || at(0, b"GIF89a") {
            return Some(Demuxer::Gif);
        }
        if is_transport_stream(head) {
            return Some(Demuxer::Mpegts);
        }
        if at(0, b"ID3") {
            return Some(Demuxer::Mp3);
        }
        if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
            // MPEG audio frame sync: layer bits 00 mean an AAC ADTS header.
            return Some(if head[1] & 0x06 == 0 {
                Demuxer::Aac
            } else {
                Demuxer::Mp3
            });
        }
        None
    }

    /// The format of the file at `path`, read from its first [`HEAD`] bytes. `Err` names the file
    /// and the accepted formats when it is none of them.
    pub fn of_file(path: &Path) -> Result<Demuxer> {
        let mut head = Vec::with_capacity(HEAD as usize);
        std::fs::File::open(path)
            .and_then(|f| f.take(HEAD).read_to_end(&mut head))
            .map_err(|e| Error::io(path, e))?;
        Demuxer::sniff(&head).ok_or_else(|| {
            Error::input(
                path,
                format!(
                    "is not a container format this engine reads; accepted formats: {ACCEPTED}"
                ),
            )
        })
    }
}

/// How many bytes of a file [`Demuxer::of_file`] reads: three 192-byte M2TS packets.
pub const HEAD: u64 = 1024;

/// True when the PNG chunks in `head` (after the 8-byte signature) reach an `acTL` chunk
/// before the first `IDAT`: an animated PNG (APNG spec, "Structure"). Chunks are a 4-byte
/// big-endian length, a 4-byte type, the data and a 4-byte CRC.
fn is_animated_png(head: &[u8]) -> bool {
    let mut at = 8usize;
    while let Some(chunk) = head.get(at..at + 8) {
        let len = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as usize;
        match &chunk[4..8] {
            b"acTL" => return true,
            b"IDAT" => return false,
            _ => {}
        }
        at = match at.checked_add(12).and_then(|a| a.checked_add(len)) {
            Some(next) => next,
            None => return false,
        };
    }
    false
}

/// True when `head` starts with three MPEG-TS packets: the sync byte 0x47 every 188 bytes
/// (ISO/IEC 13818-1 §2.4.3.2), or every 192 bytes after a 4-byte arrival timestamp (BDAV
/// M2TS, as AVCHD camcorders write it). Three in a row, so a stray 0x47 is not enough.
fn is_transport_stream(head: &[u8]) -> bool {
    let synced =
        |first: usize, size: usize| (0..3).all(|k| head.get(first + k * size) == Some(&0x47));
    synced(0, 188) || synced(4, 192)
}

/// Add `path` as the next input of `cmd`: `-protocol_whitelist file,pipe -f <demuxer> -i
/// <path>` with the demuxer sniffed from the file (input options given before this call,
/// such as `-ss`, still apply). Works for ffmpeg; ffprobe takes the same options.
pub fn add(cmd: &mut Command, path: &Path) -> Result<Demuxer> {
    let demuxer = Demuxer::of_file(path)?;
    cmd.args(["-protocol_whitelist", PROTOCOLS, "-f", demuxer.name(), "-i"]);
    cmd.arg(path);
    Ok(demuxer)
}

/// Limit the protocols of the next input of `cmd` that is not a file (a pipe, `lavfi`).
pub fn restrict_protocols(cmd: &mut Command) {
    cmd.args(["-protocol_whitelist", PROTOCOLS]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_and_scripts_are_not_on_the_list() {
        for head in [
            &b"#EXTM3U\n#EXT-X-TARGETDURATION:3\n"[..],
            b"ffconcat version 1.0\nfile /etc/passwd\n",
            b"file '/tmp/victim.ts'\n",
            b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n",
            b"\x47\x40\x00\x10\x00",
            b"<?xml version=\"1.0\"?><MPD",
            b"",
        ] {
            assert_eq!(Demuxer::sniff(head), None, "{head:?}");
        }
        // Transport streams: 188-byte packets (.ts) and 192-byte ones (.m2ts/.mts); one
        // stray sync byte is not a stream.
        let mut ts = vec![0u8; 600];
        for k in 0..3 {
            ts[k * 188] = 0x47;
        }
        assert_eq!(Demuxer::sniff(&ts), Some(Demuxer::Mpegts));
        let mut m2ts = vec![0u8; 600];
        for k in 0..3 {
            m2ts[4 + k * 192] = 0x47;
        }
        assert_eq!(Demuxer::sniff(&m2ts), Some(Demuxer::Mpegts));
        ts[188] = 0;
        assert_eq!(Demuxer::sniff(&ts), None);
        // PNG: animated when acTL comes before IDAT.
        let chunk = |kind: &[u8], len: u32| {
            let mut c = len.to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend(std::iter::repeat_n(0u8, len as usize + 4));
            c
        };
        let sig = b"\x89PNG\r\n\x1a\n".to_vec();
        let apng = [
            sig.clone(),
            chunk(b"IHDR", 13),
            chunk(b"acTL", 8),
            chunk(b"IDAT", 4),
        ]
        .concat();
        assert_eq!(Demuxer::sniff(&apng), Some(Demuxer::Apng));
        let png = [
            sig,
            chunk(b"IHDR", 13),
            chunk(b"IDAT", 4),
            chunk(b"acTL", 8),
        ]
        .concat();
        assert_eq!(Demuxer::sniff(&png), Some(Demuxer::Png));
        // Behind an ID3 tag a playlist is read as MP3, never as HLS.
        assert_eq!(
            Demuxer::sniff(b"ID3\x04\x00\x00\x00\x00\x00\x00#EXTM3U\n"),
            Some(Demuxer::Mp3)
        );
    }
}
