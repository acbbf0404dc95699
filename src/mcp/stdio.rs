//! The stdio transport: one JSON-RPC message per line, as rmcp's own, plus what rmcp's lacks
//! (rmcp 3.11 parses one message per line only, and answers anything it cannot read with an
//! error that has no `id`):
//! - **batches** (JSON-RPC 2.0 §6; MCP 2025-03-26 requires receiving them): the messages of
//!   an array are handed to the server one by one and their responses go back as one array,
//!   in the order the answers come;
//! - **errors with `"id": null`** (JSON-RPC 2.0 §5) for unparsable input (-32700), an empty
//!   batch or a message of no known shape (-32600), where rmcp omits the id or stays silent.
//!   Sessions without `initialize` (protocol 2026-07-28 and later) omit the id, as that
//!   revision's schema says.
//!
//! Non-MCP notifications (no `id`) that do not parse are dropped silently, as rmcp does.
//!
//! Every line goes out through one writer task, in the order it was queued. `receive` never
//! awaits a write: rmcp polls it in a `select!` and drops it when another branch wins, and
//! an error answer awaited there (behind the lock of a response being written) was lost
//! with it: under load a client waited for it forever.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex as StdMutex};

use rmcp::RoleServer;
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, ServerJsonRpcMessage, ServerResult};
use rmcp::transport::Transport;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// The `_meta` key that carries the protocol version on every request from 2026-07-28 on.
const INLINE_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";

/// Longest line accepted; a longer one is discarded with an error (rmcp's limit is similar).
const MAX_LINE: usize = 64 * 1024 * 1024;

/// One batch still waiting for some of its responses.
struct Batch {
    waiting: HashSet<String>,
    responses: Vec<Value>,
}

#[derive(Default)]
struct State {
    batches: Vec<Batch>,
    /// The session used `initialize` (every revision before 2026-07-28): unreadable-id errors
    /// carry `"id": null`. Until the handshake, assume so too.
    inline_lifecycle: bool,
}

/// One line for the writer task (empty: only flush), and who waits to hear it was written.
struct Outgoing {
    bytes: Vec<u8>,
    written: Option<oneshot::Sender<std::io::Result<()>>>,
}

pub struct StdioTransport<R> {
    read: BufReader<R>,
    line: Vec<u8>,
    queue: VecDeque<ClientJsonRpcMessage>,
    out: mpsc::UnboundedSender<Outgoing>,
    state: Arc<StdMutex<State>>,
}

impl<R: AsyncRead + Unpin + Send> StdioTransport<R> {
    /// Reads messages from `read`; writes answers to `write` from a task spawned here, so
    /// it must be called inside a tokio runtime.
    pub fn new<W: AsyncWrite + Unpin + Send + 'static>(read: R, write: W) -> Self {
        let (out, lines) = mpsc::unbounded_channel();
        tokio::spawn(writer(write, lines));
        StdioTransport {
            read: BufReader::new(read),
            line: Vec::new(),
            queue: VecDeque::new(),
            out,
            state: Arc::new(StdMutex::new(State::default())),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An error nobody's id can be given to.
    fn anonymous_error(&self, code: i64, message: &str) -> Value {
        let mut v = json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}});
        if !self.state().inline_lifecycle {
            v["id"] = Value::Null;
        }
        v
    }

    /// Queue `value` for the writer, without waiting for it to be written; `Err` when the
    /// writer has stopped (stdout closed).
    fn write_value(&self, value: &Value) -> std::io::Result<()> {
        queue_line(&self.out, value, None)
    }

    /// Turn one parsed line into queued messages, answering what cannot be handed on.
    fn accept(&mut self, value: Value) -> std::io::Result<()> {
        match value {
            Value::Array(items) if items.is_empty() => {
                let err = self.anonymous_error(-32600, "Invalid Request: empty batch");
                self.write_value(&err)
            }
            Value::Array(items) => {
                let mut batch = Batch {
                    waiting: HashSet::new(),
                    responses: Vec::new(),
                };
                for item in items {
                    match self.message(item) {
                        Ok(Some(msg)) => {
                            if let JsonRpcMessage::Request(r) = &msg {
                                batch.waiting.insert(id_key(&r.id));
                            }
                            self.queue.push_back(msg);
                        }
                        Ok(None) => {}
                        Err(err) => batch.responses.push(err),
                    }
                }
                if batch.waiting.is_empty() {
                    // Nothing will be answered later: send what there is now (JSON-RPC: an
                    // all-notification batch gets no reply at all).
                    if !batch.responses.is_empty() {
                        return self.write_value(&Value::Array(batch.responses));
                    }
                    return Ok(());
                }
                self.state().batches.push(batch);
                Ok(())
            }
            other => match self.message(other) {
                Ok(Some(msg)) => {
                    self.queue.push_back(msg);
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(err) => self.write_value(&err),
            },
        }
    }

    /// One message; `Ok(None)` for an unknown notification (dropped), `Err` with the error
    /// response for anything else that is not a client message.
    fn message(&self, value: Value) -> Result<Option<ClientJsonRpcMessage>, Value> {
        let id = value.get("id").cloned().filter(|id| !id.is_null());
        let has_method = value.get("method").is_some_and(Value::is_string);
        // Per-request protocol metadata: the 2026-07-28 lifecycle (SEP-2567), no handshake.
        let inline = value
            .pointer("/params/_meta")
            .and_then(|m| m.get(INLINE_VERSION_KEY))
            .is_some();
        match serde_json::from_value::<ClientJsonRpcMessage>(value) {
            Ok(msg) => {
                if inline {
                    self.state().inline_lifecycle = true;
                }
                Ok(Some(msg))
            }
            Err(_) if has_method && id.is_none() => Ok(None),
            Err(e) => {
                let message = format!("Invalid Request: {e}");
                Err(match id {
                    Some(id) => json!({"jsonrpc": "2.0", "id": id,
                        "error": {"code": -32600, "message": message}}),
                    None => self.anonymous_error(-32600, &message),
                })
            }
        }
    }
}

