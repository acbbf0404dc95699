//! Consent where the user pays or their files leave the machine (issue 22 item 5, issue 20
//! "no unseen uploads"): before a call to the cloud backend that spends credits or uploads a
//! file named only in the user's words, one form elicitation (`elicitation/create`, form
//! mode) says what will happen and what it costs; on NemoVideo's code 2001 a URL-mode
//! elicitation offers the registration / top-up page. Only clients that declared the
//! elicitation capability are asked; everyone else gets today's behaviour (the result
//! discloses every file that left the machine, and the 2001 text carries the link). The
//! local backend spends nothing and sends nothing away, so it never asks.

use rmcp::{
    RoleServer,
    model::{
        BooleanSchema, CallToolResult, ContentBlock, ElicitRequestParams, ElicitationAction,
        ElicitationSchema, PrimitiveSchemaDefinition,
    },
    service::{ElicitationMode, RequestContext},
};

use super::attach::Attachment;
use super::connect::Connection;
use super::paths::MediaRef;

/// The first protocol version that forbids server-to-client requests (rmcp: "Errors on
/// protocol `2026-07-28` or later"); such clients are not asked (see the note on MRTR below).
const NO_SERVER_REQUESTS_FROM: &str = "2026-07-28";

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

/// Which elicitation modes this request's client declared: from the handshake, or from the
/// request's `_meta` on 2026-07-28 (no handshake there).
fn modes(ctx: &RequestContext<RoleServer>) -> (bool, bool) {
    if ctx
        .protocol_version()
        .is_some_and(|v| v.as_str() >= NO_SERVER_REQUESTS_FROM)
    {
        // 2026-07-28 forbids `elicitation/create` from the server; it needs the multi
        // round-trip form (an `InputRequiredResult`), which this server does not send yet.
        return (false, false);
    }
    let m = ctx.peer.supported_elicitation_modes();
    (
        m.contains(&ElicitationMode::Form),
        m.contains(&ElicitationMode::Url),
    )
}

/// Ask the user before `ask` happens on `conn`, when it is the cloud and the client can be
/// asked. Declined, cancelled, answered "no" or failed: refused, and nothing was done.
pub async fn ask(ask: &Ask, conn: &Connection, ctx: &RequestContext<RoleServer>) -> Verdict {
    if conn.label != "cloud" || ask.is_empty() || !modes(ctx).0 {
        return Verdict::Go;
    }
    let balance = conn.client.credits().await.ok().map(|c| c.available);
    let message = form_message(ask, balance);
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.clone(),
        requested_schema: schema(),
    };
    tracing::info!(files = ask.files.len(), spends = ?ask.spends, "asking the user before a cloud call");
    let answer = ctx.peer.create_elicitation(params).await;
    let agreed = match &answer {
        Ok(r) => {
            r.action == ElicitationAction::Accept
                && r.content
                    .as_ref()
                    .and_then(|c| c.get("proceed"))
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true)
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
/// call's answer (unchanged but for a note when the user opened the page); `web` is the
/// website (`NEMO_WEB_URL`), the top-up page of registered users.
pub async fn offer_top_up(
    mut result: CallToolResult,
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
    match ctx.peer.create_elicitation(params).await {
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
}
