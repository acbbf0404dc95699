//! Consent where the user pays or their files leave the machine (issue 22 item 5, issue 20
//! "no unseen uploads"): before a call to the cloud backend that spends credits or uploads a
//! file named only in the user's words, one form elicitation says what will happen and what
//! it costs; on NemoVideo's code 2001 a URL-mode elicitation offers the registration / top-up
//! page. Only clients that declared the elicitation capability are asked; everyone else gets
//! today's behaviour (the result discloses every file that left the machine, and the 2001
//! text carries the link). The local backend spends nothing and sends nothing away, so it
//! never asks.
//!
//! How the form travels depends on the protocol version. Before 2026-07-28 the server sends
//! `elicitation/create` while the call is open. From 2026-07-28 a server may not send
//! requests (rmcp: "Errors on protocol 2026-07-28 or later"), so the form goes out in the
//! call's own answer — SEP-2322's multi round-trip request: an `input_required` result whose
//! `inputRequests` holds the `elicitation/create` request and whose `requestState` names what
//! was asked; the client shows the form and calls the same tool again with `inputResponses`
//! and the `requestState` echoed (rmcp 3.11 `model::mrtr`, `call_tool` drives these rounds;
//! the Python SDK 2.3 `Client.call_tool` does too, `mcp/client/_input_required.py`). Nothing
//! is started before the answer, so the first round has no state to keep: the retry is
//! judged on its own (`Rounds`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rmcp::{
    RoleServer,
    model::{
        BooleanSchema, CallToolRequestParams, CallToolResult, ClientCapabilities, ContentBlock,
        ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
        InputRequest, InputRequiredResult, PrimitiveSchemaDefinition,
    },
    service::{ElicitationMode, RequestContext},
};
use sha2::{Digest, Sha256};

use super::attach::Attachment;
use super::connect::Connection;
use super::paths::MediaRef;

/// The first protocol version that forbids server-to-client requests (rmcp: "Errors on
/// protocol `2026-07-28` or later"); its clients are asked by a multi round-trip request.
const NO_SERVER_REQUESTS_FROM: &str = "2026-07-28";

/// The key of the consent form in an `input_required` result's `inputRequests` (and of its
/// answer in the retry's `inputResponses`).
pub const CONSENT_KEY: &str = "ebc_consent";

/// The start of this server's `requestState` for a consent form; the rest is a digest of
/// what was asked (`state_for`).
const CONSENT_STATE: &str = "ebc-consent-v1:";

/// The key of the top-up page (URL mode) in `inputRequests` / `inputResponses`.
pub const TOP_UP_KEY: &str = "ebc_top_up";

/// The start of this server's `requestState` for the top-up page; the rest is the id of the
/// job whose answer said the credits ran out. The retry is answered from that job (done
/// already), not by doing the call again.
const TOP_UP_STATE: &str = "ebc-top-up-v1:";

/// The job a retried `tools/call` answers the top-up offer of (its `requestState`), if any:
/// the call is then that job's answer again (`EbcServer::call_tool`).
pub fn top_up_job(request: &CallToolRequestParams) -> Option<&str> {
    request.request_state.as_deref()?.strip_prefix(TOP_UP_STATE)
}

/// A 2026-07-28 `tools/call`'s multi round-trip state, put in the request's extensions by
/// the server's `call_tool`: the answers the client brought back and the slot where this
/// call leaves the input it needs (then the call answers `input_required`, not its result).
#[derive(Debug, Clone, Default)]
pub struct Rounds {
    responses: BTreeMap<String, serde_json::Value>,
    state: Option<String>,
    needed: Arc<Mutex<Option<InputRequiredResult>>>,
}

impl Rounds {
    /// The rounds of `request` (its `inputResponses` and `requestState`, both untrusted).
    pub fn of(request: &CallToolRequestParams) -> Rounds {
        Rounds {
            responses: request.input_responses.clone().unwrap_or_default(),
            state: request.request_state.clone(),
            needed: Arc::default(),
        }
    }

