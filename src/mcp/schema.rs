//! Tool schemas every host accepts. schemars writes Rust's number types as `format` values
//! (`uint64`, `double`, `uint32`…) that JSON Schema does not define, which the TypeScript SDK
//! warns about and older validators refuse, and it puts enums in `$defs` behind `$ref`, which
//! Zed rejects. Every input and output schema goes through [`host_safe`] before it is listed.
//!
//! Source of the standard formats: JSON Schema 2020-12 Validation, §7.3
//! <https://json-schema.org/draft/2020-12/json-schema-validation#section-7.3>.

use serde_json::{Map, Value};

/// The `format` values JSON Schema 2020-12 defines (§7.3); any other is dropped.
pub const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Deepest `$ref` chain inlined; deeper (a recursive type) becomes an unconstrained `{}`.
const MAX_INLINE_DEPTH: usize = 16;

/// `schema` with every `$ref` into its own `$defs`/`definitions` replaced by the definition
/// (sibling keywords such as `description` kept), the definitions removed, and non-standard
/// `format` keywords dropped.
pub fn host_safe(schema: &Map<String, Value>) -> Map<String, Value> {
    let mut defs = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(d)) = schema.get(key) {
            defs.extend(d.clone());
        }
    }
    let mut root = schema.clone();
    root.remove("$defs");
    root.remove("definitions");
    match clean(Value::Object(root), &defs, 0) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn clean(value: Value, defs: &Map<String, Value>, depth: usize) -> Value {
    match value {
        Value::Object(mut map) => {
            if let Some(Value::String(reference)) = map.get("$ref").cloned() {
                map.remove("$ref");
                let name = reference
                    .strip_prefix("#/$defs/")
                    .or_else(|| reference.strip_prefix("#/definitions/"));
                let target = name.and_then(|n| defs.get(n)).cloned();
                if let (Some(Value::Object(def)), true) = (target, depth < MAX_INLINE_DEPTH) {
                    // Siblings of `$ref` (description, default) win over the definition's.
                    let mut merged = def;
                    merged.extend(map);
                    return clean(Value::Object(merged), defs, depth + 1);
                }
            }
            if let Some(Value::String(format)) = map.get("format")
                && !STANDARD_FORMATS.contains(&format.as_str())
            {
                map.remove("format");
            }
            // Only schema positions are walked: `properties`' keys are names, not schemas,
            // but their values are, so walking every value reaches all subschemas; plain
            // data (`enum`, `const`, `default`, `examples`) has no `$ref`/`format` objects
            // that a schema would need changed, except by accident, so it is left alone.
            let mut out = Map::new();
            for (key, v) in map {
                let v = match key.as_str() {
                    "enum" | "const" | "default" | "examples" => v,
                    _ => clean(v, defs, depth),
                };
                out.insert(key, v);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| clean(v, defs, depth)).collect())
        }
        other => other,
    }
}

/// Constructs some host refuses, as `(JSON pointer, what)`: `$ref`, `$defs`/`definitions`,
/// and `format` values outside [`STANDARD_FORMATS`]. Empty for a host-safe schema.
pub fn host_problems(schema: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    walk(schema, String::new(), &mut found);
    found
}

fn walk(value: &Value, at: String, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{at}/{key}");
                match key.as_str() {
                    "$ref" => found.push((here.clone(), format!("$ref {v}"))),
                    "$defs" | "definitions" => found.push((here.clone(), key.clone())),
                    "format" => {
                        if let Value::String(f) = v
                            && !STANDARD_FORMATS.contains(&f.as_str())
                        {
                            found.push((here.clone(), format!("format {f:?}")));
                        }
                    }
                    "enum" | "const" | "default" | "examples" => continue,
                    _ => {}
                }
                walk(v, here, found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refs_are_inlined_and_formats_dropped() {
        let schema = json!({
            "type": "object",
            "properties": {
                "bytes": {"type": ["integer", "null"], "format": "uint64", "minimum": 0},
                "when": {"type": "string", "format": "date-time"},
                "quality": {"anyOf": [{"$ref": "#/$defs/Q"}, {"type": "null"}], "description": "q"},
                "res": {"$ref": "#/$defs/R", "description": "mine"}
            },
            "$defs": {
                "Q": {"type": "string", "enum": ["high", "low"]},
                "R": {"type": "string", "enum": ["1080p"], "description": "theirs"}
            }
        });
        let out = Value::Object(host_safe(schema.as_object().unwrap()));
        assert!(host_problems(&out).is_empty(), "{out:#}");
        assert!(!host_problems(&schema).is_empty());
        assert_eq!(out["properties"]["bytes"].get("format"), None);
        assert_eq!(out["properties"]["bytes"]["minimum"], 0);
        assert_eq!(out["properties"]["when"]["format"], "date-time");
        assert_eq!(
            out["properties"]["quality"]["anyOf"][0]["enum"],
            json!(["high", "low"])
        );
        assert_eq!(out["properties"]["res"]["description"], "mine");
        assert_eq!(out["properties"]["res"]["enum"], json!(["1080p"]));
    }

    #[test]
    fn recursive_refs_stop() {
        let schema = json!({
            "$ref": "#/$defs/Node",
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}
        });
        let out = Value::Object(host_safe(schema.as_object().unwrap()));
        assert!(host_problems(&out).is_empty(), "{out:#}");
    }
}
