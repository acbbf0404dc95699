//! Upload sniffing: the demuxer chosen from a file's first bytes. Any bytes give a format on
//! the allow-list or `None`, never a panic; a format is never picked for a text playlist.
#![no_main]

use ebc::engine::ffmpeg::input::Demuxer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sniffed = Demuxer::sniff(data);
    if let Some(d) = sniffed {
        assert!(!d.name().is_empty());
    }
    // Prefixes sniff without panics too (uploads may be shorter than the sniff window).
    for n in [0, 1, 2, 3, 4, 8, 11, 12] {
        if n <= data.len() {
            let _ = Demuxer::sniff(&data[..n]);
        }
    }
    if data.starts_with(b"#EXTM3U") || data.starts_with(b"ffconcat") || data.starts_with(b"<?xml") {
        assert_eq!(
            sniffed, None,
            "a text playlist or manifest sniffed as media"
        );
    }
});
