//! The tools: thin handlers that check the arguments, get the connection and hand the work to
//! a job (long tools) or make one client call (credits, timeline).

use std::sync::Arc;

use rmcp::{
    ErrorData as McpError, Json, RoleServer,
    handler::server::{tool::schema_for_output, wrapper::Parameters},
    model::{CallToolResponse, CallToolResult, ContentBlock},
    service::RequestContext,
    tool, tool_router,
};

use super::attach;
use super::connect::Connection;
use super::consent::{self, Ask, Spend, Verdict};
use super::file_arg::file_arg;
use super::jobs::{self, Failure, Found, JobCtx, Outcome};
use super::paths::{self, MediaRef};
use super::records::JobRecord;
use super::server::EbcServer;
use super::timeline;
use super::types::{
    CreditsResponse, EditResponse, EditVideoRequest, ExportVideoRequest, ExportVideoResponse,
    ReplaceBackgroundRequest, TimelineResponse, TimelineVersion, UploadMediaRequest,
    UploadMediaResponse,
};
use super::work::{self, ExportPlan, ExportScope, ReplacePlan};
use crate::api::{ClipRef, Draft};
use crate::client::TopUpPage;

/// A user-fixable failure is a tool error the model reads (`is_error`); an internal one is a
/// protocol error.
impl rmcp::handler::server::tool::IntoCallToolResult for Failure {
    fn into_call_tool_result(self) -> Result<CallToolResponse, McpError> {
        match self {
            Failure::User(message) | Failure::OutOfCredits { message, .. } => {
                Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into())
            }
            Failure::Internal(message) => Err(McpError::internal_error(message, None)),
        }
    }
}

impl EbcServer {
    /// Continue waiting for job `id` of `tool` (also how `tasks/get` reads a task).
    pub(super) async fn resume(
        &self,
        tool: &'static str,
        id: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        match self.shared.jobs.resume(tool, id) {
            Ok(Found::Held(job)) => {
                let result = self.shared.jobs.wait(&job, ctx).await?;
                Ok(self
                    .offer_top_up(result, job.top_up_page().as_ref(), ctx)
                    .await)
            }
            Ok(Found::Restart(rec)) => self.restart(*rec, ctx).await,
            Err(f) => jobs::failure_result(self.shared.connector.label().as_deref(), f),
        }
    }

    /// Start again, under its id, a job an earlier run of this server left unfinished (only
    /// exports are recorded so that they can be: the render is found again, not repeated).
    async fn restart(
        &self,
        rec: JobRecord,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        // Agreed to on the backend it started on: an export begun on the free local backend
        // is not continued on the paid cloud (or the other way) without being asked again.
        let conn = match self.shared.connector.get().await {
            Ok(conn) => conn,
            Err(f) => return jobs::failure_result(None, f),
        };
        if conn.label != rec.backend {
            return jobs::failure_result(
                Some(&conn.label),
                Failure::User(format!(
                    "Job {} was an export on the {} backend, and this server now uses the {} backend, so it is not continued here (that could spend credits or send the project somewhere the user did not agree to). Call export_video again to export on the {} backend.",
                    rec.id, rec.backend, conn.label, conn.label
                )),
            );
        }
        let state_dir = self.shared.settings.client.state_dir.clone();
        match ExportPlan::from_args(&rec.args, state_dir) {
            Some(plan) if rec.kind == "export_video" => {
                tracing::info!(job = %rec.id, "continuing an export started before a restart");
                let args = plan.args();
                // Agreed to when it was first asked for, on this same backend (checked above).
                let ask = Ask::none();
                self.launch_recorded(
                    "export_video",
                    ctx,
                    ask,
                    Some(rec.id),
                    args,
                    move |conn, job| work::export_video(conn, plan, job),
                )
                .await
            }
            _ => jobs::failure_result(
                None,
                Failure::User(format!(
                    "Job {} cannot be continued after the restart; call {} again.",
                    rec.id, rec.kind
                )),
            ),
        }
    }

