//! The tasks extension of protocol 2026-07-28 (`io.modelcontextprotocol/tasks`, SEP-2663) over
//! the jobs this server already runs (`jobs`, with their records in `records`): a client that
//! declared the extension gets, for upload_media, replace_background, edit_video and
//! export_video, a task at once (`CreateTaskResult`, id = the job id, explicit TTL) instead of
//! a call that waits; `tasks/get` answers from the job — or, after a restart of this process,
//! from its record, continuing an unfinished export under the same id exactly as the `job_id`
//! continuation does; `tasks/cancel` cancels the job. Clients without the extension keep the
//! `job_id` continuation. rmcp 3.11's `TaskManager` is not used: its tasks live in memory
//! only, and these must outlive the process.

use std::time::{SystemTime, UNIX_EPOCH};

use rmcp::{
    ErrorData as McpError, RoleServer,
    model::{
        CallToolResponse, CallToolResult, CreateTaskResult, DetailedTask, JsonObject, Task,
        TaskPayload, TaskStatus,
    },
    service::RequestContext,
};

use crate::api::timestamp::iso8601;

/// How long a task stays answerable by `tasks/get`, in milliseconds: a day (given explicitly
/// in every task; job records themselves are kept 7 days, see `records`).
pub const TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The polling interval suggested to clients, in milliseconds.
pub const POLL_INTERVAL_MS: u64 = 1000;

/// The tools whose calls become tasks: the ones that run as jobs.
pub const TASK_TOOLS: [&str; 4] = [
    "upload_media",
    "replace_background",
    "edit_video",
    "export_video",
];

/// Put in a request's extensions: the job is started and the call answers at once
/// (`running`), without waiting (`Jobs::wait`).
#[derive(Debug, Clone, Copy)]
pub struct NoWait;

/// Whether this call becomes a task: a long tool, not a `job_id` continuation, and a client
/// that declared the tasks extension (in the request's `_meta` on 2026-07-28, else at the
/// handshake).
///
/// Only on protocol 2026-07-28 and later, where the extension is defined: a client of an
/// older revision may declare it and still read every `tools/call` answer as a
/// `CallToolResult` — the MCP Inspector CLI 2.12.0 does, on 2025-11-25, and failed on the
/// task it was given ("declares an output schema but returned no structured content").
pub fn eligible(name: &str, args: Option<&JsonObject>, ctx: &RequestContext<RoleServer>) -> bool {
    TASK_TOOLS.contains(&name)
        && args.is_none_or(|a| a.get("job_id").is_none_or(serde_json::Value::is_null))
        && ctx
            .protocol_version()
            .is_some_and(|v| v.as_str() >= TASKS_FROM)
        && ctx
            .client_capabilities()
            .is_some_and(|c| c.supports_tasks())
}

/// The first protocol revision with the tasks extension (SEP-2663). Revisions are dates, so
/// they compare as strings.
const TASKS_FROM: &str = "2026-07-28";

/// `(job id, message)` of a `running` answer of `tool`. The message is the task's status
/// message, so it loses the answer's last sentence (call again with `job_id`): a task is
/// followed with `tasks/get`.
fn running(tool: &str, result: &CallToolResult) -> Option<(String, Option<String>)> {
    let s = result.structured_content.as_ref()?;
    if s.get("status")?.as_str()? != "running" {
        return None;
    }
    let id = s.get("job_id")?.as_str()?.to_string();
    let hint = super::jobs::keep_waiting(tool, &id);
    let message = s
        .get("message")
        .and_then(|m| m.as_str())
        .map(|m| m.strip_suffix(hint.as_str()).unwrap_or(m).to_string());
    Some((id, message))
}

/// The task `id` with `status`, started at `started` (seconds since the Unix epoch).
fn task(id: &str, status: TaskStatus, message: Option<String>, started: u64) -> Task {
    let mut t = Task::new(id, status, iso8601(started), iso8601(now()))
        .with_ttl_ms(TTL_MS)
        .with_poll_interval_ms(POLL_INTERVAL_MS);
    t.status_message = message;
    t
}

/// The answer of a call of `tool` that became a task: a `running` job → a `CreateTaskResult`
/// for it; anything else (done already, refused before a job started, or asking the user
/// first) stays the call's answer.
pub fn created(tool: &str, response: CallToolResponse) -> CallToolResponse {
    match response {
        CallToolResponse::Complete(r) => match running(tool, &r) {
            Some((id, message)) => CallToolResponse::Task(CreateTaskResult::new(task(
                &id,
                TaskStatus::Working,
                message,
                now(),
            ))),
            None => CallToolResponse::Complete(r),
        },
        other => other,
    }
}

/// The state of task `id` (a job of `tool`) from the continuation's `answer`: `running` →
/// working; a result (also a tool error, which is a result the model reads) → completed; a
/// protocol error → failed.
pub fn detailed(
    tool: &str,
    id: &str,
    answer: Result<CallToolResult, McpError>,
    started: u64,
) -> Result<DetailedTask, McpError> {
    let (status, payload) = match answer {
        Ok(r) => match running(tool, &r) {
            Some((_, message)) => {
                return Ok(DetailedTask::new(
                    task(id, TaskStatus::Working, message, started),
                    TaskPayload::Working,
                ));
            }
            None => {
                let result = match serde_json::to_value(&r) {
                    Ok(serde_json::Value::Object(map)) => map,
                    _ => return Err(McpError::internal_error("result encoding", None)),
                };
                (TaskStatus::Completed, TaskPayload::Completed { result })
            }
        },
        Err(e) => {
            let error = match serde_json::to_value(&e) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => JsonObject::new(),
            };
            (TaskStatus::Failed, TaskPayload::Failed { error })
        }
    };
    Ok(DetailedTask::new(task(id, status, None, started), payload))
}

/// Whether a task started at `started` (Unix seconds) is past its TTL.
pub fn expired(started: u64) -> bool {
    now().saturating_sub(started).saturating_mul(1000) > TTL_MS
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_answer_becomes_a_task_and_a_result_completes_it() {
        let message = format!(
            "Rendering… (3 s so far, 40%).{}",
            crate::mcp::jobs::keep_waiting("export_video", "job_1")
        );
        let running = CallToolResult::structured(
            serde_json::json!({"status": "running", "job_id": "job_1", "message": message}),
        );
        let CallToolResponse::Task(t) = created("export_video", running.clone().into()) else {
            panic!("not a task");
        };
        assert_eq!(t.task.task_id, "job_1");
        assert_eq!(t.task.ttl_ms, Some(TTL_MS));
        assert_eq!(
            t.task.status_message.as_deref(),
            Some("Rendering… (3 s so far, 40%)."),
            "a task is not followed with job_id"
        );
        let d = detailed("export_video", "job_1", Ok(running), now()).unwrap();
        assert_eq!(d.status(), TaskStatus::Working);
        assert!(!d.task.status_message.unwrap().contains("job_id"));
        let done = CallToolResult::structured(serde_json::json!({"status": "completed"}));
        assert!(matches!(
            created("export_video", done.clone().into()),
            CallToolResponse::Complete(_)
        ));
        let d = detailed("export_video", "job_1", Ok(done), now()).unwrap();
        assert_eq!(d.status(), TaskStatus::Completed);
        assert!(expired(now() - TTL_MS / 1000 - 5));
        assert!(!expired(now()));
    }
}
