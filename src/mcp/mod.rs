//! The rmcp server: tools, prompts and progress over stdio, translating backend answers into
//! what an AI assistant can act on. One file per concern: `server` (state and handler),
//! `tools` (thin handlers), `types` (arguments and results), `prompts`, `jobs` (long-call
//! continuation), `progress`, `work` (what each long tool does), `connect` (backend choice),
//! `gui_speak` (GUI directions → tool calls), `timeline` (summary line), `paths`, `preview`
//! (the backend's before/after image, fetched through the client), `app` (the MCP App
//! resource and the preview clips it reads). `backend` is imported by
//! `connect` only, to start the embedded one.

pub mod app;
mod args;
mod attach;
mod connect;
mod consent;
pub mod content;
mod file_arg;
pub mod gui_speak;
pub mod hosts;
mod jobs;
mod paths;
mod preview;
mod progress;
mod prompts;
mod records;
mod request_state;
mod save;
pub mod schema;
mod server;
mod settings;
mod stdio;
mod tasks;
pub mod timeline;
mod tools;
pub mod types;
mod work;

pub use connect::answers as cloud_answers;
pub use server::EbcServer;
pub use settings::{DEFAULT_CALL_BUDGET, DEFAULT_PROBE_TIMEOUT, McpSettings};

use rmcp::ServiceExt;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the MCP handshake on stdio failed: {0}")]
    Handshake(String),
    #[error("the MCP server stopped unexpectedly: {0}")]
    Task(String),
}

/// Serve MCP on stdin/stdout until the host closes the connection.
pub async fn serve_stdio(settings: McpSettings) -> Result<(), ServeError> {
    let swept = save::sweep(&settings.client.state_dir);
    if swept > 0 {
        tracing::info!(
            swept,
            "removed unfinished exports of an earlier, killed run"
        );
    }
    let server = EbcServer::new(settings);
    let running = server
        .clone()
        .serve(stdio::StdioTransport::new(
            tokio::io::stdin(),
            tokio::io::stdout(),
        ))
        .await
        .map_err(|e| ServeError::Handshake(e.to_string()))?;
    tracing::info!("MCP server ready on stdio");
    let reason = running.waiting().await;
    server.shutdown().await;
    match reason {
        Ok(reason) => {
            tracing::info!(?reason, "MCP server stopped");
            Ok(())
        }
        Err(e) => Err(ServeError::Task(e.to_string())),
    }
}
