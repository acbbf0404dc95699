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
//! is started before the answer. The state decides whether the answer counts, so it is sealed
//! (`request_state`): good once, for the same tool and arguments, for a few minutes, in this
//! process only; any other state is refused before the tool runs (`Rounds::of`).

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
use super::request_state::{Kind, Opened, Refused, States};
use crate::client::TopUpPage;

/// The first protocol version that forbids server-to-client requests (rmcp: "Errors on
/// protocol `2026-07-28` or later"); its clients are asked by a multi round-trip request.
const NO_SERVER_REQUESTS_FROM: &str = "2026-07-28";

/// The key of the consent form in an `input_required` result's `inputRequests` (and of its
/// answer in the retry's `inputResponses`).
pub const CONSENT_KEY: &str = "ebc_consent";

/// The key of the top-up page (URL mode) in `inputRequests` / `inputResponses`.
pub const TOP_UP_KEY: &str = "ebc_top_up";

/// A 2026-07-28 `tools/call`'s multi round-trip state, put in the request's extensions by
/// the server's `call_tool`: the answers the client brought back with the state they answer
/// (opened and spent: see `of`), and the slot where this call leaves the input it needs (then
/// the call answers `input_required`, not its result).
#[derive(Debug, Clone)]
pub struct Rounds {
    responses: BTreeMap<String, serde_json::Value>,
    opened: Option<Opened>,
    needed: Arc<Mutex<Option<InputRequiredResult>>>,
    states: Arc<States>,
    tool: String,
    args: Option<rmcp::model::JsonObject>,
}

impl Rounds {
    /// The rounds of `request` (its `inputResponses` and `requestState`, both untrusted). On
    /// 2026-07-28 or later (`modern`), a `requestState` that `states` does not accept (not
    /// sealed by this process for this tool and these arguments, expired, or already
    /// answered) is refused: the call must not run on it (`request_state::refusal_text` says
    /// what to do). Before 2026-07-28 this server never gives a state, so one sent anyway is
    /// ignored (and so are the answers: they answer nothing), as before states were sealed.
    pub fn of(
        request: &CallToolRequestParams,
        states: &Arc<States>,
        modern: bool,
    ) -> Result<Rounds, Refused> {
        let opened = match request.request_state.as_deref().filter(|_| modern) {
            Some(sealed) => Some(states.open(sealed, &request.name, request.arguments.as_ref())?),
            None => None,
        };
        Ok(Rounds {
            responses: request.input_responses.clone().unwrap_or_default(),
            opened,
            needed: Arc::default(),
            states: states.clone(),
            tool: request.name.to_string(),
            args: request.arguments.clone(),
        })
    }

    /// The call's answer kept when the top-up page was offered, when this is the retry that
    /// answers that offer: the call is answered with it again (the job is over), not run again.
    pub fn top_up_answer(&self) -> Option<CallToolResult> {
        self.opened
            .as_ref()
            .filter(|o| o.kind == Kind::TopUp)
            .and_then(|o| o.held.clone())
    }

    /// The input this call asked for, if it did: the call's answer is then this.
    pub fn needed(&self) -> Option<InputRequiredResult> {
        self.needed.lock().ok()?.take()
    }

    /// Ask for `request` under `key`; the state names the question (`kind`, `asked`) and keeps
    /// `held` for the retry.
    fn need(
        &self,
        key: &str,
        request: InputRequest,
        kind: Kind,
        asked: &str,
        held: Option<CallToolResult>,
    ) {
        let state = self
            .states
            .seal(kind, &self.tool, self.args.as_ref(), asked, held);
        let input = InputRequiredResult::new(
            Some(BTreeMap::from([(key.to_string(), request)])),
            Some(state),
        );
        if let Ok(mut slot) = self.needed.lock() {
            *slot = Some(input);
        }
    }