    /// `launch`, recording `args` under `id` (new when `None`) so that the job can be started
    /// again after a restart.
    async fn launch_recorded<F, Fut>(
        &self,
        tool: &'static str,
        ctx: &RequestContext<RoleServer>,
        ask: Ask,
        id: Option<String>,
        args: serde_json::Value,
        work: F,
    ) -> Result<CallToolResult, McpError>
    where
        F: FnOnce(Arc<Connection>, JobCtx) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let conn = match self.shared.connector.get().await {
            Ok(conn) => conn,
            Err(f) => return jobs::failure_result(None, f),
        };
        if let Verdict::Refused(result) = consent::ask(&ask, &conn, ctx).await {
            return Ok(result);
        }
        let label = conn.label.clone();
        let job = self
            .shared
            .jobs
            .start_recorded(tool, &label, id, args, move |job| work(conn, job));
        let result = self.shared.jobs.wait(&job, ctx).await?;
        // Out of credits (the job's failure says so as data): the page is offered.
        Ok(self
            .offer_top_up(result, job.top_up_page().as_ref(), ctx)
            .await)
    }

    /// `result`, after offering the registration / top-up page when it says the credits ran
    /// out (code 2001) and the client can open a URL (see `consent`).
    async fn offer_top_up(
        &self,
        result: CallToolResult,
        page: Option<&TopUpPage>,
        ctx: &RequestContext<RoleServer>,
    ) -> CallToolResult {
        consent::offer_top_up(result, page, &self.shared.settings.client.web_url, ctx).await
    }

    /// Start `work` as a job of `tool` on the connection and wait for it within the budget,
    /// once the user agreed to what `ask` names (see `consent`).
    async fn launch<F, Fut>(
        &self,
        tool: &'static str,
        ctx: &RequestContext<RoleServer>,
        ask: Ask,
        work: F,
    ) -> Result<CallToolResult, McpError>
    where
        F: FnOnce(Arc<Connection>, JobCtx) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let conn = match self.shared.connector.get().await {
            Ok(conn) => conn,
            Err(f) => return jobs::failure_result(None, f),
        };
        if let Verdict::Refused(result) = consent::ask(&ask, &conn, ctx).await {
            return Ok(result);
        }
        let label = conn.label.clone();
        let job = self
            .shared
            .jobs
            .start(tool, &label, move |job| work(conn, job));
        let result = self.shared.jobs.wait(&job, ctx).await?;
        // Out of credits (the job's failure says so as data): the page is offered.
        Ok(self
            .offer_top_up(result, job.top_up_page().as_ref(), ctx)
            .await)
    }

    /// `each: true`: once the user agreed to the whole set (one consent form saying how many
    /// renders, see `consent`), one recorded export job per clip — its own id, record,
    /// progress and file — all started at once and waited for together within the call budget. The
    /// result lists every clip's job (id, clip, state, path when saved); each one is
    /// followed alone with `{"job_id": …}` (and survives a restart like any export).
    async fn export_each(
        &self,
        plan: ExportPlan,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let conn = match self.shared.connector.get().await {
            Ok(conn) => conn,
            Err(f) => return jobs::failure_result(None, f),
        };
        let label = conn.label.clone();
        let plans = match work::each_plans(&conn, &plan).await {
            Ok(plans) => plans,
            Err(f) => return jobs::failure_result(Some(&label), f),
        };
        let count = plans.len();
        // One question for the whole set, before any render starts: every clip is a render.
        let ask = Ask::spending(Spend::RenderEach(count), &[]);
        if let Verdict::Refused(result) = consent::ask(&ask, &conn, ctx).await {
            return Ok(result);
        }
        let mut started = Vec::with_capacity(count);
        for (i, (clip, one)) in plans.into_iter().enumerate() {
            let (conn, args) = (conn.clone(), one.args());
            let job =
                self.shared
                    .jobs
                    .start_recorded("export_video", &label, None, args, move |job| {
                        work::export_video(conn, one, job)
                    });
            job.hand_out();
            started.push((format!("Clip {} of {count} ({clip})", i + 1), job, clip));
        }
        let waited: Vec<(String, Arc<jobs::Job>)> = started
            .iter()
            .map(|(l, j, _)| (l.clone(), j.clone()))
            .collect();
        self.shared.jobs.wait_all(&waited, ctx).await?;
        let entries: Vec<work::EachEntry> = started
            .into_iter()
            .map(|(_, job, clip)| work::EachEntry {
                clip,
                job_id: job.id().to_string(),
                outcome: job.outcome(),
            })
            .collect();
        let result = work::each_result(&label, &plan.dest.path, &plan, &entries);
        // Clips that failed out of credits (as data, not text): the page is offered once for
        // the call, the first such clip's.
        let page = entries.iter().find_map(|e| {
            e.outcome
                .as_deref()
                .and_then(|o| o.as_ref().err())
                .and_then(Failure::top_up_page)
        });
        Ok(self.offer_top_up(result, page, ctx).await)
    }

    async fn connection(&self) -> Result<Arc<Connection>, Failure> {
        self.shared.connector.get().await
    }
}

