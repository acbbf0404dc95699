//! `ClientError`: every failure a user can act on, with `Display` as the sentence shown to
//! them (names the file or setting, says what to do next, never a token or a raw answer),
//! and the mapping from a decoded `ApiFailure` (body code first, HTTP status second).

use std::path::PathBuf;

use crate::api::{
    ApiFailure, CODE_FILE_TOO_LARGE, CODE_LIMIT_REACHED, CODE_OUT_OF_CREDITS,
    CODE_SESSION_NOT_FOUND, CODE_TOKEN_INVALID, CODE_UNSUPPORTED_FILE, MAX_UPLOAD_BYTES,
    accepted_formats_text,
};

/// The register page under the website (`NEMO_WEB_URL`, default nemovideo.com); anonymous
/// users get `…/register?bind=<user_id>`, which links the anonymous user to the new account.
pub const REGISTER_PATH: &str = "/register";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Kept for callers that build a plain message.
    #[error("{0}")]
    Message(String),

    #[error("{}", out_of_credits_text(.register_link.as_deref()))]
    OutOfCredits {
        /// `https://nemovideo.com/register?bind=<user_id>` for anonymous users (`user_id`
        /// starting with `anon_`, also when the token came from `NEMO_TOKEN`); `None` for
        /// registered users, who are told to top up instead.
        register_link: Option<String>,
        /// The same as data: which page gets this user more credits. The MCP server offers
        /// it (URL elicitation) from this, never from a result's text, which may quote
        /// anything a user or the agent wrote.
        page: TopUpPage,
    },

    #[error(
        "{name}: {detail}. Accepted formats: {}. Convert it to one of these (e.g. `ffmpeg -i INPUT -c:v libx264 -c:a aac out.mp4`) and upload again.",
        accepted_formats_text()
    )]
    UnsupportedFile { name: String, detail: String },

    #[error("{}", too_large_text(.name, *.size))]
    FileTooLarge { name: String, size: Option<u64> },

    #[error(
        "Register at nemovideo.com to unlock export: the service does not export on the free plan (HTTP 402; this is not about credits). Or export with the local backend (EBC_BACKEND=local)."
    )]
    ExportNeedsPlan,

    #[error(
        "The NemoVideo service gives one free anonymous token per device every 7 days (and ten per network), and this device has had its token (HTTP 429 while getting an access token), so waiting a minute will not help. Set NEMO_TOKEN to a token of your nemovideo.com account, or use the local backend (EBC_BACKEND=local)."
    )]
    TokenLimit,

    /// A standing limit of the local backend (sign-ups, tokens, sessions, storage): its own
    /// message names the limit and what to do; it is not retried.
    #[error("The local backend refused this ({what}): {message}")]
    LimitReached { what: String, message: String },

    #[error(
        "The NemoVideo service is still rate-limiting requests ({what}) after waiting {waited_secs} s; wait a minute and try again."
    )]
    RateLimited { what: String, waited_secs: u64 },

    #[error(
        "NEMO_TOKEN was rejected as invalid or expired ({what}); set a fresh token from your NemoVideo account, or unset NEMO_TOKEN to use an anonymous one."
    )]
    RegisteredTokenRejected { what: String },

    #[error(
        "The NemoVideo service rejected a freshly issued token ({what}); try again in a minute."
    )]
    TokenRejected { what: String },

    #[error(
        "The editing session was lost again right after a new one was created ({what}); try again."
    )]
    SessionLost { what: String },

    #[error("{what} failed: the NemoVideo service answered with code {code}{}", suffix(.message))]
    Service {
        what: String,
        code: i64,
        message: String,
    },

    #[error("{what} failed: the NemoVideo service answered HTTP {status}{}", suffix(.message))]
    Http {
        what: String,
        status: u16,
        message: String,
    },

    #[error(
        "Cannot reach the NemoVideo service at {url} ({what}): {source}. Check the network, or NEMO_API_URL if you set it."
    )]
    Unreachable {
        what: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error(
        "{what}: the service's answer was not understood ({detail}); try again, and report it if it persists."
    )]
    BadAnswer { what: String, detail: String },

    #[error("Cannot read {}: {source}. Check the path and that the file is readable.", .path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("Cannot write {}: {source}. Choose a writable location.", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("Cannot write the client state file {}: {source}. Set EBC_STATE_DIR to a writable directory.", .path.display())]
    StateFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}", run_timeout_text(*.minutes, *.heartbeats_only))]
    RunTimeout { minutes: u64, heartbeats_only: bool },

    #[error(
        "The editing agent stopped with an error: {message}. Try again, or rephrase the request."
    )]
    AgentFailed { message: String },

    #[error(
        "{what}: the answer is larger than the {limit_kb} KB this client reads for it, so it was not read; try again, and report it if it persists."
    )]
    AnswerTooLarge { what: String, limit_kb: usize },

    #[error("Render {id} failed: {message}. Check the timeline (show_timeline) and export again.")]
    RenderFailed { id: String, message: String },

    #[error(
        "Render {id} has no output to download yet (status {status}); wait until it completes."
    )]
    RenderNotReady { id: String, status: String },
}

