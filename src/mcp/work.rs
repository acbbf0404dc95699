//! What each long tool does once its job starts: the client calls, progress, and the reply in
//! the tool's result shape. Runs inside a background job (see `jobs`), so it may take longer
//! than one call.

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::model::{ContentBlock, Resource};

use super::app::PreviewClips;
use super::attach::Attachment;
use super::connect::Connection;
use super::gui_speak;
use super::jobs::{Failure, JobCtx, Outcome, Reply};
use super::paths::{self, MediaRef};
use super::preview;
use super::progress::with_notices;
use super::save::Staging;
use super::timeline;
use super::types::{
    ClipJob, EditResponse, ExportMatte, ExportQuality, ExportResolution, ExportVideoResponse,
    ExportedClip, JobFields, JobStatus, UploadMediaResponse, UploadedMedia,
};
use crate::api::{
    ClipRef, Draft, EditOp, RenderOutput, RenderState, RenderStatus, TrackType, UploadedFile,
};
use crate::client::{ClientError, Notice, RunOutcome};

/// A client error as the user sees it. The client's `Display` is already the user-facing
/// sentence (no tokens, no raw answers).
pub fn failure(err: ClientError) -> Failure {
    match err {
        // An answer the client could not understand is not something the user can fix.
        ClientError::BadAnswer { .. } => Failure::Internal(err.to_string()),
        // Marked, so the page that gets more credits is offered from this, not from text.
        ClientError::OutOfCredits { ref page, .. } => Failure::OutOfCredits {
            page: page.clone(),
            message: without_backend_flags(&err.to_string()),
        },
        other => Failure::User(without_backend_flags(&other.to_string())),
    }
}

/// `msg` without the clauses that tell someone to start a backend with a command-line flag
/// ("start it with --url-root DIR"): an MCP user never started that backend. What they can do
/// instead is said once.
fn without_backend_flags(msg: &str) -> String {
    static FLAG: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(^|\s)--[a-z][a-z-]+").expect("regex"));
    if !FLAG.is_match(msg) {
        return msg.to_string();
    }
    let kept: Vec<&str> = msg
        .split_inclusive(['.', ';', ',', ':'])
        .filter(|clause| !FLAG.is_match(clause))
        .collect();
    let mut out = kept
        .concat()
        .trim()
        .trim_end_matches([',', ';', ':'])
        .to_string();
    if !out.is_empty() && !out.ends_with('.') {
        out.push('.');
    }
    out.push_str(
        " Give the file's full path (as the backdrop, in the instruction, or to upload_media): this server uploads it for the editor.",
    );
    out.trim().to_string()
}