fn id_key(id: &impl serde::Serialize) -> String {
    serde_json::to_string(id).unwrap_or_default()
}

fn closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdout is closed")
}

/// Queue one JSON line (`None`: flush only) for the writer task.
fn queue_line(
    out: &mpsc::UnboundedSender<Outgoing>,
    value: &Value,
    written: Option<oneshot::Sender<std::io::Result<()>>>,
) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(value)?;
    bytes.push(b'\n');
    out.send(Outgoing { bytes, written }).map_err(|_| closed())
}

/// Writes the queued lines in order, flushing after each; stops at the first write error
/// (the sender of that line hears it, later senders get `BrokenPipe`).
async fn writer<W: AsyncWrite + Unpin>(mut write: W, mut lines: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(Outgoing { bytes, written }) = lines.recv().await {
        let result = async {
            write.write_all(&bytes).await?;
            write.flush().await
        }
        .await;
        let failed = result.is_err();
        if let Err(e) = &result {
            tracing::error!("writing stdout: {e}");
        }
        if let Some(written) = written {
            let _ = written.send(result);
        }
        if failed {
            return;
        }
    }
}

/// Wait until the writer reports the line behind `written` (a stopped writer: `BrokenPipe`).
async fn heard(written: oneshot::Receiver<std::io::Result<()>>) -> std::io::Result<()> {
    written.await.unwrap_or_else(|_| Err(closed()))
}

