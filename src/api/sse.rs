//! SSE events of `/run_sse`: the two shapes seen in the wild (typed and ADK), normalised into
//! `AgentEvent`; the ADK event the embedded backend emits; the `data:` encoder.
//! The incremental byte-level parser lives in `sse_parser` (chunk boundaries anywhere).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One event as the client acts on it.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// Assistant text. `partial` text is display-only (a later full text repeats it).
    Text {
        text: String,
        partial: bool,
    },
    ToolCall {
        name: String,
        args: Value,
    },
    ToolResult {
        name: String,
        result: Value,
    },
    Heartbeat,
    /// A mid-stream failure.
    Error {
        message: String,
    },
    /// The agent's turn is over (ADK `turnComplete`).
    TurnComplete,
}

/// Normalise one `data:` payload (already JSON-decoded) into events. Empty payloads and
/// unknown shapes give a heartbeat / nothing rather than an error: the stream goes on.
pub fn events_from_json(v: &Value) -> Vec<AgentEvent> {
    let mut out = Vec::new();
    if let Some(kind) = v.get("type").and_then(Value::as_str) {
        match kind {
            "text" => {
                let text = v
                    .get("content")
                    .or_else(|| v.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                out.push(AgentEvent::Text {
                    text: text.to_string(),
                    partial: v.get("partial").and_then(Value::as_bool).unwrap_or(false),
                });
            }
            "tool_call" => out.push(AgentEvent::ToolCall {
                name: str_field(v, "name"),
                args: v.get("args").cloned().unwrap_or(Value::Null),
            }),
            "tool_result" => out.push(AgentEvent::ToolResult {
                name: str_field(v, "name"),
                result: v.get("result").cloned().unwrap_or(Value::Null),
            }),
            "heartbeat" => out.push(AgentEvent::Heartbeat),
            "error" => out.push(AgentEvent::Error {
                message: error_text(v.get("error"))
                    .or_else(|| error_text(v.get("message")))
                    .or_else(|| error_text(v.get("content")))
                    .unwrap_or_else(|| "the agent failed".to_string()),
            }),
            _ => {}
        }
        return out;
    }
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        let message = error_text(Some(err)).unwrap_or_else(|| "the agent failed".to_string());
        out.push(AgentEvent::Error { message });
        return out;
    }
    if let Some(msg) = v.get("errorMessage").and_then(Value::as_str) {
        out.push(AgentEvent::Error {
            message: msg.to_string(),
        });
        return out;
    }
    let partial = v.get("partial").and_then(Value::as_bool).unwrap_or(false);
    if let Some(parts) = v.pointer("/content/parts").and_then(Value::as_array) {
        for part in parts {
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                out.push(AgentEvent::Text {
                    text: text.to_string(),
                    partial,
                });
            } else if let Some(fc) = part.get("functionCall") {
                out.push(AgentEvent::ToolCall {
                    name: str_field(fc, "name"),
                    args: fc.get("args").cloned().unwrap_or(Value::Null),
                });
            } else if let Some(fr) = part.get("functionResponse") {
                out.push(AgentEvent::ToolResult {
                    name: str_field(fr, "name"),
                    result: fr.get("response").cloned().unwrap_or(Value::Null),
                });
            }
        }
    }
    if v.get("turnComplete").and_then(Value::as_bool) == Some(true) {
        out.push(AgentEvent::TurnComplete);
    }
    out
}

/// An error's detail: a string, or an object's `message` / `detail` (with its `code` when
/// there is one); `None` when there is no text.
fn error_text(v: Option<&Value>) -> Option<String> {
    let v = v?;
    if let Some(s) = v.as_str() {
        return Some(s.to_string()).filter(|s| !s.trim().is_empty());
    }
    let text = v
        .get("message")
        .or_else(|| v.get("detail"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())?;
    Some(
        match v.get("code").filter(|c| c.is_number() || c.is_string()) {
            Some(code) => format!(
                "{text} (code {})",
                code.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| code.to_string())
            ),
            None => text.to_string(),
        },
    )
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// An ADK-shaped event, as the embedded backend emits them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdkEvent {
    pub id: String,
    pub invocation_id: String,
    pub author: String,
    pub timestamp: f64,
    pub content: Value,
    #[serde(default)]
    pub partial: bool,
    #[serde(default)]
    pub turn_complete: bool,
    #[serde(default)]
    pub actions: Value,
}