/// The job fields of a finished reply; `jobs` fills in status and job id.
fn fields(conn: &Connection) -> JobFields {
    JobFields {
        backend: conn.label.clone(),
        status: JobStatus::Completed,
        job_id: None,
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(v).map_err(|e| Failure::Internal(format!("result encoding: {e}")))
}

/// Upload local files and URLs.
pub async fn upload(
    conn: &Connection,
    refs: Vec<MediaRef>,
    job: &JobCtx,
) -> Result<Vec<UploadedFile>, Failure> {
    let (mut files, mut urls) = (Vec::new(), Vec::new());
    for r in refs {
        match r {
            MediaRef::File(p) => files.push(p),
            MediaRef::Url(u) => urls.push(u),
        }
    }
    job.notify(Notice {
        message: format!("Uploading {} file(s)…", files.len() + urls.len()),
        percent: None,
    });
    let mut uploaded = Vec::new();
    if !files.is_empty() {
        uploaded.extend(conn.client.upload_files(&files).await.map_err(failure)?);
    }
    if !urls.is_empty() {
        uploaded.extend(conn.client.upload_urls(&urls).await.map_err(failure)?);
    }
    Ok(uploaded)
}

pub async fn upload_media(conn: Arc<Connection>, refs: Vec<MediaRef>, job: JobCtx) -> Outcome {
    let uploaded = upload(&conn, refs, &job).await?;
    let files: Vec<UploadedMedia> = uploaded
        .iter()
        .map(|f| UploadedMedia {
            name: f.filename.clone(),
            kind: f.file_type.clone(),
            duration_s: f.duration,
            width: f.width,
            height: f.height,
            fps: f.fps,
        })
        .collect();
    let timeline = conn
        .client
        .state()
        .await
        .ok()
        .map(|s| timeline::summary(s.draft.as_ref()));
    let listed = files
        .iter()
        .map(|f| match f.kind.as_str() {
            "image" => format!("{} (image, {}×{})", f.name, f.width, f.height),
            "audio" => format!("{} (audio, {:.1} s)", f.name, f.duration_s),
            _ => format!(
                "{} ({}, {:.1} s, {}×{})",
                f.name, f.kind, f.duration_s, f.width, f.height
            ),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let message = format!(
        "Uploaded {listed}. Next: replace_background to change the background, or edit_video for other edits."
    );
    let mut text = message.clone();
    if let Some(t) = &timeline {
        text.push('\n');
        text.push_str(t);
    }
    let resp = UploadMediaResponse {
        job: fields(&conn),
        message,
        files,
        timeline,
    };
    Ok(Reply {
        text,
        structured: to_value(&resp)?,
        content: Vec::new(),
    })
}

/// What replace_background asked for, resolved before the job starts.
pub struct ReplacePlan {
    /// The message sent to the agent.
    pub message: String,
    /// A clip to upload first (a path or URL given as `media`).
    pub upload_first: Option<MediaRef>,
    /// The backdrop as written, when given.
    pub backdrop: Option<String>,
    pub instruction: Option<String>,
    /// Files to upload before the message is sent (a backdrop path, paths in the
    /// instruction); the message then names them by their uploaded name.
    pub attachments: Vec<Attachment>,
    /// Where the preview clip is kept for the app.
    pub clips: Arc<PreviewClips>,
}

/// Upload each attachment and put its uploaded name where the message wrote the path.
/// Returns the message.
async fn upload_attachments(
    conn: &Connection,
    mut message: String,
    attachments: &[Attachment],
    job: &JobCtx,
) -> Result<String, Failure> {
    for a in attachments {
        // Uploaded every time: the backend reuses a file already in the session (same
        // content and name), and a new session (lost, or another backend) gets it again.
        let up = upload(conn, vec![a.media.clone()], job).await?;
        let name = up.first().map(|f| f.filename.clone()).ok_or_else(|| {
            Failure::User(format!(
                "{}: the upload returned no file; try again",
                a.written
            ))
        })?;
        message = message.replace(&a.written, &name);
    }
    Ok(message)
}

/// The agent message for replace_background; None when nothing says what the backdrop is.
pub fn replace_message(
    instruction: Option<&str>,
    backdrop: Option<&str>,
    media: Option<&str>,
) -> Option<String> {
    let clip = media
        .map(|m| format!("the clip {m}"))
        .unwrap_or_else(|| "my video clips".to_string());
    match (instruction, backdrop) {
        (Some(i), Some(b)) => Some(format!("{i} (backdrop: {b}; applies to {clip})")),
        (Some(i), None) => Some(match media {
            Some(m) => format!("{i} (clip: {m})"),
            None => i.to_string(),
        }),
        (None, Some(b)) => Some(format!("Replace the background of {clip} with {b}")),
        (None, None) => None,
    }
}

pub async fn replace_background(conn: Arc<Connection>, plan: ReplacePlan, job: JobCtx) -> Outcome {
    // The user's own words decide the session's language (not our wrapper around them).
    if let Some(words) = plan.instruction.as_deref().or(plan.backdrop.as_deref()) {
        conn.client.note_user_text(words);
    }
    let mut message = plan.message.clone();
    if let Some(r) = plan.upload_first.clone() {
        let uploaded = upload(&conn, vec![r], &job).await?;
        // The message names the clip by the name the upload gave it.
        if let Some(first) = uploaded.first() {
            message = replace_message(
                plan.instruction.as_deref(),
                plan.backdrop.as_deref(),
                Some(&first.filename),
            )
            .unwrap_or(message);
        }
    }
    let message = upload_attachments(&conn, message, &plan.attachments, &job).await?;
    // Disclosed: the clip given as a local path (uploaded above) and the attachments.
    let clip = plan.upload_first.iter().map(|r| Attachment {
        written: match r {
            MediaRef::File(p) => p.display().to_string(),
            MediaRef::Url(u) => u.to_string(),
        },
        media: r.clone(),
    });
    let sent_files: Vec<Attachment> = clip.chain(plan.attachments.iter().cloned()).collect();
    let sent = super::attach::disclosure(&sent_files, &conn.label);
    let (message, withheld) = withhold_for_cloud(&conn, message);
    let outcome = run(&conn, &message, &job).await?;
    let draft = draft_after(&conn, &outcome).await;
    // The backend's before/after preview, fetched like any other file it points at. The
    // cloud sends none: then there is no image and nothing to say about it.
    let (content, preview_note) = match outcome.preview_url.as_deref() {
        Some(url) => {
            let p = preview::fetch(&conn.client, url).await;
            (p.image.into_iter().collect(), Some(p.note))
        }
        None => (Vec::new(), None),
    };
    // The preview clip is for the app only (never content: it would go to the model).
    let clip = match outcome.preview_clip_url.as_deref() {
        Some(url) => match conn.client.fetch_preview_clip(url).await {
            Ok(mp4) if mp4.get(4..8) == Some(&b"ftyp"[..]) => Some(plan.clips.put(mp4)),
            Ok(_) => {
                tracing::warn!("the backend's preview clip is not an MP4; not kept");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "the preview clip could not be fetched");
                None
            }
        },
        None => None,
    };
    let mut reply = edit_reply(&conn, outcome, draft, preview_note, content)?;
    if let (Some(uri), Some(map)) = (clip, reply.structured.as_object_mut()) {
        map.insert("preview_clip".into(), serde_json::Value::String(uri));
    }
    Ok(disclosed(reply, sent, withheld))
}

/// With the cloud backend, the local paths left in `message` — none of them media, which
/// were uploaded and renamed before — are replaced, and the note says which (issue 20,
/// case 8). The local backend runs on this computer: its text stays here.
fn withhold_for_cloud(conn: &Connection, message: String) -> (String, Option<String>) {
    if conn.label != "cloud" {
        return (message, None);
    }
    let (text, withheld) = super::attach::withhold_paths(&message);
    if !withheld.is_empty() {
        tracing::info!(
            count = withheld.len(),
            "local paths withheld from the cloud"
        );
    }
    (text, super::attach::withheld_note(&withheld))
}

/// `reply` naming the files that left this computer (issue 20, case 8) and the paths that
/// were kept from the cloud: in its text and as `uploaded_from_this_computer` /
/// `withheld_from_cloud` in its structured result.
fn disclosed(mut reply: Reply, sent: Option<String>, withheld: Option<String>) -> Reply {
    for (key, note) in [
        ("uploaded_from_this_computer", sent),
        ("withheld_from_cloud", withheld),
    ] {
        if let Some(s) = note {
            reply.text.push('\n');
            reply.text.push_str(&s);
            if let Some(o) = reply.structured.as_object_mut() {
                o.insert(key.into(), s.into());
            }
        }
    }
    reply
}

pub async fn edit_video(
    conn: Arc<Connection>,
    instruction: String,
    attachments: Vec<Attachment>,
    job: JobCtx,
) -> Outcome {
    conn.client.note_user_text(&instruction);
    let instruction = upload_attachments(&conn, instruction, &attachments, &job).await?;
    let sent = super::attach::disclosure(&attachments, &conn.label);
    let (instruction, withheld) = withhold_for_cloud(&conn, instruction);
    let outcome = run(&conn, &instruction, &job).await?;
    let draft = draft_after(&conn, &outcome).await;
    edit_reply(&conn, outcome, draft, None, Vec::new()).map(|r| disclosed(r, sent, withheld))
}

/// Typed operations: backdrop files uploaded first (the operation then names the upload),
/// then one turn carrying the operations as sentences — and, to the embedded backend, as
/// data too (see `api::edit_sentence`).
pub async fn edit_operations(
    conn: Arc<Connection>,
    mut ops: Vec<EditOp>,
    attachments: Vec<Attachment>,
    job: JobCtx,
) -> Outcome {
    for a in &attachments {
        let up = upload(&conn, vec![a.media.clone()], &job).await?;
        let name = up.first().map(|f| f.filename.clone()).ok_or_else(|| {
            Failure::User(format!(
                "{}: the upload returned no file; try again",
                a.written
            ))
        })?;
        for op in &mut ops {
            if let EditOp::Backdrop { backdrop, .. } = op
                && *backdrop == a.written
            {
                *backdrop = name.clone();
            }
        }
    }
    let message = crate::api::edit_sentence::message(&ops);
    let attach = conn.label == "local";
    tracing::info!(
        operations = ops.len(),
        attached = attach,
        "sending typed operations to the agent"
    );
    let outcome = with_notices(
        |tx| conn.client.run_operations(&message, &ops, attach, Some(tx)),
        |notice| job.notify(notice),
    )
    .await
    .map_err(failure)?;
    let draft = draft_after(&conn, &outcome).await;
    edit_reply(&conn, outcome, draft, None, Vec::new())
}

/// One agent turn with its notices forwarded to the job.
async fn run(conn: &Connection, message: &str, job: &JobCtx) -> Result<RunOutcome, Failure> {
    tracing::info!(
        chars = message.len(),
        "sending the instruction to the agent"
    );
    with_notices(
        |tx| conn.client.run(message, Some(tx)),
        |notice| job.notify(notice),
    )
    .await
    .map_err(failure)
}

async fn draft_after(conn: &Connection, outcome: &RunOutcome) -> Option<Draft> {
    match &outcome.draft {
        Some(d) => Some(d.clone()),
        None => conn.client.state().await.ok().and_then(|s| s.draft),
    }
}

fn edit_reply(
    conn: &Connection,
    outcome: RunOutcome,
    draft: Option<Draft>,
    preview: Option<String>,
    content: Vec<ContentBlock>,
) -> Outcome {
    let mut message = gui_speak::translate(&outcome.text);
    if message.is_empty() {
        message = if outcome.changes.is_empty() {
            "Done. The editor sent no text and no change to the timeline was detected; call show_timeline to check.".to_string()
        } else {
            format!("Done: {}.", outcome.changes.join("; "))
        };
    }
    if outcome.recovered_after_disconnect {
        message.push_str(
            " (The reply stream dropped; this result was read from the project state, and the request was not sent twice.)",
        );
    }
    let summary = draft.as_ref().map(|d| timeline::summary(Some(d)));
    let mut text = message.clone();
    if let Some(s) = &summary {
        text.push('\n');
        text.push_str(s);
    }
    if let Some(p) = &preview {
        text.push('\n');
        text.push_str(p);
    }
    let resp = EditResponse {
        job: fields(conn),
        message,
        changes: outcome.changes,
        timeline: summary,
        recovered_after_disconnect: outcome.recovered_after_disconnect,
        preview,
        preview_clip: None,
    };
    Ok(Reply {
        text,
        structured: to_value(&resp)?,
        content,
    })
}

/// What an export renders.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportScope {
    /// The whole timeline in one file (the default).
    Timeline,
    /// One clip alone, with its own trim and background.
    Clip(ClipRef),
    /// Every clip to its own file in a folder.
    Each,
}

pub struct ExportPlan {
    /// The file to write; with `ExportScope::Each`, the folder (each clip's file is named in
    /// it after the clip).
    pub dest: paths::Destination,
    pub scope: ExportScope,
    /// Where the journal of unfinished exports lives (see `save`).
    pub state_dir: PathBuf,
    pub quality: ExportQuality,
    pub resolution: ExportResolution,
    pub matte: ExportMatte,
}

/// The folder `each: true` writes into: output_path (made when missing; it must not be a
/// file), else `edited-<stamp>-clips` in the default export folder.
pub fn each_folder(
    requested: Option<&str>,
    home: Option<&std::path::Path>,
    default_dir: &std::path::Path,
    stamp: &str,
) -> Result<PathBuf, Failure> {
    let folder = match requested.map(str::trim).filter(|s| !s.is_empty()) {
        Some(r) => {
            let p = paths::to_local(r, home)?;
            paths::require_absolute(
                r,
                &p.to_string_lossy(),
                crate::config::os_paths::PathStyle::HOST,
                "output_path ",
            )?;
            if p.is_file() {
                return Err(Failure::User(format!(
                    "With each: true, output_path is the folder the clips are saved in, but {} is a file: pass a folder.",
                    p.display()
                )));
            }
            p
        }
        None => default_dir.join(format!("edited-{stamp}-clips")),
    };
    std::fs::create_dir_all(&folder).map_err(|e| {
        Failure::User(format!(
            "Cannot create the folder {} ({e}): pass an output_path you can write to.",
            folder.display()
        ))
    })?;
    Ok(folder)
}

/// `draft` cut down to the video segment at `index` alone (its trim and background kept,
/// starting at 0), without titles or music, which belong to the timeline.
pub fn clip_draft(draft: &Draft, index: usize) -> Option<Draft> {
    let mut out = draft.clone();
    out.t.retain(|t| t.kind() == TrackType::Video);
    let track = out.t.iter_mut().find(|t| t.kind() == TrackType::Video)?;
    let mut seg = draft.video_segments().nth(index)?.clone();
    seg.st = Some(0);
    track.sg = vec![seg];
    Some(out)
}

/// The index among the video segments of the clip `r` names, with the clip's name.
fn clip_index(draft: &Draft, r: &ClipRef) -> Result<(usize, String), Failure> {
    let names: Vec<String> = draft
        .video_segments()
        .map(|s| s.meta_str("name").unwrap_or("clip").to_string())
        .collect();
    let listed = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{} {n}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let found = match r.position(names.len()) {
        Some(n) => n.checked_sub(1).filter(|i| *i < names.len()),
        None => {
            let ClipRef::Name(want) = r else {
                return Err(Failure::Internal("clip".into()));
            };
            names
                .iter()
                .position(|n| n == want)
                .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(want)))
        }
    };
    found.map(|i| (i, names[i].clone())).ok_or_else(|| {
        Failure::User(format!(
            "There is no clip {r} on the timeline; the clips are: {listed}. Pass `media` as one of these names or positions."
        ))
    })
}

