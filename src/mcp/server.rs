//! The server: shared state, the tool and prompt routers, and the `ServerHandler` answering
//! `initialize` at once — the backend is chosen on the first tool call, not at startup.

use std::sync::Arc;

use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    handler::server::{
        router::{prompt::PromptRouter, tool::ToolRouter},
        tool::ToolCallContext,
    },
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock,
        GetTaskParams, GetTaskResult, Implementation, ListResourcesResult, ListToolsResult,
        PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
        ServerCapabilities, ServerConfig,
    },
    prompt_handler,
    service::RequestContext,
    tool_handler,
};

use super::app::{self, PreviewClips};
use super::connect::Connector;
use super::consent;
use super::content;
use super::jobs::Jobs;
use super::records::Records;
use super::request_state::{self, States};
use super::settings::McpSettings;
use super::tasks;

const INSTRUCTIONS: &str = "Edits videos through the NemoVideo editor: upload_media adds clips \
(local paths or URLs), replace_background swaps the background behind people (with a before/after \
preview), edit_video makes any other edit in plain words, show_timeline shows the project, \
export_video saves an MP4, get_credits shows the balance. Long calls return status \"running\" \
with a job_id: call the same tool again with {\"job_id\": ...} to keep waiting.";

pub(super) struct Shared {
    pub settings: McpSettings,
    pub connector: Connector,
    pub jobs: Jobs,
    /// Preview clips the app reads through `resources/read`.
    pub clips: Arc<PreviewClips>,
    /// The sealed `requestState`s of 2026-07-28 consent and top-up rounds (per process).
    pub states: Arc<States>,
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
            jobs: Jobs::new(
                settings.call_budget,
                Some(Records::open(&settings.client.state_dir)),
            ),
            clips: Arc::new(PreviewClips::default()),
            states: Arc::new(States::new()),
            settings,
        };
        let mut tool_router = Self::tool_router();
        for route in tool_router.map.values_mut() {
            let tool = &mut route.attr;
            tool.input_schema = Arc::new(super::schema::host_safe(&tool.input_schema));
            if let Some(output) = &tool.output_schema {
                tool.output_schema = Some(Arc::new(super::schema::host_safe(output)));
            }
            // Hosts with MCP Apps show the app with these tools' results.
            if app::APP_TOOLS.contains(&tool.name.as_ref()) {
                tool.meta = Some(app::tool_meta());
            }
        }
        EbcServer {
            shared: Arc::new(shared),
            tool_router,
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
    /// The router's answer, cut down to what the negotiated protocol version defines.
    /// A long tool for a client that declared the tasks extension answers with a task (see
    /// `tasks`).
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let version = context.protocol_version();
        // An argument the tool does not know is a tool error naming it (not ignored).
        let no_args = rmcp::model::JsonObject::new();
        if let Some(route) = self.tool_router.map.get(request.name.as_ref())
            && let Some(message) = super::args::unknown_argument(
                &request.name,
                &route.attr.input_schema,
                request.arguments.as_ref().unwrap_or(&no_args),
            )
        {
            let refused = CallToolResult::error(vec![ContentBlock::text(message)]);
            return Ok(content::response_for_version(
                refused.into(),
                version.as_ref(),
            ));
        }
        let as_task = tasks::eligible(&request.name, request.arguments.as_ref(), &context);
        if as_task {
            context.extensions.insert(tasks::NoWait);
        }
        // Consent on 2026-07-28 asks by answering `input_required` (see `consent`); a
        // `requestState` this process did not give for this call (or gave and got back
        // already, or too long ago) is refused before anything runs. Older versions have no
        // such rounds: a stray state there is ignored.
        let modern = consent::speaks_rounds(version.as_ref());
        let rounds = match consent::Rounds::of(&request, &self.shared.states, modern) {
            Ok(rounds) => rounds,
            Err(why) => {
                tracing::warn!(tool = %request.name, reason = %why, "refused a requestState");
                let refused = CallToolResult::error(vec![ContentBlock::text(
                    request_state::refusal_text(&request.name),
                )]);
                return Ok(content::response_for_version(
                    refused.into(),
                    version.as_ref(),
                ));
            }
        };
        context.extensions.insert(rounds.clone());
        // The retry after the top-up page was offered: the call's answer again, kept with the
        // sealed state, not the call again (its jobs are over: they ran out of credits).
        if let Some(kept) = rounds.top_up_answer() {
            let answer = consent::top_up_answered(kept, &rounds);
            return Ok(content::response_for_version(
                answer.into(),
                version.as_ref(),
            ));
        }
        let tool = request.name.clone();
        let tcc = ToolCallContext::new(self, request, context);
        let response = self.tool_router.call(tcc).await?;
        if let Some(needed) = rounds.needed() {
            return Ok(CallToolResponse::InputRequired(needed));
        }
        let response = content::response_for_version(response, version.as_ref());
        Ok(if as_task {
            tasks::created(&tool, response)
        } else {
            response
        })
    }

    /// `tasks/get`: the job's state, read as a `job_id` continuation that does not wait (an
    /// export left unfinished by a killed process is started again under its id).
    async fn get_task(
        &self,
        request: GetTaskParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        let id = request.task_id;
        let Some((tool, started)) = self.shared.jobs.describe(&id) else {
            return Err(McpError::invalid_params(
                format!("no task {id} is known"),
                None,
            ));
        };
        if tasks::expired(started) {
            return Err(McpError::invalid_params(
                format!("task {id} has expired (its TTL is {} ms)", tasks::TTL_MS),
                None,
            ));
        }
        let version = context.protocol_version();
        context.extensions.insert(tasks::NoWait);
        let answer = self
            .resume(tool, &id, &context)
            .await
            .map(|r| content::for_version(r, version.as_ref()));
        tasks::detailed(tool, &id, answer, started).map(GetTaskResult::new)
    }

    /// `tasks/cancel`: cancels the job (a render is cancelled on the backend too).
    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        if self.shared.jobs.cancel(&request.task_id) {
            Ok(())
        } else {
            Err(McpError::invalid_params(
                format!("no running task {} in this process", request.task_id),
                None,
            ))
        }
    }

    /// The tools as the negotiated protocol version defines them (see `content`).
    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let version = context.protocol_version();
        let tools = content::tools_for_version(self.tool_router.list_all(), version.as_ref());
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(vec![app::listed()]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        match app::read(&request.uri, &self.shared.clips) {
            Some(result) => Ok(result.into()),
            None => Err(McpError::resource_not_found(
                format!(
                    "no resource {}: the app is {} and preview clips are kept for the last few edits only",
                    request.uri,
                    app::APP_URI
                ),
                None,
            )),
        }
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_prompts()
                .enable_resources()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new(crate::SKILL_SOURCE, crate::VERSION))
        .with_instructions(INSTRUCTIONS)
    }
}
