//! The requests the embedded backend received (`log_requests`), for tests to check what a
//! client sent: method, path, attribution headers, JSON bodies — never a token, only whether
//! one was sent. Also the draft each session's last state answer gave out, which the cloud
//! dialects hold a render to (`routes::dialect`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

/// Requests kept in the log, oldest dropped first.
const LOG_LIMIT: usize = 4096;

/// One request as the backend received it. Never holds a token: only whether one was sent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoggedRequest {
    /// Milliseconds since the backend started.
    pub at_ms: u64,
    pub method: String,
    pub path: String,
    /// `X-Skill-Source`, `X-Skill-Version`, `X-Skill-Platform` as sent (`None`: missing).
    pub skill_source: Option<String>,
    pub skill_version: Option<String>,
    pub skill_platform: Option<String>,
    /// `X-Client-Id` as sent.
    pub client_id: Option<String>,
    /// An `Authorization: Bearer …` header was sent.
    pub bearer: bool,
    /// A JSON request body.
    pub body: Option<Value>,
    /// The HTTP status answered.
    pub status: u16,
}

impl LoggedRequest {
    /// All three attribution headers are present and non-empty.
    pub fn attributed(&self) -> bool {
        [
            &self.skill_source,
            &self.skill_version,
            &self.skill_platform,
        ]
        .iter()
        .all(|h| h.as_deref().is_some_and(|v| !v.trim().is_empty()))
    }
}

/// The request log and the drafts given out per session.
pub struct RequestLog {
    started: Instant,
    log: Mutex<Vec<LoggedRequest>>,
    /// The draft of each session's last state answer, as sent.
    drafts: Mutex<HashMap<String, Value>>,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog {
            started: Instant::now(),
            log: Mutex::new(Vec::new()),
            drafts: Mutex::new(HashMap::new()),
        }
    }
}

impl RequestLog {
    /// The requests logged so far (empty unless `log_requests` is on).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Milliseconds since the backend started.
    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn push(&self, r: LoggedRequest) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= LOG_LIMIT {
            log.remove(0);
        }
        log.push(r);
    }

    pub fn remember_draft(&self, session: &str, draft: Value) {
        let mut d = self.drafts.lock().unwrap_or_else(|e| e.into_inner());
        d.insert(session.to_string(), draft);
    }

    pub fn draft_of(&self, session: &str) -> Option<Value> {
        let d = self.drafts.lock().unwrap_or_else(|e| e.into_inner());
        d.get(session).cloned()
    }
}