/// `<clip stem>.mp4` in `folder`, or the first free `<stem>-2.mp4`… (never an existing file
/// unless `overwrite`).
fn clip_file(folder: &std::path::Path, clip: &str, overwrite: bool, used: &[PathBuf]) -> PathBuf {
    let stem = std::path::Path::new(clip)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("clip");
    let safe: String = stem
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut path = folder.join(format!("{safe}.mp4"));
    let mut n = 2;
    while used.contains(&path) || (path.exists() && !overwrite) {
        path = folder.join(format!("{safe}-{n}.mp4"));
        n += 1;
    }
    path
}

fn timeline_scope() -> ExportScope {
    ExportScope::Timeline
}

/// An export as its job record keeps it: enough to start it again after a restart (the
/// render itself is found again through the client's pending render).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExportArgs {
    pub output_path: PathBuf,
    pub overwrite: bool,
    #[serde(default)]
    pub taken: Option<PathBuf>,
    /// Records written before per-clip exports existed read as a timeline export.
    #[serde(default = "timeline_scope")]
    pub scope: ExportScope,
    pub quality: ExportQuality,
    pub resolution: ExportResolution,
    pub matte: ExportMatte,
}

impl ExportPlan {
    /// What the job record keeps.
    pub fn args(&self) -> serde_json::Value {
        serde_json::to_value(ExportArgs {
            output_path: self.dest.path.clone(),
            overwrite: self.dest.overwrite,
            taken: self.dest.taken.clone(),
            scope: self.scope.clone(),
            quality: self.quality,
            resolution: self.resolution,
            matte: self.matte,
        })
        .unwrap_or_default()
    }