fn suffix(message: &str) -> String {
    let m = message.trim();
    if m.is_empty() {
        ".".into()
    } else {
        format!(": {}.", m.trim_end_matches('.'))
    }
}

/// Which page gets a user more credits after code 2001 (out of credits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopUpPage {
    /// An anonymous user registers (which keeps the project): `REGISTER_PATH`, binding the
    /// anonymous `user_id` when it is known.
    Register { bind: Option<String> },
    /// A registered user tops up on the website itself.
    TopUp,
}

impl TopUpPage {
    /// The page's URL under `web` (`NEMO_WEB_URL`; empty: `DEFAULT_WEB_URL`).
    pub fn url(&self, web: &str) -> String {
        let web = if web.is_empty() {
            crate::config::client::DEFAULT_WEB_URL
        } else {
            web.trim_end_matches('/')
        };
        match self {
            TopUpPage::Register { bind: Some(id) } => format!("{web}{REGISTER_PATH}?bind={id}"),
            TopUpPage::Register { bind: None } => format!("{web}{REGISTER_PATH}"),
            TopUpPage::TopUp => web.to_string(),
        }
    }
}

/// How the out-of-credits sentence starts for anonymous users (before the link) and what
/// follows the link.
const ANON_CREDITS_HEAD: &str = "Your free NemoVideo credits have run out. Register at ";
const ANON_CREDITS_TAIL: &str = " to keep this project and get more credits, then try again.";
const REGISTERED_CREDITS: &str =
    "Your NemoVideo credits have run out. Top up at nemovideo.com, then try again.";

fn out_of_credits_text(link: Option<&str>) -> String {
    match link {
        Some(link) => format!("{ANON_CREDITS_HEAD}{link}{ANON_CREDITS_TAIL}"),
        None => REGISTERED_CREDITS.to_string(),
    }
}

fn too_large_text(name: &str, size: Option<u64>) -> String {
    let size = match size {
        Some(bytes) => format!(" is {} MB, which", bytes.div_ceil(1024 * 1024)),
        None => String::new(),
    };
    format!(
        "{name}{size} is over the {} MB upload limit. Trim or compress it first, e.g. `ffmpeg -i INPUT -t 120 -vf \"scale=-2:720\" -c:v libx264 -crf 28 -preset veryfast -c:a aac -b:a 128k smaller.mp4` (first 2 minutes at 720p), then upload the smaller file.",
        MAX_UPLOAD_BYTES / (1024 * 1024)
    )
}

fn run_timeout_text(minutes: u64, heartbeats_only: bool) -> String {
    if heartbeats_only {
        format!(
            "The editing agent sent no progress for {minutes} minutes, only keep-alives, so the wait was stopped. The edit may still finish: check with show_timeline before asking again, so it is not applied twice."
        )
    } else {
        format!(
            "The edit did not finish within {minutes} minutes, so the wait was stopped. It may still finish: check with show_timeline before asking again, so it is not applied twice."
        )
    }
}

/// Who is asking, for the messages that depend on it.
#[derive(Debug, Clone, Default)]
pub struct FailureContext {
    /// The call, in words ("upload", "export", "reading the timeline").
    pub what: String,
    /// The token came from `NEMO_TOKEN`.
    pub registered: bool,
    pub client_id: String,
    /// The service's user id when known (`anon_…` for anonymous users).
    pub user_id: String,
    /// The website for links (`NEMO_WEB_URL`).
    pub web_url: String,
    /// The file or URL an upload was about.
    pub file: Option<String>,
}

