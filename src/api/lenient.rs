//! Liberal reading of the service's answers: numbers as integers, floats or numeric strings,
//! ids as strings or numbers, `null` where a value or object was expected. The docs of the
//! NemoVideo API disagree on types (DESIGN.md "The NemoVideo contract": "Types: be
//! liberal"), and nobody here can see which one the live service sends, so every reader
//! accepts all of them; what we write stays exact.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A number as `f64`: an integer, a float or a numeric string (`"5000"`, `" 2.5 "`);
/// `None` for `null`, other types and non-numeric strings.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A non-negative whole number: integers as they are, floats and numeric strings rounded
/// (`5000.0` → 5000); `None` for `null`, negatives and anything not a number.
pub fn whole(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    number(v)
        .filter(|f| *f >= 0.0 && *f <= u64::MAX as f64)
        .map(|f| f.round() as u64)
}

/// An id or name as text: strings as they are, numbers in their JSON spelling
/// (`5529798706024415232` → `"5529798706024415232"`); `None` for `null` and other types.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn type_error<E: serde::de::Error>(v: &Value, expected: &str) -> E {
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    E::custom(format!("expected {expected}, found {kind}"))
}

/// `deserialize_with` helpers: missing (with `#[serde(default)]`) and `null` give the
/// type's zero; integers, floats and numeric strings are all read; other types are an error
/// that names what was expected.
pub mod de {
    use super::*;

    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(0.0);
        }
        number(&v).ok_or_else(|| type_error(&v, "a number"))
    }

    pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(0);
        }
        whole(&v)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| type_error(&v, "a whole number"))
    }

    /// Text, or a number written as text; `null` → "".
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(String::new());
        }
        text(&v).ok_or_else(|| type_error(&v, "text or a number"))
    }

    /// Optional text that is never an error: a non-blank string (trimmed) → `Some`; absent
    /// (with `#[serde(default)]`), `null`, blank strings and values of any other kind → `None`.
    /// For extensions a server may or may not send, where a stranger value must not fail the
    /// whole answer.
    pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(v.as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string))
    }

    /// `true`/`false`, also as 0/1 or "true"/"false"; `null` → false.
    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        let v = Value::deserialize(d)?;
        match &v {
            Value::Null => Ok(false),
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(D::Error::custom(format!(
                "expected true or false, found {v}"
            ))),
        }
    }

    /// Any value, `null` read as the type's default (a `null` object → an empty one).
    pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Default + serde::de::DeserializeOwned,
    {
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(T::default());
        }
        serde_json::from_value(v).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_in_every_spelling() {
        assert_eq!(whole(&json!(5000)), Some(5000));
        assert_eq!(whole(&json!(5000.0)), Some(5000));
        assert_eq!(whole(&json!(4999.6)), Some(5000));
        assert_eq!(whole(&json!("2500")), Some(2500));
        assert_eq!(whole(&json!(-1)), None);
        assert_eq!(whole(&json!(null)), None);
        assert_eq!(whole(&json!("soon")), None);
        assert_eq!(number(&json!(" 2.5 ")), Some(2.5));
        assert_eq!(
            text(&json!(5529798706024415232u64)).unwrap(),
            "5529798706024415232"
        );
        assert_eq!(text(&json!("seg_1")).unwrap(), "seg_1");
        assert_eq!(text(&json!({"a":1})), None);
    }
}