    /// The plan again from a record's `args`; `None` when they do not read as an export.
    pub fn from_args(args: &serde_json::Value, state_dir: PathBuf) -> Option<Self> {
        let a: ExportArgs = serde_json::from_value(args.clone()).ok()?;
        Some(ExportPlan {
            dest: paths::Destination {
                path: a.output_path,
                overwrite: a.overwrite,
                taken: a.taken,
            },
            scope: a.scope,
            state_dir,
            quality: a.quality,
            resolution: a.resolution,
            matte: a.matte,
        })
    }
}

pub async fn export_video(conn: Arc<Connection>, plan: ExportPlan, job: JobCtx) -> Outcome {
    match plan.scope.clone() {
        ExportScope::Timeline => export_timeline(conn, plan, job).await,
        ExportScope::Clip(r) => {
            let draft = exportable_draft(&conn).await?;
            let (index, clip) = clip_index(&draft, &r)?;
            let one = clip_draft(&draft, index)
                .ok_or_else(|| Failure::Internal(format!("clip {clip} vanished")))?;
            let dest = plan.dest.path.clone();
            let saved =
                render_one(&conn, &plan, one, &dest, plan.dest.overwrite, &job, None).await?;
            let mut message = format!(
                "Saved {clip} alone (its own trim and background) to {} ({:.1} MB, {} quality, {}).",
                dest.display(),
                saved.bytes as f64 / 1_048_576.0,
                plan.quality.as_str(),
                plan.resolution.as_str()
            );
            if saved.retried {
                message.push_str(" The first render attempt failed; the retry succeeded.");
            }
            finish(
                &conn,
                &plan,
                message,
                vec![(clip, dest, saved.bytes)],
                saved.replaced,
            )
            .await
        }
        // `each: true` starts one job per clip (`each_plans`); a record of the one-job form
        // from an older version cannot be continued.
        ExportScope::Each => Err(Failure::User(
            "This per-clip export was started by an earlier version of the server and cannot be continued: call export_video with each: true again.".into(),
        )),
    }
}

