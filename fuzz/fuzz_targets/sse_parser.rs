//! The incremental SSE parser (`api::sse_parser`): any bytes, cut into chunks anywhere, give
//! the same frames as the whole stream in one push, and never panic.
#![no_main]

use ebc::api::sse_parser::SseParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk length, so splits fall inside lines, `\r\n` and UTF-8.
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let mut whole = SseParser::new();
    let mut frames = whole.push(body);
    frames.extend(whole.finish());

    let step = usize::from(cut % 17) + 1;
    let mut pieces = SseParser::new();
    let mut chunked = Vec::new();
    for chunk in body.chunks(step) {
        chunked.extend(pieces.push(chunk));
    }
    chunked.extend(pieces.finish());
    assert_eq!(frames, chunked, "chunking changed the frames (step {step})");

    for frame in &frames {
        let _ = frame.agent_events();
    }
});