/// What export_video renders: the timeline, one clip, or every clip to its own file.
fn export_scope(media: Option<&serde_json::Value>, each: bool) -> Result<ExportScope, Failure> {
    let clip = match media {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(serde_json::from_value::<ClipRef>(v.clone()).ok().filter(|c| {
            !matches!(c, ClipRef::Index(0)) && !matches!(c, ClipRef::Name(n) if n.trim().is_empty())
        }).ok_or_else(|| {
            Failure::User(format!(
                "`media` {v} is not a clip: give its name from upload_media, its 1-based position, or \"first\"/\"last\"."
            ))
        })?),
    };
    match (clip, each) {
        (Some(_), true) => Err(Failure::User(
            "Pass `media` (one clip) or `each: true` (every clip), not both.".into(),
        )),
        (Some(c), false) => Ok(ExportScope::Clip(c)),
        (None, true) => Ok(ExportScope::Each),
        (None, false) => Ok(ExportScope::Timeline),
    }
}

#[tool_router(vis = "pub(super)")]
impl EbcServer {
    #[tool(
        name = "upload_media",
        description = "Add video, image or audio files to the editing project: local paths (absolute or starting with ~) or http(s) URLs, several at once; never base64 data. Returns each file's name, kind, duration and size, plus the timeline. Long uploads return status \"running\" with a job_id: call again with {\"job_id\": ...} to keep waiting.",
        output_schema = schema_for_output::<UploadMediaResponse>(),
        annotations(
            title = "Upload media",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn upload_media(
        &self,
        Parameters(req): Parameters<UploadMediaRequest>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        if let Some(id) = req.job_id.as_deref() {
            return self.resume("upload_media", id, &ctx).await;
        }
        if req.media.is_empty() {
            return jobs::failure_result(
                None,
                Failure::User(
                    "Pass `media`: one or more local file paths or http(s) URLs to upload.".into(),
                ),
            );
        }
        let home = self.shared.settings.home.clone();
        let refs: Result<Vec<MediaRef>, Failure> = req
            .media
            .iter()
            .map(|m| paths::media_ref(m, home.as_deref()))
            .collect();
        let refs = match refs {
            Ok(refs) => refs,
            Err(f) => return jobs::failure_result(None, f),
        };
        // Files the user named to upload_media: what the call is for, not asked again.
        self.launch("upload_media", &ctx, Ask::none(), move |conn, job| {
            work::upload_media(conn, refs, job)
        })
        .await
    }

    #[tool(
        name = "replace_background",
        description = "Replace the background behind the people in the project's video clips. Give the user's instruction (e.g. \"replace my office background with a clean studio backdrop\") and/or a backdrop: a description (\"clean studio backdrop\", \"gradient navy to teal\", \"blur\", \"#1E90FF\", \"green screen\") or an image/video path or URL. Optional `media` picks the clip: a name from upload_media, or a path/URL to upload first. Returns what changed, the timeline, and a small before/after JPEG preview when the backend makes one (the local backend does). Long edits return status \"running\" with a job_id: call again with {\"job_id\": ...} to keep waiting.",
        output_schema = schema_for_output::<EditResponse>(),
        annotations(
            title = "Replace background",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn replace_background(
        &self,
        Parameters(req): Parameters<ReplaceBackgroundRequest>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        if let Some(id) = req.job_id.as_deref() {
            return self.resume("replace_background", id, &ctx).await;
        }
        let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let (instruction, backdrop, media) = (
            clean(req.instruction),
            clean(req.backdrop),
            clean(req.media),
        );
        // `media` is an uploaded name unless it is a URL or names a file on this machine.
        let home = self.shared.settings.home.clone();
        let mut upload_first = None;
        let mut media_name = media.clone();
        if let Some(m) = &media {
            let local = paths::expand(m, home.as_deref());
            // A clip given by its path is uploaded (again): the backend reuses the file it
            // already has in this session, and a new session gets it.
            if paths::is_url(m) || (local.is_absolute() && local.exists()) {
                match paths::media_ref(m, home.as_deref()) {
                    Ok(r) => {
                        upload_first = Some(r);
                        media_name = None;
                    }
                    Err(f) => return jobs::failure_result(None, f),
                }
            }
        }
        // Backdrop files (the `backdrop` argument, or paths in the instruction) are uploaded
        // as media first.
        // A path as users write it (spaces, quotes, upper-case extensions, ~, file: URIs) is
        // a file to upload, never words for the backend.
        let mut attachments = Vec::new();
        if let Some(b) = backdrop.as_deref()
            && let Some(r) = file_arg(b, home.as_deref())
        {
            match r {
                Ok(r) => attachments.push(attach::Attachment {
                    written: b.to_string(),
                    media: r,
                }),
                Err(f) => return jobs::failure_result(None, f),
            }
        }
        if let Some(i) = instruction.as_deref() {
            match attach::in_text(i, home.as_deref()) {
                Ok(found) => attachments.extend(found),
                Err(f) => return jobs::failure_result(None, f),
            }
        }
        let Some(message) = work::replace_message(
            instruction.as_deref(),
            backdrop.as_deref(),
            media_name.as_deref(),
        ) else {
            return jobs::failure_result(
                None,
                Failure::User(
                    "Say what the new background should be: pass `backdrop` (e.g. \"clean studio backdrop\", \"#1E90FF\", \"blur\", or an image path) or an `instruction`.".into(),
                ),
            );
        };
        // The clip given as a path leaves this computer too: named in the form.
        let mut ask = Ask::spending(Spend::Edit("replace the background"), &attachments);
        if let Some(MediaRef::File(p)) = &upload_first {
            ask.files.insert(0, p.display().to_string());
        }
        let plan = ReplacePlan {
            message,
            upload_first,
            backdrop,
            instruction,
            attachments,
            clips: self.shared.clips.clone(),
        };
        self.launch("replace_background", &ctx, ask, move |conn, job| {
            work::replace_background(conn, plan, job)
        })
        .await
    }

    #[tool(
        name = "export_video",
        description = "Render the project to MP4 and save it. Default: the whole timeline in one file. `media` (a clip's name, 1-based position, or \"first\"/\"last\"): that clip alone, with its own trim and background, no titles or music. `each: true`: every clip to its own file, named after the clip, in the folder output_path (made if missing; default a new folder in the Videos folder); each clip is its own render and its own job: the result lists every clip's job (job_id, clip, status, path when saved), and a clip still rendering is followed with {\"job_id\": ...}. output_path is otherwise a .mp4 file path or an existing folder (absolute, starting with ~, or a file:// URI; default: the user's Videos folder). An existing file is never replaced unless overwrite is true; in a folder a new name is chosen. quality: high (default), medium or low; resolution: 1080p (default) or 720p; matte: the person cut-out, not the encoder quality: balanced (default: nearly quality's edges at a few times a plain transcode's time), fast (quickest render, rougher hair and edges) or quality (sharpest hair and edges, slowest). Returns the saved file(s) as resource links and paths. Renders that outlive one call return status \"running\" with a job_id: call again with {\"job_id\": ...} to keep waiting.",
        output_schema = schema_for_output::<ExportVideoResponse>(),
        annotations(
            title = "Export video",
            read_only_hint = false,
            // With `overwrite: true` it replaces the user's file.
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn export_video(
        &self,
        Parameters(req): Parameters<ExportVideoRequest>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        if let Some(id) = req.job_id.as_deref() {
            return self.resume("export_video", id, &ctx).await;
        }
        let settings = &self.shared.settings;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string();
        let scope = match export_scope(req.media.as_ref(), req.each) {
            Ok(scope) => scope,
            Err(f) => return jobs::failure_result(None, f),
        };
        // With `each`, output_path is the folder the files go to (made when missing), and
        // each clip's file is named there when its render is done.
        let dest = if matches!(scope, ExportScope::Each) {
            work::each_folder(
                req.output_path.as_deref(),
                settings.home.as_deref(),
                &settings.export_dir,
                &stamp,
            )
            .map(|folder| paths::Destination {
                path: folder,
                overwrite: req.overwrite,
                taken: None,
            })
        } else {
            paths::export_destination(
                req.output_path.as_deref(),
                settings.home.as_deref(),
                &settings.export_dir,
                &stamp,
                req.overwrite,
            )
        };
        let dest = match dest {
            Ok(dest) => dest,
            Err(f) => return jobs::failure_result(None, f),
        };
        let plan = ExportPlan {
            dest,
            scope,
            state_dir: settings.client.state_dir.clone(),
            quality: req.quality.unwrap_or_default(),
            resolution: req.resolution.unwrap_or_default(),
            matte: req.matte.unwrap_or_default(),
        };
        if matches!(plan.scope, ExportScope::Each) {
            return self.export_each(plan, &ctx).await;
        }
        let args = plan.args();
        let ask = Ask::spending(Spend::Render, &[]);
        self.launch_recorded("export_video", &ctx, ask, None, args, move |conn, job| {
            work::export_video(conn, plan, job)
        })
        .await
    }

    #[tool(
        name = "edit_video",
        description = "Edit the timeline. Prefer `operations`: a list of typed edits applied together (all or none, charged once, one new timeline version), e.g. [{\"op\":\"trim\",\"clip\":3,\"remove_first_s\":2},{\"op\":\"title\",\"text\":\"Urban Dreams\",\"start_s\":0,\"end_s\":3,\"position\":\"top\"}]. Ops: trim, keep (a range), move, swap, remove (a clip), title, remove_titles, music, remove_music, volume, aspect_ratio (16:9, 9:16, 1:1, 4:5), backdrop (every clip or one), undo, redo. Clips are named by file name, 1-based position, or \"first\"/\"last\". An invalid operation fails naming the operation, the field and the accepted values. Keep `instruction` (plain words, English or Chinese) for what operations cannot say. What works depends on the backend (each result says which served it). Local (embedded, offline), in words too: titles (\"add the title 'Urban Dreams' for the first 3 seconds\"; top/center/bottom, small/large, a colour, a fade; the title is gone at its end time); background music from an audio file uploaded with upload_media (\"add the music at 35%\"; looped or cut to the video, fade in/out, lowered under speech on request, the clips' own sound kept; \"remove the music\"); aspect ratio (each person re-framed whole and centred, the new area filled by the clip's background); trims (\"cut the first 2 seconds of the third clip\", \"keep 0:05-0:12\"); clip order (\"put clip 3 first\", \"swap the first and the last clip\", \"remove the second clip\", \"删除最后一段\"); backgrounds as in replace_background; \"undo that\" / \"redo\" (\"撤销\"). The local backend cannot generate or download music or footage, change speed, or add effects or transitions: such requests fail with a list of what it can do. Cloud (NemoVideo): operations are sent as one plain sentence each, and the remote agent decides what it can do. Paths or URLs of files (in the instruction, or as a backdrop) are uploaded first. Returns what changed and the timeline. Long edits return status \"running\" with a job_id: call again with {\"job_id\": ...} to keep waiting.",
        output_schema = schema_for_output::<EditResponse>(),
        annotations(
            title = "Edit video",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn edit_video(
        &self,
        Parameters(req): Parameters<EditVideoRequest>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        if let Some(id) = req.job_id.as_deref() {
            return self.resume("edit_video", id, &ctx).await;
        }
        let instruction = req
            .instruction
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(values) = req.operations {
            if instruction.is_some() {
                return jobs::failure_result(
                    None,
                    Failure::User(
                        "Pass either `operations` or `instruction`, not both: say everything as operations, or call edit_video twice.".into(),
                    ),
                );
            }
            let ops = match crate::api::parse_ops(&values) {
                Ok(ops) if !ops.is_empty() => ops,
                Ok(_) => {
                    return jobs::failure_result(
                        None,
                        Failure::User(
                            "`operations` is empty: give at least one, e.g. {\"op\":\"trim\",\"remove_first_s\":2}.".into(),
                        ),
                    );
                }
                Err(e) => return jobs::failure_result(None, Failure::User(format!("{e}."))),
            };
            // Backdrop files named in the operations are uploaded first.
            let home = self.shared.settings.home.clone();
            let mut attachments = Vec::new();
            for op in &ops {
                if let crate::api::EditOp::Backdrop { backdrop, .. } = op
                    && let Some(r) = file_arg(backdrop, home.as_deref())
                {
                    match r {
                        Ok(media) => attachments.push(attach::Attachment {
                            written: backdrop.clone(),
                            media,
                        }),
                        Err(f) => return jobs::failure_result(None, f),
                    }
                }
            }
            // Undo and redo alone are free (the backend charges no turn for them).
            let ask = if ops.iter().all(crate::api::EditOp::is_history) {
                Ask {
                    spends: None,
                    files: consent::local_files(&attachments),
                }
            } else {
                Ask::spending(Spend::Edit("edit the video"), &attachments)
            };
            return self
                .launch("edit_video", &ctx, ask, move |conn, job| {
                    work::edit_operations(conn, ops, attachments, job)
                })
                .await;
        }
        let Some(instruction) = instruction else {
            return jobs::failure_result(
                None,
                Failure::User(
                    "Pass `operations` (preferred), e.g. [{\"op\":\"title\",\"text\":\"Urban Dreams\",\"end_s\":3}], or `instruction`: the edit in plain words.".into(),
                ),
            );
        };
        let attachments = match attach::in_text(&instruction, self.shared.settings.home.as_deref())
        {
            Ok(a) => a,
            Err(f) => return jobs::failure_result(None, f),
        };
        let ask = Ask::spending(Spend::Edit("edit the video"), &attachments);
        self.launch("edit_video", &ctx, ask, move |conn, job| {
            work::edit_video(conn, instruction, attachments, job)
        })
        .await
    }

    #[tool(
        name = "get_credits",
        description = "Show the editing account's credit balance: available, frozen (held by running work) and total.",
        annotations(
            title = "Credits",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_credits(&self) -> Result<Json<CreditsResponse>, Failure> {
        let conn = self.connection().await?;
        let c = conn.client.credits().await.map_err(work::failure)?;
        Ok(Json(CreditsResponse {
            backend: conn.label.clone(),
            available: c.available,
            frozen: c.frozen,
            total: c.total,
            message: format!(
                "{} credits available ({} frozen, {} total) on the {} backend.",
                c.available, c.frozen, c.total, conn.label
            ),
        }))
    }

    #[tool(
        name = "show_timeline",
        description = "Show the project's timeline: a one-line summary of its tracks (clips with their backgrounds, music with volume, titles, with times) plus the full draft, and which stored version of the timeline it is (edit_video's undo/redo move between versions).",
        annotations(
            title = "Show timeline",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn show_timeline(&self) -> Result<Json<TimelineResponse>, Failure> {
        let conn = self.connection().await?;
        let state = conn.client.state().await.map_err(work::failure)?;
        let version = state
            .extra
            .get("timeline_version")
            .and_then(|v| serde_json::from_value::<TimelineVersion>(v.clone()).ok());
        let draft = state.draft.unwrap_or_else(Draft::default);
        let version_note = version.filter(|v| v.latest > 0).map(|v| {
            format!(
                "Version {} of {} of the timeline (undo/redo with edit_video).",
                v.current, v.latest
            )
        });
        Ok(Json(TimelineResponse {
            backend: conn.label.clone(),
            summary: timeline::summary(Some(&draft)),
            version,
            version_note,
            tracks: draft.t.len(),
            exportable: draft.is_exportable(),
            draft,
        }))
    }
}