    /// The input this call asked for, if it did: the call's answer is then this.
    pub fn needed(&self) -> Option<InputRequiredResult> {
        self.needed.lock().ok()?.take()
    }

    fn need(&self, input: InputRequiredResult) {
        if let Ok(mut slot) = self.needed.lock() {
            *slot = Some(input);
        }
    }

    /// The client's answer to `key`, when it came back with `state` (the `requestState` this
    /// server gave for the same question). An answer to another question is no answer.
    fn answer(&self, key: &str, state: &str) -> Option<Result<ElicitResult, String>> {
        if self.state.as_deref() != Some(state) {
            return None;
        }
        let value = self.responses.get(key)?;
        Some(serde_json::from_value(value.clone()).map_err(|e| format!("{key}: {e}")))
    }
}

/// What a call is about to do that the user should agree to first.
#[derive(Debug, Default, Clone)]
pub struct Ask {
    /// What spends credits, in words ("replace the background"), when the call spends any.
    pub spends: Option<Spend>,
    /// Files from this computer, named only in the user's words, that would be uploaded.
    pub files: Vec<String>,
}

/// A kind of paid work; the cloud's prices are not published in its API (DESIGN.md "The
/// NemoVideo contract" has no price call), so the form says how it is charged and the balance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spend {
    /// One agent turn (`/run_sse`): replace_background, edit_video.
    Edit(&'static str),
    /// A render (`/api/render/proxy/lambda`): export_video.
    Render,
    /// One render per clip, this many (export_video with `each: true`): asked once for all.
    RenderEach(usize),
}

impl Ask {
    /// Nothing to ask.
    pub fn none() -> Ask {
        Ask::default()
    }

    /// Paid work `spends`, uploading the local files among `attachments` first.
    pub fn spending(spends: Spend, attachments: &[Attachment]) -> Ask {
        Ask {
            spends: Some(spends),
            files: local_files(attachments),
        }
    }

    fn is_empty(&self) -> bool {
        self.spends.is_none() && self.files.is_empty()
    }
}

/// The local files among `attachments`, as their paths (URLs are fetched by the backend, no
/// file of this computer leaves with them).
pub fn local_files(attachments: &[Attachment]) -> Vec<String> {
    attachments
        .iter()
        .filter_map(|a| match &a.media {
            MediaRef::File(p) => Some(p.display().to_string()),
            MediaRef::Url(_) => None,
        })
        .collect()
}

/// The answer: go ahead, or the tool result that says the user refused and nothing happened.
pub enum Verdict {
    Go,
    Refused(CallToolResult),
}

/// Whether this request speaks 2026-07-28 or later (no server-to-client requests).
fn modern(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version()
        .is_some_and(|v| v.as_str() >= NO_SERVER_REQUESTS_FROM)
}

/// `(form, url)`: the elicitation modes `caps` declares; an empty `elicitation` object means
/// form (the 2025-06-18 shape, as rmcp's `supported_elicitation_modes` reads it).
fn declared(caps: &ClientCapabilities) -> (bool, bool) {
    match &caps.elicitation {
        None => (false, false),
        Some(e) if e.form.is_none() && e.url.is_none() => (true, false),
        Some(e) => (e.form.is_some(), e.url.is_some()),
    }
}

/// Which elicitation modes this request's client declared and can be asked in: from the
/// handshake, or on 2026-07-28 from the request's `_meta` — there only inside a `tools/call`
/// (the only place here an `input_required` answer can go: `Rounds`).
fn modes(ctx: &RequestContext<RoleServer>) -> (bool, bool) {
    if modern(ctx) {
        if ctx.extensions.get::<Rounds>().is_none() {
            return (false, false);
        }
        return ctx
            .client_capabilities()
            .map(|c| declared(&c))
            .unwrap_or((false, false));
    }
    let m = ctx.peer.supported_elicitation_modes();
    (
        m.contains(&ElicitationMode::Form),
        m.contains(&ElicitationMode::Url),
    )
}