/// What the client does about a failed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// 1001: get a new token, retry once.
    NewToken,
    /// 1002: create a new session, retry once.
    NewSession,
    /// HTTP 429: wait, retry once.
    Wait,
    /// Nothing to retry: report it.
    Report,
}

/// Body code first, HTTP status second.
pub fn recovery(status: u16, failure: &ApiFailure) -> Recovery {
    match failure {
        ApiFailure::Code {
            code: CODE_TOKEN_INVALID,
            ..
        } => Recovery::NewToken,
        ApiFailure::Code {
            code: CODE_SESSION_NOT_FOUND,
            ..
        } => Recovery::NewSession,
        ApiFailure::Code { code, .. } if is_contract_code(*code) => Recovery::Report,
        // A standing limit: waiting a minute does not help.
        ApiFailure::Code {
            code: CODE_LIMIT_REACHED,
            ..
        } => Recovery::Report,
        _ if status == 429 => Recovery::Wait,
        _ => Recovery::Report,
    }
}

fn is_contract_code(code: i64) -> bool {
    matches!(
        code,
        CODE_TOKEN_INVALID
            | CODE_SESSION_NOT_FOUND
            | CODE_OUT_OF_CREDITS
            | CODE_UNSUPPORTED_FILE
            | CODE_FILE_TOO_LARGE
    )
}

/// The final error for a failure that is not (or no longer) retried.
pub fn from_failure(status: u16, failure: ApiFailure, ctx: &FailureContext) -> ClientError {
    let what = ctx.what.clone();
    if let ApiFailure::Code {
        code: CODE_LIMIT_REACHED,
        message,
    } = &failure
    {
        return ClientError::LimitReached {
            what,
            message: message.clone(),
        };
    }
    let known_code = matches!(&failure, ApiFailure::Code { code, .. } if is_contract_code(*code));
    if !known_code && status == 402 {
        return ClientError::ExportNeedsPlan;
    }
    if !known_code && status == 429 {
        return ClientError::RateLimited {
            what,
            waited_secs: 0,
        };
    }
    let file = || ctx.file.clone().unwrap_or_else(|| "The file".into());
    match failure {
        ApiFailure::Code { code, message } => match code {
            CODE_OUT_OF_CREDITS => out_of_credits(ctx),
            CODE_UNSUPPORTED_FILE => ClientError::UnsupportedFile {
                name: file(),
                detail: "the service does not accept this file type".into(),
            },
            CODE_FILE_TOO_LARGE => ClientError::FileTooLarge {
                name: file(),
                size: None,
            },
            CODE_TOKEN_INVALID if ctx.registered => ClientError::RegisteredTokenRejected { what },
            CODE_TOKEN_INVALID => ClientError::TokenRejected { what },
            CODE_SESSION_NOT_FOUND => ClientError::SessionLost { what },
            _ => ClientError::Service {
                what,
                code,
                message,
            },
        },
        ApiFailure::Http { status, message } => match status {
            402 => ClientError::ExportNeedsPlan,
            429 => ClientError::RateLimited {
                what,
                waited_secs: 0,
            },
            _ => ClientError::Http {
                what,
                status,
                message,
            },
        },
        ApiFailure::Shape(detail) => ClientError::BadAnswer { what, detail },
    }
}