/// The per-clip exports of an `each: true` export: one plan per clip on the timeline now, in
/// order, each writing `<clip stem>.mp4` in the folder `plan.dest.path` (a free name unless
/// `overwrite`) and naming its clip by position. `Err` when there is no clip.
pub async fn each_plans(
    conn: &Connection,
    plan: &ExportPlan,
) -> Result<Vec<(String, ExportPlan)>, Failure> {
    let draft = exportable_draft(conn).await?;
    let names: Vec<String> = draft
        .video_segments()
        .map(|s| s.meta_str("name").unwrap_or("clip").to_string())
        .collect();
    if names.is_empty() {
        return Err(Failure::User(
            "The timeline has no video clip, so there is nothing to export one by one: upload clips first.".into(),
        ));
    }
    let folder = plan.dest.path.clone();
    let mut used = Vec::new();
    let mut plans = Vec::new();
    for (i, clip) in names.into_iter().enumerate() {
        let dest = clip_file(&folder, &clip, plan.dest.overwrite, &used);
        used.push(dest.clone());
        plans.push((
            clip,
            ExportPlan {
                dest: paths::Destination {
                    path: dest,
                    overwrite: plan.dest.overwrite,
                    taken: None,
                },
                scope: ExportScope::Clip(ClipRef::Index(i as u32 + 1)),
                state_dir: plan.state_dir.clone(),
                quality: plan.quality,
                resolution: plan.resolution,
                matte: plan.matte,
            },
        ));
    }
    Ok(plans)
}

/// One clip's job of an `each: true` export as the waiting call saw it.
pub struct EachEntry {
    pub clip: String,
    pub job_id: String,
    /// `None`: still running (or parked) when the call's budget ran out.
    pub outcome: Option<Arc<Outcome>>,
}