/// The `requestState` for asking `ask`: names what was asked, so that an answer given to
/// one question (other files, another kind of spend) is not taken for another. Not a secret
/// and not a capability — the client speaks for the user either way.
fn state_for(ask: &Ask) -> String {
    let mut h = Sha256::new();
    h.update(format!("{:?}", ask.spends));
    for f in &ask.files {
        h.update([0u8]);
        h.update(f.as_bytes());
    }
    let digest: String = h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{CONSENT_STATE}{digest}")
}

/// Ask the user before `ask` happens on `conn`, when it is the cloud and the client can be
/// asked. Declined, cancelled, answered "no" or failed: refused, and nothing was done. On
/// 2026-07-28 the first round leaves the form in `Rounds` (the call then answers
/// `input_required`, see the module note) and the retry carries the answer, which is applied
/// even when the retry declares no elicitation capability.
pub async fn ask(ask: &Ask, conn: &Connection, ctx: &RequestContext<RoleServer>) -> Verdict {
    if conn.label != "cloud" || ask.is_empty() {
        return Verdict::Go;
    }
    let rounds = ctx.extensions.get::<Rounds>().filter(|_| modern(ctx));
    let state = state_for(ask);
    // An answer brought back for this question counts whatever the retry declares (a decline
    // must never turn into "not asked, go ahead"); only with no answer does an undeclared
    // capability mean today's behaviour.
    if let Some(answer) = rounds.and_then(|r| r.answer(CONSENT_KEY, &state)) {
        return verdict(answer);
    }
    if !modes(ctx).0 {
        return Verdict::Go;
    }
    if let Some(rounds) = rounds {
        let params = form(ask, conn).await;
        tracing::info!(files = ask.files.len(), spends = ?ask.spends, "asking the user before a cloud call (input_required)");
        let request = InputRequest::Elicitation(ElicitRequest::new(params));
        rounds.need(InputRequiredResult::new(
            Some(BTreeMap::from([(CONSENT_KEY.to_string(), request)])),
            Some(state),
        ));
        // Never reaches the client: the call answers with what `rounds` needs.
        return Verdict::Refused(CallToolResult::error(vec![ContentBlock::text(
            "Not done yet: waiting for the user's answer.",
        )]));
    }
    let params = form(ask, conn).await;
    tracing::info!(files = ask.files.len(), spends = ?ask.spends, "asking the user before a cloud call");
    let answer = ctx
        .peer
        .create_elicitation(params)
        .await
        .map_err(|e| e.to_string());
    verdict(answer)
}

/// The form for `ask`, with the current balance when the cloud tells it.
async fn form(ask: &Ask, conn: &Connection) -> ElicitRequestParams {
    let balance = conn.client.credits().await.ok().map(|c| c.available);
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: form_message(ask, balance),
        requested_schema: schema(),
    }
}

/// Go only on an accept whose `proceed` is `true` or absent (the form's default is checked);
/// any other `proceed` (`false`, `"false"`, `0`, `null`) is not a yes.
fn verdict(answer: Result<ElicitResult, String>) -> Verdict {
    let agreed = match &answer {
        Ok(r) => {
            r.action == ElicitationAction::Accept
                && match r.content.as_ref().and_then(|c| c.get("proceed")) {
                    None => true,
                    Some(v) => v.as_bool() == Some(true),
                }
        }
        Err(e) => {
            tracing::warn!(error = %e, "the consent request failed; not going ahead");
            false
        }
    };
    if agreed {
        return Verdict::Go;
    }
    let how = match answer {
        Ok(r) if r.action == ElicitationAction::Cancel => "dismissed the request",
        Ok(_) => "declined",
        Err(_) => "could not be asked (the host did not answer the consent request)",
    };
    Verdict::Refused(CallToolResult::error(vec![ContentBlock::text(format!(
        "Not done: the user {how}, so nothing was sent to NemoVideo, nothing was uploaded and no credits were spent. Ask the user before trying again."
    ))]))
}

