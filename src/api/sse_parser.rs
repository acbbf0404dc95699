//! Incremental `text/event-stream` parser: bytes in, frames out, with chunk boundaries
//! anywhere (inside a line, inside a `\r\n`, inside a UTF-8 sequence). Follows the WHATWG
//! event-stream rules the contract needs: `\r\n` / `\r` / `\n` line ends, `: …` comments
//! (heartbeats), multi-line `data:` joined with `\n`, an event ends at a blank line.

use serde_json::Value;

use super::sse::{AgentEvent, events_from_json};

/// One dispatched unit of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SseFrame {
    /// A comment line (`: keep-alive`), used by servers as a heartbeat.
    Comment(String),
    /// One event's data (lines joined with `\n`); `event` is its `event:` field, if any.
    Data { event: Option<String>, data: String },
}

impl SseFrame {
    /// The agent events this frame carries: comments and empty data are heartbeats, JSON
    /// payloads go through `events_from_json`, anything else is ignored (the stream goes on).
    pub fn agent_events(&self) -> Vec<AgentEvent> {
        match self {
            SseFrame::Comment(_) => vec![AgentEvent::Heartbeat],
            SseFrame::Data { data, .. } => decode_payload(data),
        }
    }
}

/// Decode one `data:` payload into agent events.
pub fn decode_payload(data: &str) -> Vec<AgentEvent> {
    let trimmed = data.trim();
    if trimmed.is_empty() {
        return vec![AgentEvent::Heartbeat];
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(v) => events_from_json(&v),
        Err(_) => Vec::new(),
    }
}