impl AdkEvent {
    fn new(invocation_id: &str, timestamp: f64, parts: Value) -> Self {
        AdkEvent {
            id: uuid::Uuid::new_v4().to_string(),
            invocation_id: invocation_id.to_string(),
            author: super::APP_NAME.to_string(),
            timestamp,
            content: json!({"role": "model", "parts": parts}),
            partial: false,
            turn_complete: false,
            actions: json!({}),
        }
    }

    pub fn function_call(invocation_id: &str, timestamp: f64, name: &str, args: Value) -> Self {
        let call_id = uuid::Uuid::new_v4().to_string();
        Self::new(
            invocation_id,
            timestamp,
            json!([{"functionCall": {"id": call_id, "name": name, "args": args}}]),
        )
    }

    pub fn function_response(
        invocation_id: &str,
        timestamp: f64,
        name: &str,
        response: Value,
        state_delta: Value,
    ) -> Self {
        let call_id = uuid::Uuid::new_v4().to_string();
        let mut e = Self::new(
            invocation_id,
            timestamp,
            json!([{"functionResponse": {"id": call_id, "name": name, "response": response}}]),
        );
        e.actions = json!({ "stateDelta": state_delta });
        e
    }

    /// The final text; an empty `text` gives a turn-complete event with no parts (a "silent"
    /// completion, as the cloud sometimes sends).
    pub fn final_text(invocation_id: &str, timestamp: f64, text: &str) -> Self {
        let parts = if text.is_empty() {
            json!([])
        } else {
            json!([{ "text": text }])
        };
        let mut e = Self::new(invocation_id, timestamp, parts);
        e.turn_complete = true;
        e
    }
}

/// `data: <json>\n\n`.
pub fn encode_data(payload: &impl Serialize) -> String {
    let json = serde_json::to_string(payload).unwrap_or_else(|_| "{}".to_string());
    format!("data: {json}\n\n")
}

/// An SSE comment line, used as a heartbeat.
pub fn encode_comment(text: &str) -> String {
    format!(": {}\n\n", text.replace('\n', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_and_adk_shapes_normalise_alike() {
        let typed = json!({"type":"tool_call","name":"set_background","args":{"bg":"studio"}});
        let adk = serde_json::to_value(AdkEvent::function_call(
            "inv",
            1.0,
            "set_background",
            json!({"bg":"studio"}),
        ))
        .unwrap();
        assert_eq!(events_from_json(&typed), events_from_json(&adk));
    }

    #[test]
    fn silent_final_has_no_text() {
        let v = serde_json::to_value(AdkEvent::final_text("inv", 1.0, "")).unwrap();
        assert_eq!(events_from_json(&v), vec![AgentEvent::TurnComplete]);
    }

    /// The typed shape's error keeps its detail (`{"type":"error","error":…}`).
    #[test]
    fn typed_error_keeps_its_detail() {
        for (v, want) in [
            (
                json!({"type":"error","error":"render quota exceeded"}),
                "render quota exceeded",
            ),
            (
                json!({"type":"error","error":{"message":"model overloaded","code":503}}),
                "model overloaded (code 503)",
            ),
            (json!({"type":"error","message":"bad draft"}), "bad draft"),
        ] {
            assert_eq!(
                events_from_json(&v),
                vec![AgentEvent::Error {
                    message: want.into()
                }],
                "{v}"
            );
        }
    }

    #[test]
    fn error_event() {
        let v = json!({"error": {"message": "boom"}});
        assert_eq!(
            events_from_json(&v),
            vec![AgentEvent::Error {
                message: "boom".into()
            }]
        );
    }
}