/// The form's text: what will happen, how it is charged, the balance, the files.
pub fn form_message(ask: &Ask, balance: Option<f64>) -> String {
    let mut parts = Vec::new();
    match ask.spends {
        Some(Spend::Edit(what)) => parts.push(format!(
            "To {what}, NemoVideo's cloud editor will run one edit, which spends credits from your NemoVideo account (charged per edit; the service sets the price)."
        )),
        Some(Spend::Render) => parts.push(
            "To export the video, NemoVideo's cloud will render it, which spends credits from your NemoVideo account (charged by the length of the video; the service sets the price)."
                .to_string(),
        ),
        Some(Spend::RenderEach(n)) => parts.push(format!(
            "To export each of the {} to its own file, NemoVideo's cloud will run {}, each of which spends credits from your NemoVideo account (charged by the length of each clip; the service sets the price).",
            counted(n, "clip"),
            counted(n, "render")
        )),
        None => {}
    }
    if let Some(b) = balance {
        parts.push(format!("Your balance: {b} credits available."));
    }
    if !ask.files.is_empty() {
        parts.push(format!(
            "These files from this computer will be uploaded to NemoVideo: {}.",
            ask.files.join(", ")
        ));
    }
    parts.push("Go ahead?".into());
    parts.join(" ")
}