/// The parser state. Feed it with `push`, then call `finish` once the connection closed.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, not yet terminated line.
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a leading `\n` in the next one belongs to it.
    skip_lf: bool,
    /// Nothing read yet: a leading UTF-8 BOM is dropped.
    at_start: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        SseParser {
            at_start: true,
            ..Default::default()
        }
    }

    /// Feed a chunk; returns the frames completed by it, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseFrame> {
        let mut out = Vec::new();
        let mut bytes = chunk;
        if self.skip_lf && !bytes.is_empty() {
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
            self.skip_lf = false;
        }
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    self.line.extend_from_slice(&bytes[start..i]);
                    self.end_line(&mut out);
                    start = i + 1;
                }
                b'\r' => {
                    self.line.extend_from_slice(&bytes[start..i]);
                    self.end_line(&mut out);
                    if i + 1 < bytes.len() {
                        if bytes[i + 1] == b'\n' {
                            i += 1;
                        }
                    } else {
                        self.skip_lf = true;
                    }
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        self.line.extend_from_slice(&bytes[start..]);
        out
    }

    /// The connection closed. A final event whose data lines were complete but that lacked
    /// the closing blank line is still dispatched: servers without an end marker do that.
    pub fn finish(&mut self) -> Vec<SseFrame> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            // An unterminated last line is incomplete: drop it, as the spec says.
            self.line.clear();
        }
        self.dispatch(&mut out);
        out
    }

    fn end_line(&mut self, out: &mut Vec<SseFrame>) {
        let raw = std::mem::take(&mut self.line);
        let mut bytes = raw.as_slice();
        if self.at_start {
            self.at_start = false;
            if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
                bytes = rest;
            }
        }
        // Lines are complete here, so a UTF-8 sequence split across chunks is whole again.
        let line = String::from_utf8_lossy(bytes);
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if let Some(comment) = line.strip_prefix(':') {
            out.push(SseFrame::Comment(
                comment.strip_prefix(' ').unwrap_or(comment).to_string(),
            ));
            return;
        }
        let (field, value) = match line.find(':') {
            Some(pos) => {
                let value = &line[pos + 1..];
                (&line[..pos], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            // `id` and `retry` matter only to browsers reconnecting; the client never
            // reconnects a run (that would re-send the message).
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseFrame>) {
        let event = self.event.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(SseFrame::Data {
            event,
            data: std::mem::take(&mut self.data),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseFrame> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.push(c));
        }
        out.extend(p.finish());
        out
    }

    fn data(s: &str) -> SseFrame {
        SseFrame::Data {
            event: None,
            data: s.to_string(),
        }
    }

    #[test]
    fn comments_multiline_data_and_all_line_ends() {
        let stream = b": ping\r\ndata: a\rdata: b\n\r\nevent: x\ndata:{\"k\":1}\n\n";
        let frames = parse_all(&[stream]);
        assert_eq!(
            frames,
            vec![
                SseFrame::Comment("ping".into()),
                data("a\nb"),
                SseFrame::Data {
                    event: Some("x".into()),
                    data: "{\"k\":1}".into()
                },
            ]
        );
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_end() {
        let frames = parse_all(&[b"data: a\r", b"\n\r", b"\n"]);
        assert_eq!(frames, vec![data("a")]);
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let s = "data: {\"type\":\"text\",\"content\":\"背景 ✓\"}\n\n".as_bytes();
        let cut = s.iter().position(|&b| b >= 0x80).unwrap() + 1;
        let frames = parse_all(&[&s[..cut], &s[cut..]]);
        assert_eq!(
            frames[0].agent_events(),
            vec![AgentEvent::Text {
                text: "背景 ✓".into(),
                partial: false
            }]
        );
    }

    #[test]
    fn blank_lines_without_data_dispatch_nothing_and_empty_data_is_heartbeat() {
        let frames = parse_all(&[b"\n\n\ndata:\n\n"]);
        assert_eq!(frames, vec![data("")]);
        assert_eq!(frames[0].agent_events(), vec![AgentEvent::Heartbeat]);
    }

    #[test]
    fn unterminated_last_event_is_flushed_but_a_partial_line_is_not() {
        assert_eq!(parse_all(&[b"data: 1\n"]), vec![data("1")]);
        assert_eq!(parse_all(&[b"data: 1\ndata: 2"]), vec![data("1")]);
    }

    #[test]
    fn bom_and_non_json_payloads() {
        let frames = parse_all(&["\u{feff}data: [DONE]\n\n".as_bytes()]);
        assert_eq!(frames, vec![data("[DONE]")]);
        assert!(frames[0].agent_events().is_empty());
    }

    fn line_end() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]
    }

    /// One encoded event: comment, or 1–3 data lines of arbitrary text (including non-ASCII).
    fn event() -> impl Strategy<Value = String> {
        let text = "[^\r\n]{0,12}";
        prop_oneof![
            (text, line_end()).prop_map(|(t, e)| format!(":{t}{e}")),
            (
                proptest::collection::vec((text, line_end()), 1..4),
                line_end()
            )
                .prop_map(|(lines, end)| {
                    let mut s = String::new();
                    for (t, e) in lines {
                        s.push_str("data: ");
                        s.push_str(&t);
                        s.push_str(e);
                    }
                    s.push_str(end);
                    s
                }),
            (text, line_end()).prop_map(|(t, e)| {
                let json = serde_json::json!({"type":"text","content": t}).to_string();
                format!("data: {json}{e}{e}")
            }),
        ]
    }

    proptest! {
        /// Arbitrary bytes (invalid UTF-8, stray `\r`, no blank lines) never panic, and
        /// splitting them anywhere changes nothing.
        #[test]
        fn arbitrary_bytes_split_anywhere(
            stream in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b':'), Just(0xE8), any::<u8>()],
                0..200,
            ),
            cut in any::<prop::sample::Index>(),
        ) {
            let at = cut.index(stream.len() + 1);
            let whole = parse_all(&[&stream]);
            prop_assert_eq!(parse_all(&[&stream[..at], &stream[at..]]), whole);
        }

        #[test]
        fn any_split_gives_the_same_frames(
            events in proptest::collection::vec(event(), 0..8),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let stream: Vec<u8> = events.concat().into_bytes();
            let whole = parse_all(&[&stream]);
            let mut points: Vec<usize> =
                cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut prev = 0;
            for p in points {
                chunks.push(&stream[prev..p]);
                prev = p;
            }
            chunks.push(&stream[prev..]);
            prop_assert_eq!(&parse_all(&chunks), &whole);
            // Byte by byte, the harshest split of all.
            let bytes: Vec<&[u8]> = stream.chunks(1).collect();
            prop_assert_eq!(&parse_all(&bytes), &whole);
        }
    }
}
