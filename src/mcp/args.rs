//! Arguments a tool does not know. Every tool's input schema lists its arguments; a call
//! that passes another one is refused as a tool error (`isError: true`, which the model
//! reads and can correct) naming the argument and listing the known ones — never silently
//! ignored, and never a protocol error the host shows as a crash.

use rmcp::model::JsonObject;

/// The message refusing the first argument of `args` that `tool`'s `input_schema` does not
/// list under `properties`; `None` when every argument is known.
pub fn unknown_argument(
    tool: &str,
    input_schema: &JsonObject,
    args: &JsonObject,
) -> Option<String> {
    let known: Vec<&str> = input_schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut unknown: Vec<&str> = args
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    unknown.sort_unstable();
    let named = unknown
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let what = if unknown.len() == 1 {
        "argument"
    } else {
        "arguments"
    };
    Some(if known.is_empty() {
        format!("{tool} takes no arguments, but was given the {what} {named}: call it with {{}}.")
    } else {
        format!(
            "{tool} has no {what} {named}. Its arguments are: {}. Call it again with those names.",
            known.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: serde_json::Value) -> JsonObject {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn unknown_arguments_are_named_with_the_known_ones() {
        let schema = obj(json!({"type": "object", "properties": {
            "output_path": {"type": "string"}, "each": {"type": "boolean"}}}));
        assert_eq!(
            unknown_argument("export_video", &schema, &obj(json!({"each": true}))),
            None
        );
        let m = unknown_argument("export_video", &schema, &obj(json!({"eech": true}))).unwrap();
        assert!(
            m.contains("`eech`") && m.contains("output_path") && m.contains("each"),
            "{m}"
        );
        let none = obj(json!({"type": "object", "properties": {}}));
        let m = unknown_argument("get_credits", &none, &obj(json!({"verbose": 1}))).unwrap();
        assert!(m.contains("`verbose`") && m.contains("no arguments"), "{m}");
        assert_eq!(
            unknown_argument("get_credits", &obj(json!({})), &obj(json!({}))),
            None
        );
    }
}
