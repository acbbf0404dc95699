//! The server: shared state, the tool and prompt routers, and the `ServerHandler` answering
//! `initialize` at once — the backend is chosen on the first tool call, not at startup.

use std::sync::Arc;

use rmcp::{
    ServerHandler,
    handler::server::router::{prompt::PromptRouter, tool::ToolRouter},
    model::{Implementation, ServerCapabilities, ServerConfig},
    prompt_handler, tool_handler,
};

use super::connect::Connector;
use super::jobs::Jobs;
use super::settings::McpSettings;
use super::uploads::Uploads;

const INSTRUCTIONS: &str = "Edits videos through the NemoVideo editor: upload_media adds clips \
(local paths or URLs), replace_background swaps the background behind people (with a before/after \
preview), edit_video makes any other edit in plain words, show_timeline shows the project, \
export_video saves an MP4, get_credits shows the balance. Long calls return status \"running\" \
with a job_id: call the same tool again with {\"job_id\": ...} to keep waiting.";

pub(super) struct Shared {
    pub settings: McpSettings,
    pub connector: Connector,
    pub jobs: Jobs,
    pub uploads: Arc<Uploads>,
}

#[derive(Clone)]
pub struct EbcServer {
    pub(super) shared: Arc<Shared>,
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
}

impl EbcServer {
    /// Cheap: nothing is started until the first tool call.
    pub fn new(settings: McpSettings) -> Self {
        let shared = Shared {
            connector: Connector::new(settings.clone()),
            jobs: Jobs::new(settings.call_budget),
            uploads: Arc::new(Uploads::default()),
            settings,
        };
        EbcServer {
            shared: Arc::new(shared),
            tool_router: Self::tool_router(),
            prompt_router: Self::prompt_router(),
        }
    }

    /// Stop the embedded backend if one was started.
    pub async fn shutdown(&self) {
        self.shared.connector.shutdown().await;
    }

    /// The tools as listed to hosts (for the manifest check and `doctor`).
    pub fn tools(&self) -> Vec<rmcp::model::Tool> {
        self.tool_router.list_all()
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for EbcServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new(crate::SKILL_SOURCE, crate::VERSION))
        .with_instructions(INSTRUCTIONS)
    }
}