/// The result of an `each: true` export: every clip's job (id, clip, state, file when saved),
/// the files saved so far as resource links, and how to follow the rest. Status: `running`
/// while any job runs, `failed` (a tool error) when none runs and one failed, else
/// `completed`.
pub fn each_result(
    backend: &str,
    folder: &std::path::Path,
    plan: &ExportPlan,
    entries: &[EachEntry],
) -> rmcp::model::CallToolResult {
    let mut jobs = Vec::new();
    let mut files = Vec::new();
    let mut content = Vec::new();
    let mut lines = Vec::new();
    for e in entries {
        let (status, path, bytes, message) = match e.outcome.as_deref() {
            None => (JobStatus::Running, None, None, None),
            Some(Ok(reply)) => {
                let f = &reply.structured["files"][0];
                let path = f["path"].as_str().map(str::to_string);
                let bytes = f["bytes"].as_u64();
                if let (Some(p), Some(b)) = (&path, bytes) {
                    files.push(ExportedClip {
                        clip: e.clip.clone(),
                        path: p.clone(),
                        bytes: b,
                    });
                }
                content.extend(
                    reply
                        .content
                        .iter()
                        .filter(|c| c.as_resource_link().is_some())
                        .cloned(),
                );
                (JobStatus::Completed, path, bytes, None)
            }
            Some(Err(
                Failure::User(m) | Failure::OutOfCredits { message: m, .. } | Failure::Internal(m),
            )) => (JobStatus::Failed, None, None, Some(m.clone())),
        };
        lines.push(match status {
            JobStatus::Completed => format!(
                "{} → {} (job {})",
                e.clip,
                path.as_deref().unwrap_or("?"),
                e.job_id
            ),
            JobStatus::Running => format!("{} still rendering (job {})", e.clip, e.job_id),
            JobStatus::Failed => format!(
                "{} failed (job {}): {}",
                e.clip,
                e.job_id,
                message.as_deref().unwrap_or("")
            ),
        });
        jobs.push(ClipJob {
            job_id: e.job_id.clone(),
            clip: e.clip.clone(),
            status,
            path,
            bytes,
            message,
        });
    }
    let status = if jobs.iter().any(|j| j.status == JobStatus::Running) {
        JobStatus::Running
    } else if jobs.iter().any(|j| j.status == JobStatus::Failed) {
        JobStatus::Failed
    } else {
        JobStatus::Completed
    };
    let mut message = format!(
        "Exporting {} clips to {}, each alone (its own trim and background) as its own job: {}.",
        jobs.len(),
        folder.display(),
        lines.join("; ")
    );
    if status == JobStatus::Running {
        message.push_str(
            " Call export_video with {\"job_id\": …} of a clip still rendering to keep waiting for it.",
        );
    }
    let resp = ExportVideoResponse {
        job: JobFields {
            backend: backend.to_string(),
            status,
            job_id: None,
        },
        message: message.clone(),
        path: files.first().map(|f| f.path.clone()),
        bytes: files.first().map(|f| f.bytes),
        files,
        jobs,
        replaced: false,
        progress: None,
        quality: Some(plan.quality),
        resolution: Some(plan.resolution),
        matte: None,
        claim_link: None,
    };
    let structured = serde_json::to_value(&resp).unwrap_or_default();
    let mut result = if status == JobStatus::Failed {
        rmcp::model::CallToolResult::structured_error(structured.clone())
    } else {
        rmcp::model::CallToolResult::structured(structured.clone())
    };
    let mut blocks = vec![ContentBlock::text(message)];
    blocks.extend(content);
    blocks.push(ContentBlock::text(structured.to_string()));
    result.content = blocks;
    result
}

/// A finished per-clip render.
struct Saved {
    bytes: u64,
    retried: bool,
    replaced: bool,
}

/// Render `draft` as its own render (retried once with a new id, as the docs say) and save
/// it to `dest`.
async fn render_one(
    conn: &Connection,
    plan: &ExportPlan,
    draft: Draft,
    dest: &std::path::Path,
    overwrite: bool,
    job: &JobCtx,
    label: Option<&str>,
) -> Result<Saved, Failure> {
    let client = &conn.client;
    let staging = Staging::new(&plan.state_dir, dest)?;
    let output = render_output(plan);
    if let Some(l) = label {
        job.notify(Notice {
            message: format!("{l}: rendering…"),
            percent: None,
        });
    }
    let status = client
        .start_render(&draft, output.clone())
        .await
        .map_err(failure)?;
    let (draft, output) = (&draft, &output);
    let (status, retried) = wait_retrying_once(conn, status, job, move |_, _| async move {
        client
            .start_render(draft, output.clone())
            .await
            .map_err(failure)
    })
    .await?;
    let bytes = client
        .download_render(&status, &staging.file())
        .await
        .map_err(failure)?;
    // Collected: a later export must not resume it.
    if client.pending_render().as_deref() == Some(status.id.as_str()) {
        let _ = client.clear_pending_render();
    }
    let replaced = overwrite && dest.is_file();
    staging.commit(dest, overwrite)?;
    Ok(Saved {
        bytes,
        retried,
        replaced,
    })
}

