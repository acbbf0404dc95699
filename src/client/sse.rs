//! Reads an SSE answer body chunk by chunk through `api::sse_parser`, yielding agent events
//! and how the stream ended (closed cleanly, or broken mid-way).

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::api::sse::AgentEvent;
use crate::api::sse_parser::SseParser;

/// One step of the stream.
#[derive(Debug)]
pub enum Step {
    /// Events completed by the latest chunk (may be empty: a chunk inside an event).
    Events(Vec<AgentEvent>),
    /// The server closed the stream; the last events, if any, come with it.
    Closed(Vec<AgentEvent>),
    /// The connection broke mid-stream (reset, truncated chunked body).
    Broken,
}

pub struct SseReader {
    body: BoxStream<'static, Result<Bytes, String>>,
    parser: SseParser,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self::from_stream(
            response
                .bytes_stream()
                .map(|r| r.map_err(|e| e.without_url().to_string()))
                .boxed(),
        )
    }

    /// Any byte stream; an `Err` item is a broken connection.
    pub fn from_stream(body: BoxStream<'static, Result<Bytes, String>>) -> Self {
        SseReader {
            body,
            parser: SseParser::new(),
        }
    }

    /// The next step; after `Closed` or `Broken` the reader is spent.
    pub async fn next(&mut self) -> Step {
        match self.body.next().await {
            Some(Ok(chunk)) => Step::Events(
                self.parser
                    .push(&chunk)
                    .iter()
                    .flat_map(|f| f.agent_events())
                    .collect(),
            ),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "event stream broke");
                Step::Broken
            }
            None => Step::Closed(
                self.parser
                    .finish()
                    .iter()
                    .flat_map(|f| f.agent_events())
                    .collect(),
            ),
        }
    }
}