    /// The client's answer to `key`, when it came back with the state this server gave for
    /// the same question (`kind`, `asked`). An answer to another question is no answer.
    fn answer(&self, key: &str, kind: Kind, asked: &str) -> Option<Result<ElicitResult, String>> {
        let opened = self.opened.as_ref()?;
        if opened.kind != kind || opened.asked != asked {
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
    speaks_rounds(ctx.protocol_version().as_ref())
}

/// Whether `version` is 2026-07-28 or later: its clients are asked by multi round-trip
/// requests, and only they may bring back a `requestState` (`Rounds::of`).
pub fn speaks_rounds(version: Option<&rmcp::model::ProtocolVersion>) -> bool {
    version.is_some_and(|v| v.as_str() >= NO_SERVER_REQUESTS_FROM)
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

/// A digest of `ask`, sealed in the `requestState` of its form: an answer given to one
/// question (other files, another kind of spend) is not taken for another.
fn asked(ask: &Ask) -> String {
    let mut h = Sha256::new();
    h.update(format!("{:?}", ask.spends));
    for f in &ask.files {
        h.update([0u8]);
        h.update(f.as_bytes());
    }
    hex::encode(&h.finalize()[..12])
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
    let asked = asked(ask);
    // An answer brought back for this question counts whatever the retry declares (a decline
    // must never turn into "not asked, go ahead"); only with no answer does an undeclared
    // capability mean today's behaviour.
    if let Some(answer) = rounds.and_then(|r| r.answer(CONSENT_KEY, Kind::Consent, &asked)) {
        return verdict(answer);
    }
    if !modes(ctx).0 {
        return Verdict::Go;
    }
    if let Some(rounds) = rounds {
        let params = form(ask, conn).await;
        tracing::info!(files = ask.files.len(), spends = ?ask.spends, "asking the user before a cloud call (input_required)");
        let request = InputRequest::Elicitation(ElicitRequest::new(params));
        rounds.need(CONSENT_KEY, request, Kind::Consent, &asked, None);
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
/// top-up page by a URL-mode elicitation, where the client declared URL mode — once for the
/// call, whatever number of its jobs ran out (`export_video` with `each: true`). `page` is
/// the structured mark of that failure (`Failure::OutOfCredits`, from the client's
/// `ClientError::OutOfCredits`), `None` when no job of the call ran out; the URL is built
/// from it and `web` (`NEMO_WEB_URL`), never read from `result`, whose text may quote
/// anything (a title, the agent's reply). `result` is the call's answer (unchanged but for a
/// note when the user opened the page). On 2026-07-28 the offer is an `input_required` round
/// whose sealed state keeps `result` for the retry (`Rounds::top_up_answer`, answered by
/// `top_up_answered`).
pub async fn offer_top_up(
    result: CallToolResult,
    page: Option<&TopUpPage>,
    web: &str,
    ctx: &RequestContext<RoleServer>,
) -> CallToolResult {
    let Some(page) = page else {
        return result;
    };
    if !modes(ctx).1 {
        return result;
    }
    let message = match page {
        TopUpPage::Register { .. } => {
            "Your free NemoVideo credits have run out. Register (this keeps your project) to get more credits, then ask again."
        }
        TopUpPage::TopUp => {
            "Your NemoVideo credits have run out. Top up at nemovideo.com, then ask again."
        }
    };
    let params = ElicitRequestParams::UrlElicitationParams {
        meta: None,
        message: message.to_string(),
        url: page.url(web),
        elicitation_id: uuid::Uuid::new_v4().to_string(),
    };
    if let Some(rounds) = ctx.extensions.get::<Rounds>().filter(|_| modern(ctx)) {
        let request = InputRequest::Elicitation(ElicitRequest::new(params));
        rounds.need(TOP_UP_KEY, request, Kind::TopUp, "", Some(result.clone()));
        return result;
    }
    let answer = ctx
        .peer
        .create_elicitation(params)
        .await
        .map_err(|e| e.to_string());
    noted(result, answer)
}

/// The retry that brings back a top-up offer's state (`Rounds::top_up_answer` gave `kept`):
/// the kept answer, noted when the user opened the page. A retry without an answer to the
/// offer is taken as a cancel — the page is offered once, whatever the client does.
pub fn top_up_answered(kept: CallToolResult, rounds: &Rounds) -> CallToolResult {
    match rounds.answer(TOP_UP_KEY, Kind::TopUp, "") {
        Some(answer) => noted(kept, answer),
        None => {
            tracing::info!("the top-up offer came back unanswered: taken as a cancel");
            kept
        }
    }
}

/// `result` with a note when the user accepted the offer of the page.
fn noted(mut result: CallToolResult, answer: Result<ElicitResult, String>) -> CallToolResult {
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
        assert_eq!(asked(&replace), asked(&replace.clone()), "stable");
        assert_ne!(
            asked(&replace),
            asked(&with_file),
            "other files, other question"
        );
        let states = Arc::new(States::default());
        let args = serde_json::json!({"backdrop": "blur"}).as_object().cloned();
        let first =
            CallToolRequestParams::new("replace_background").with_arguments(args.clone().unwrap());
        let asking = Rounds::of(&first, &states, true).expect("no state: nothing to refuse");
        asking.need(
            CONSENT_KEY,
            InputRequest::Elicitation(ElicitRequest::new(
                ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: "Go ahead?".into(),
                    requested_schema: schema(),
                },
            )),
            Kind::Consent,
            &asked(&replace),
            None,
        );
        let state = asking
            .needed()
            .and_then(|n| n.request_state)
            .expect("a state");
        let retry = |state: &str, answer: serde_json::Value| {
            first
                .clone()
                .with_request_state(state.to_string())
                .with_input_responses(BTreeMap::from([(CONSENT_KEY.to_string(), answer)]))
        };
        let rounds = Rounds::of(
            &retry(
                &state,
                serde_json::json!({"action": "accept", "content": {"proceed": true}}),
            ),
            &states,
            true,
        )
        .expect("its own state");
        assert!(
            rounds
                .answer(CONSENT_KEY, Kind::Consent, &asked(&with_file))
                .is_none(),
            "an accept of one question is not an accept of another"
        );
        assert!(rounds.answer(TOP_UP_KEY, Kind::TopUp, "").is_none());
        assert!(rounds.top_up_answer().is_none());
        let answer = rounds
            .answer(CONSENT_KEY, Kind::Consent, &asked(&replace))
            .expect("answered");
        assert!(matches!(verdict(answer), Verdict::Go));
        assert!(
            Rounds::of(
                &retry(&state, serde_json::json!({"action": "accept"})),
                &states,
                true
            )
            .is_err(),
            "answered once: refused the second time"
        );
        assert!(
            Rounds::of(
                &retry(
                    "ebc-consent-v1:0123",
                    serde_json::json!({"action": "accept"})
                ),
                &states,
                true
            )
            .is_err()
        );
        let no_state = Rounds::of(
            &first.clone().with_input_responses(BTreeMap::from([(
                CONSENT_KEY.to_string(),
                serde_json::json!({"action": "accept"}),
            )])),
            &states,
            true,
        )
        .unwrap();
        assert!(
            no_state
                .answer(CONSENT_KEY, Kind::Consent, &asked(&replace))
                .is_none(),
            "an answer without a state is no answer"
        );
        // Before 2026-07-28 a state means nothing: a stray one is neither opened nor refused.
        let stray = Rounds::of(
            &retry("rs1.stray", serde_json::json!({"action": "accept"})),
            &states,
            false,
        )
        .expect("ignored, not refused");
        assert!(stray.opened.is_none() && stray.top_up_answer().is_none());
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