/// `n` and `what`, plural but for one ("1 clip", "2 clips").
fn counted(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// One yes/no field, checked by default: the answer that matters is accept or decline.
fn schema() -> ElicitationSchema {
    let mut properties = std::collections::BTreeMap::new();
    properties.insert(
        "proceed".to_string(),
        PrimitiveSchemaDefinition::Boolean(
            BooleanSchema::new()
                .title("Go ahead")
                .description("Spend the credits / upload the files named above")
                .with_default(true),
        ),
    );
    ElicitationSchema::new(properties)
}

/// After a call failed with NemoVideo's code 2001 (out of credits): offer the registration or
/// top-up page by a URL-mode elicitation, where the client declared URL mode. `result` is the
/// answer of job `job` (unchanged but for a note when the user opened the page); `web` is the
/// website (`NEMO_WEB_URL`), the top-up page of registered users. On 2026-07-28 the offer is
/// an `input_required` round whose `requestState` names the job; the retry is answered from
/// the job (see `top_up_job`) and lands here again with the user's answer.
pub async fn offer_top_up(
    mut result: CallToolResult,
    job: &str,
    web: &str,
    ctx: &RequestContext<RoleServer>,
) -> CallToolResult {
    if result.is_error != Some(true) || !modes(ctx).1 {
        return result;
    }
    let text: String = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    let Some(credits) = crate::client::out_of_credits_in(&text) else {
        return result;
    };
    let (url, message) = match credits {
        Some(register) => (
            register,
            "Your free NemoVideo credits have run out. Register (this keeps your project) to get more credits, then ask again.".to_string(),
        ),
        None => (
            web.trim_end_matches('/').to_string(),
            "Your NemoVideo credits have run out. Top up at nemovideo.com, then ask again."
                .to_string(),
        ),
    };
    let params = ElicitRequestParams::UrlElicitationParams {
        meta: None,
        message,
        url,
        elicitation_id: uuid::Uuid::new_v4().to_string(),
    };
    let answer = match ctx.extensions.get::<Rounds>().filter(|_| modern(ctx)) {
        Some(rounds) => {
            let state = format!("{TOP_UP_STATE}{job}");
            match rounds.answer(TOP_UP_KEY, &state) {
                Some(answer) => answer,
                None => {
                    let request = InputRequest::Elicitation(ElicitRequest::new(params));
                    rounds.need(InputRequiredResult::new(
                        Some(BTreeMap::from([(TOP_UP_KEY.to_string(), request)])),
                        Some(state),
                    ));
                    return result;
                }
            }
        }
        None => ctx
            .peer
            .create_elicitation(params)
            .await
            .map_err(|e| e.to_string()),
    };
    match answer {
        Ok(r) if r.action == ElicitationAction::Accept => result.content.push(ContentBlock::text(
            "The user was shown the page to get more credits; call again once they have.",
        )),
        Ok(_) => {}
        Err(e) => tracing::info!(error = %e, "offering the top-up page failed"),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_says_what_is_charged_and_which_files_leave() {
        let ask = Ask {
            spends: Some(Spend::Edit("replace the background")),
            files: vec!["/home/u/Beach Day.png".into()],
        };
        let m = form_message(&ask, Some(97.0));
        assert!(m.contains("replace the background"), "{m}");
        assert!(
            m.contains("spends credits") && m.contains("97 credits available"),
            "{m}"
        );
        assert!(m.contains("/home/u/Beach Day.png"), "{m}");
        let m = form_message(
            &Ask {
                spends: Some(Spend::Render),
                files: vec![],
            },
            None,
        );
        assert!(
            m.contains("export") && m.contains("length of the video"),
            "{m}"
        );
        assert!(!m.contains("uploaded"), "{m}");
        assert!(Ask::none().is_empty());
    }

    #[test]
    fn an_answer_counts_only_for_the_question_it_answers() {
        let replace = Ask {
            spends: Some(Spend::Edit("replace the background")),
            files: vec![],
        };
        let with_file = Ask {
            spends: Some(Spend::Edit("replace the background")),
            files: vec!["/home/u/Beach Day.png".into()],
        };
        let state = state_for(&replace);
        assert!(state.starts_with(CONSENT_STATE));
        assert_eq!(state, state_for(&replace.clone()), "stable");
        assert_ne!(state, state_for(&with_file), "other files, other question");
        let mut request = CallToolRequestParams::new("replace_background")
            .with_request_state(state.clone())
            .with_input_responses(BTreeMap::from([(
                CONSENT_KEY.to_string(),
                serde_json::json!({"action": "accept", "content": {"proceed": true}}),
            )]));
        let rounds = Rounds::of(&request);
        let answer = rounds.answer(CONSENT_KEY, &state).expect("answered");
        assert!(matches!(verdict(answer), Verdict::Go));
        assert!(
            rounds.answer(CONSENT_KEY, &state_for(&with_file)).is_none(),
            "an accept of one question is not an accept of another"
        );
        request.request_state = None;
        assert!(Rounds::of(&request).answer(CONSENT_KEY, &state).is_none());
        assert_eq!(top_up_job(&request), None);
        request.request_state = Some(format!("{TOP_UP_STATE}job_1"));
        assert_eq!(top_up_job(&request), Some("job_1"));
        let no = Rounds::of(
            &CallToolRequestParams::new("x")
                .with_request_state(state.clone())
                .with_input_responses(BTreeMap::from([(
                    CONSENT_KEY.to_string(),
                    serde_json::json!({"action": "decline"}),
                )])),
        );
        assert!(matches!(
            verdict(no.answer(CONSENT_KEY, &state).unwrap()),
            Verdict::Refused(_)
        ));
    }

    #[test]
    fn only_an_absent_or_true_proceed_is_a_yes() {
        let accept = |content: Option<serde_json::Value>| {
            let mut r = ElicitResult::new(ElicitationAction::Accept);
            if let Some(c) = content {
                r = r.with_content(c);
            }
            matches!(verdict(Ok(r)), Verdict::Go)
        };
        assert!(accept(None), "accepted, no content: the default (checked)");
        assert!(accept(Some(serde_json::json!({}))), "proceed absent");
        assert!(accept(Some(serde_json::json!({"proceed": true}))));
        for no in [
            serde_json::json!({"proceed": false}),
            serde_json::json!({"proceed": "false"}),
            serde_json::json!({"proceed": "true"}),
            serde_json::json!({"proceed": 0}),
            serde_json::json!({"proceed": 1}),
            serde_json::json!({"proceed": null}),
        ] {
            assert!(!accept(Some(no.clone())), "{no} is not a yes");
        }
    }
}