/// 2001: anonymous means a `user_id` starting with `anon_`, whether or not the token came
/// from `NEMO_TOKEN`; a known other id is a registered user. With no id known, a user
/// without `NEMO_TOKEN` is anonymous and gets the register page without `bind`.
pub fn out_of_credits(ctx: &FailureContext) -> ClientError {
    let page = if ctx.user_id.starts_with("anon_") {
        TopUpPage::Register {
            bind: Some(ctx.user_id.clone()),
        }
    } else if ctx.user_id.is_empty() && !ctx.registered {
        TopUpPage::Register { bind: None }
    } else {
        TopUpPage::TopUp
    };
    let register_link = match page {
        TopUpPage::Register { .. } => Some(page.url(&ctx.web_url)),
        TopUpPage::TopUp => None,
    };
    ClientError::OutOfCredits {
        register_link,
        page,
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::api::{CreditsData, decode_envelope};

    fn map(status: u16, body: &str, registered: bool) -> ClientError {
        let failure = decode_envelope::<CreditsData>(status, body.as_bytes()).unwrap_err();
        from_failure(
            status,
            failure,
            &FailureContext {
                what: "upload".into(),
                registered,
                client_id: "cid-123".into(),
                user_id: if registered {
                    "usr_9".into()
                } else {
                    "anon_4c1d".into()
                },
                web_url: "https://nemovideo.com".into(),
                file: Some("clip.flv".into()),
            },
        )
    }

    #[test]
    fn codes_map_to_sentences() {
        let e = map(200, r#"{"code":2001,"message":"no credits"}"#, false).to_string();
        assert!(
            e.contains("https://nemovideo.com/register?bind=anon_4c1d"),
            "{e}"
        );
        let e = map(402, r#"{"code":2001,"message":"no credits"}"#, true).to_string();
        assert!(
            e.contains("Top up at nemovideo.com") && !e.contains("bind="),
            "{e}"
        );

        let e = map(400, r#"{"code":4001,"message":"bad type"}"#, false).to_string();
        assert!(
            e.starts_with("clip.flv") && e.contains("mp4 mov avi webm mkv"),
            "{e}"
        );
        let e = map(413, r#"{"code":4002}"#, false).to_string();
        assert!(e.contains("500 MB") && e.contains("ffmpeg"), "{e}");

        // No body code: the HTTP status decides.
        let e = map(402, "{}", false).to_string();
        assert!(
            e.starts_with("Register at nemovideo.com to unlock export")
                && e.contains("not about credits"),
            "{e}"
        );
        assert!(matches!(
            map(429, "", false),
            ClientError::RateLimited { .. }
        ));
        assert!(matches!(
            map(200, r#"{"code":1001,"message":"expired"}"#, true),
            ClientError::RegisteredTokenRejected { .. }
        ));
        assert_eq!(
            recovery(
                200,
                &ApiFailure::Code {
                    code: 1002,
                    message: String::new()
                }
            ),
            Recovery::NewSession
        );
        assert_eq!(
            recovery(
                429,
                &ApiFailure::Code {
                    code: 4290,
                    message: String::new()
                }
            ),
            Recovery::Wait
        );
        assert_eq!(
            recovery(
                429,
                &ApiFailure::Code {
                    code: 2001,
                    message: String::new()
                }
            ),
            Recovery::Report
        );
        let e = map(500, r#"{"code":5000,"message":"disk full"}"#, false).to_string();
        assert_eq!(
            e,
            "upload failed: the NemoVideo service answered with code 5000: disk full."
        );
    }

    /// shared/cases/cloud.md 5: the link binds the anonymous *user id* on nemovideo.com,
    /// also when that anonymous token came in through NEMO_TOKEN.
    #[test]
    fn out_of_credits_depends_on_the_user_id() {
        let ctx = |user_id: &str, registered: bool| FailureContext {
            what: "export".into(),
            registered,
            client_id: "cid-123".into(),
            user_id: user_id.into(),
            web_url: "https://nemovideo.com".into(),
            file: None,
        };
        let text = |c: &FailureContext| out_of_credits(c).to_string();
        assert!(
            text(&ctx("anon_4c1d", false))
                .contains("Register at https://nemovideo.com/register?bind=anon_4c1d ")
        );
        assert!(text(&ctx("anon_4c1d", true)).contains("register?bind=anon_4c1d"));
        let registered = text(&ctx("usr_77", true));
        assert!(
            registered.contains("Top up at nemovideo.com"),
            "{registered}"
        );
        assert!(!registered.contains("register"), "{registered}");
        assert!(text(&ctx("", false)).contains("https://nemovideo.com/register "));
        // The page as data, for the MCP server's offer: the same URLs.
        let page = |c: &FailureContext| match out_of_credits(c) {
            ClientError::OutOfCredits { page, .. } => page.url(&c.web_url),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            page(&ctx("anon_4c1d", false)),
            "https://nemovideo.com/register?bind=anon_4c1d"
        );
        assert_eq!(page(&ctx("usr_77", true)), "https://nemovideo.com");
        assert_eq!(page(&ctx("", false)), "https://nemovideo.com/register");
        assert!(!text(&ctx("", false)).contains("cid-123"));
    }

    #[test]
    fn messages_never_carry_tokens_from_bodies() {
        // The service's `message` is shown, but a raw non-JSON body never is.
        let e = map(502, "<html>nmv_usr_secret</html>", false).to_string();
        assert!(!e.contains("nmv_usr_secret"), "{e}");
    }
}