/// The reply for saved clip files: resource links, paths, the claim link on the cloud.
async fn finish(
    conn: &Connection,
    plan: &ExportPlan,
    mut message: String,
    files: Vec<(String, PathBuf, u64)>,
    replaced: bool,
) -> Outcome {
    let claim_link = claim_link(conn).await;
    if let Some(link) = &claim_link {
        message.push_str(&format!(
            " Open the project on NemoVideo in your browser: {link}"
        ));
    }
    let content = files
        .iter()
        .map(|(clip, p, b)| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "clip.mp4".into());
            ContentBlock::resource_link(
                Resource::new(paths::file_uri(p), name)
                    .with_title(format!("Exported clip {clip}"))
                    .with_mime_type("video/mp4")
                    .with_size(*b),
            )
        })
        .collect();
    let resp = ExportVideoResponse {
        job: fields(conn),
        message: message.clone(),
        path: files.first().map(|(_, p, _)| p.display().to_string()),
        files: files
            .iter()
            .map(|(clip, p, b)| ExportedClip {
                clip: clip.clone(),
                path: p.display().to_string(),
                bytes: *b,
            })
            .collect(),
        jobs: Vec::new(),
        bytes: files.first().map(|f| f.2),
        replaced,
        progress: None,
        quality: Some(plan.quality),
        resolution: Some(plan.resolution),
        matte: None,
        claim_link,
    };
    Ok(Reply {
        text: message,
        structured: to_value(&resp)?,
        content,
    })
}

/// With every delivered cloud export: a browser link to the project (never the token).
async fn claim_link(conn: &Connection) -> Option<String> {
    if conn.label != "cloud" {
        return None;
    }
    match conn.client.claim_link().await {
        Ok(link) => Some(link),
        Err(e) => {
            tracing::info!(error = %e, "no browser link for this export");
            None
        }
    }
}

/// The whole timeline in one file.
async fn export_timeline(conn: Arc<Connection>, plan: ExportPlan, job: JobCtx) -> Outcome {
    let client = &conn.client;
    let dest = plan.dest.path.clone();
    // Before any credit is spent: the folder must be writable. Removed on every early return.
    let staging = Staging::new(&plan.state_dir, &dest)?;
    // A render started by an earlier run of this server and not collected (still going, or
    // finished) is waited for and downloaded, not started twice.
    let mut resumed = None;
    if let Some(id) = client.pending_render()
        && let Ok(status) = client.render_status(&id).await
        && !matches!(status.status, RenderState::Failed | RenderState::Cancelled)
    {
        tracing::info!(render = %id, "resuming a render started earlier");
        resumed = Some(status);
    }
    let was_resumed = resumed.is_some();
    let output = render_output(&plan);
    let status = match resumed {
        Some(s) => s,
        None => {
            let draft = exportable_draft(&conn).await?;
            client
                .start_render(&draft, output.clone())
                .await
                .map_err(failure)?
        }
    };
    job.record_render(&status.id);
    let (conn_ref, job_ref, output_ref) = (&*conn, &job, &output);
    let (status, retried) = wait_retrying_once(&conn, status, &job, move |failed, why| async move {
        let (conn, job, output) = (conn_ref, job_ref, output_ref);
        tracing::info!(render = %failed, reason = %why, "render failed; retrying once with a new id");
        job.notify(Notice {
            message: format!("The render failed ({why}); trying once more…"),
            percent: Some(0.0),
        });
        let draft = exportable_draft(conn).await?;
        let status = conn
            .client
            .start_render(&draft, output.clone())
            .await
            .map_err(failure)?;
        job.record_render(&status.id);
        Ok(status)
    })
    .await?;
    job.notify(Notice {
        message: "Saving the MP4…".into(),
        percent: Some(100.0),
    });
    let bytes = client
        .download_render(&status, &staging.file())
        .await
        .map_err(failure)?;
    let replaced = plan.dest.overwrite && dest.is_file();
    staging.commit(&dest, plan.dest.overwrite)?;
    let path = dest.display().to_string();
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export.mp4".into());
    let mut message = format!(
        "Saved the video to {path} ({:.1} MB, {} quality, {}).",
        bytes as f64 / 1_048_576.0,
        plan.quality.as_str(),
        plan.resolution.as_str()
    );
    if let Some(taken) = &plan.dest.taken {
        message.push_str(&format!(
            " {} already existed, so a new name was used.",
            taken.display()
        ));
    }
    if replaced {
        message.push_str(" The existing file was replaced (overwrite: true).");
    }
    if was_resumed {
        message.push_str(" This was a render started earlier, collected now.");
    }
    if retried {
        message.push_str(" The first render attempt failed; the retry succeeded.");
    }
    let claim_link = claim_link(&conn).await;
    if let Some(link) = &claim_link {
        message.push_str(&format!(
            " Open the project on NemoVideo in your browser: {link}"
        ));
    }
    let link = Resource::new(paths::file_uri(&dest), name)
        .with_title("Exported video")
        .with_mime_type("video/mp4")
        .with_size(bytes);
    let resp = ExportVideoResponse {
        job: fields(&conn),
        message: message.clone(),
        path: Some(path),
        files: Vec::new(),
        jobs: Vec::new(),
        bytes: Some(bytes),
        replaced,
        progress: None,
        quality: Some(plan.quality),
        resolution: Some(plan.resolution),
        matte: status.matte.clone(),
        claim_link,
    };
    Ok(Reply {
        text: message,
        structured: to_value(&resp)?,
        content: vec![ContentBlock::resource_link(link)],
    })
}