impl<R> Transport<RoleServer> for StdioTransport<R>
where
    R: AsyncRead + Unpin + Send,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        // Decided here, synchronously, so replies keep the order rmcp sends them in.
        let (id, initialize) = match &item {
            JsonRpcMessage::Response(r) => (
                Some(id_key(&r.id)),
                matches!(r.result, ServerResult::InitializeResult(_)),
            ),
            JsonRpcMessage::Error(e) => (e.id.as_ref().map(id_key), false),
            _ => (None, false),
        };
        let mut value = serde_json::to_value(&item).unwrap_or(Value::Null);
        let to_write = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if initialize {
                state.inline_lifecycle = false;
            }
            if matches!(item, JsonRpcMessage::Error(_))
                && value.get("id").is_none()
                && !state.inline_lifecycle
            {
                value["id"] = Value::Null;
            }
            let slot = id.as_ref().and_then(|id| {
                state
                    .batches
                    .iter()
                    .position(|b| b.waiting.contains(id))
                    .map(|i| (i, id))
            });
            match slot {
                Some((i, id)) => {
                    let batch = &mut state.batches[i];
                    batch.waiting.remove(id);
                    batch.responses.push(value);
                    if batch.waiting.is_empty() {
                        let done = state.batches.remove(i);
                        Some(Value::Array(done.responses))
                    } else {
                        None
                    }
                }
                None => Some(value),
            }
        };
        // Queued now, so the order is the order rmcp calls `send` in, not the order its
        // futures happen to be polled.
        let queued = to_write.map(|v| {
            let (tx, rx) = oneshot::channel();
            queue_line(&self.out, &v, Some(tx)).map(|()| rx)
        });
        async move {
            match queued {
                Some(Ok(rx)) => heard(rx).await,
                Some(Err(e)) => Err(e),
                None => Ok(()),
            }
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        loop {
            if let Some(msg) = self.queue.pop_front() {
                return Some(msg);
            }
            // Cancel-safe: a partial line stays in `self.line` for the next call.
            match self.read.read_until(b'\n', &mut self.line).await {
                Ok(0) => return None,
                Ok(_) if !self.line.ends_with(b"\n") => {} // end of input without newline
                Ok(_) => {}
                Err(e) => {
                    tracing::error!("reading stdin: {e}");
                    return None;
                }
            }
            let raw = std::mem::take(&mut self.line);
            if raw.len() > MAX_LINE {
                let err = self.anonymous_error(-32600, "Invalid Request: message too long");
                if self.write_value(&err).is_err() {
                    return None;
                }
                continue;
            }
            let text = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&raw);
            let text = text.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let written = match serde_json::from_slice::<Value>(text) {
                Ok(value) => self.accept(value),
                Err(e) => {
                    let err = self.anonymous_error(-32700, &format!("Parse error: {e}"));
                    self.write_value(&err)
                }
            };
            if written.is_err() {
                return None;
            }
        }
    }

    /// Returns once every line queued before it is written.
    async fn close(&mut self) -> Result<(), Self::Error> {
        let (tx, rx) = oneshot::channel();
        self.out
            .send(Outgoing {
                bytes: Vec::new(),
                written: Some(tx),
            })
            .map_err(|_| closed())?;
        heard(rx).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::FutureExt;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    use super::*;

    /// rmcp drops `receive` whenever another event wins its `select!`. An error answer for
    /// a bad line must survive that, even when stdout is slow to take it (here a pipe of 8
    /// bytes: the answer cannot be written in one go).
    #[tokio::test]
    async fn an_error_answer_survives_a_dropped_receive() {
        let (mut host_in, server_in) = tokio::io::duplex(1024);
        let (server_out, host_out) = tokio::io::duplex(8);
        let mut transport = StdioTransport::new(server_in, server_out);
        host_in.write_all(b"{not json\n[]\n").await.unwrap();
        // One poll, then dropped, as a lost select! race does.
        assert!(transport.receive().now_or_never().is_none());
        let mut host_out = BufReader::new(host_out);
        for want in [-32700, -32600] {
            let mut line = String::new();
            tokio::time::timeout(Duration::from_secs(10), host_out.read_line(&mut line))
                .await
                .expect("the error answer was lost with the dropped receive")
                .unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["error"]["code"], want, "{line}");
            assert_eq!(v["id"], Value::Null, "{line}");
        }
    }

    /// Answers go out in the order `send` is called, whatever order their futures run in.
    #[tokio::test]
    async fn answers_keep_the_order_of_send() {
        let (_host_in, server_in) = tokio::io::duplex(64);
        let (server_out, host_out) = tokio::io::duplex(8);
        let mut transport = StdioTransport::new(server_in, server_out);
        let answer = |id: i64| -> ServerJsonRpcMessage {
            serde_json::from_value(json!({"jsonrpc": "2.0", "id": id, "result": {}})).unwrap()
        };
        let first = transport.send(answer(1));
        let second = transport.send(answer(2));
        let both = tokio::spawn(async move { (second.await, first.await) });
        let mut host_out = BufReader::new(host_out);
        for want in [1, 2] {
            let mut line = String::new();
            tokio::time::timeout(Duration::from_secs(10), host_out.read_line(&mut line))
                .await
                .expect("an answer was not written")
                .unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(v["id"], want, "{line}");
        }
        let (a, b) = both.await.unwrap();
        a.unwrap();
        b.unwrap();
    }
}