/// The session's draft, if something can be exported; the draft goes to render exactly as
/// the state gave it.
async fn exportable_draft(conn: &Connection) -> Result<Draft, Failure> {
    let state = conn.client.state().await.map_err(failure)?;
    state.draft.filter(Draft::is_exportable).ok_or_else(|| {
        Failure::User(
            "The timeline is empty, so there is nothing to export: call upload_media with a clip first, then export_video."
                .into(),
        )
    })
}

/// The render settings of an export.
fn render_output(plan: &ExportPlan) -> RenderOutput {
    RenderOutput {
        format: "mp4".into(),
        quality: plan.quality.as_str().into(),
        resolution: Some(plan.resolution.as_str().into()),
        matte: plan.matte.as_option().map(str::to_string),
    }
}

/// Wait for render `status` to end. The docs: a failed render is retried once, with a new
/// id — `restart(failed render id, why)` starts it. Returns the completed render and whether it was retried;
/// a cancelled render, or a second failure, is the user's error naming what to do.
async fn wait_retrying_once<R>(
    conn: &Connection,
    mut status: RenderStatus,
    job: &JobCtx,
    mut restart: impl FnMut(String, String) -> R,
) -> Result<(RenderStatus, bool), Failure>
where
    R: std::future::Future<Output = Result<RenderStatus, Failure>>,
{
    let mut retried = false;
    loop {
        status = wait_for_render(conn, status, job).await?;
        match status.status {
            RenderState::Completed => return Ok((status, retried)),
            RenderState::Cancelled => {
                return Err(Failure::User(
                    "The render was cancelled before it finished; call export_video again to start a new one.".into(),
                ));
            }
            _ => {
                let why = status
                    .error
                    .clone()
                    .unwrap_or_else(|| "no reason was given".into());
                if retried {
                    return Err(Failure::User(format!(
                        "The render failed twice (the second time: {why}). Check the timeline with show_timeline, then call export_video again."
                    )));
                }
                retried = true;
                status = restart(status.id, why).await?;
            }
        }
    }
}

/// Poll the render at the backend's pace until it ends. After the backend's number of polls
/// (the cloud's docs: 10, 30 s apart) the job is parked: the call answers `running` with the
/// job id, and the next call for it polls again. A slow render is never a failure.
async fn wait_for_render(
    conn: &Connection,
    mut status: RenderStatus,
    job: &JobCtx,
) -> Result<RenderStatus, Failure> {
    let client = &conn.client;
    let pace = client.poll_pace();
    let id = status.id.clone();
    let mut polls = 0u32;
    while !status.status.is_final() {
        job.notify(Notice {
            message: format!("Rendering… {:.0}%", status.progress),
            percent: Some(status.progress),
        });
        if polls >= pace.max_polls {
            tracing::info!(render = %id, polls, "render still going; keeping the job until asked again");
            let notice = Notice {
                message: format!(
                    "The render is still in progress after {polls} status checks {} s apart; the job is kept, not failed",
                    pace.every.as_secs_f64()
                ),
                percent: Some(status.progress),
            };
            if !job.park(notice).await {
                return Err(cancel(conn, &id).await);
            }
            polls = 0;
        }
        tokio::select! {
            _ = job.cancel_token().cancelled() => return Err(cancel(conn, &id).await),
            _ = tokio::time::sleep(pace.every) => {}
        }
        status = client.render_status(&id).await.map_err(failure)?;
        polls += 1;
    }
    Ok(status)
}

/// Cancel render `id` after the call was cancelled; the failure to report.
async fn cancel(conn: &Connection, id: &str) -> Failure {
    if let Err(e) = conn.client.cancel_render(id).await {
        tracing::warn!(render = %id, error = %e, "cancelling the render failed");
    }
    Failure::User("Export cancelled: the render was stopped and nothing was written.".into())
}

#[cfg(test)]
mod tests {
    use super::{replace_message, without_backend_flags};

    #[test]
    fn refusals_name_no_backend_flag() {
        let m = without_backend_flags(
            "/x/My Pics/sky.png: local paths are disabled on this backend; start it with --url-root DIR, or upload the file itself",
        );
        assert!(!m.contains("--url-root") && !m.contains("start it"), "{m}");
        assert!(m.contains("upload"), "{m}");
        let plain = "The render failed twice.";
        assert_eq!(without_backend_flags(plain), plain);
    }

    #[test]
    fn replace_messages_name_the_clip_and_backdrop() {
        assert_eq!(
            replace_message(None, Some("clean studio backdrop"), Some("city.mp4")).unwrap(),
            "Replace the background of the clip city.mp4 with clean studio backdrop"
        );
        assert_eq!(
            replace_message(None, Some("blur"), None).unwrap(),
            "Replace the background of my video clips with blur"
        );
        assert_eq!(
            replace_message(Some("make it a beach"), None, None).unwrap(),
            "make it a beach"
        );
        assert_eq!(
            replace_message(Some("swap the office"), Some("#112233"), Some("a.mp4")).unwrap(),
            "swap the office (backdrop: #112233; applies to the clip a.mp4)"
        );
        assert!(replace_message(None, None, Some("a.mp4")).is_none());
    }
}
