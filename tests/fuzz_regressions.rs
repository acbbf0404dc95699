//! Inputs the fuzz targets (`fuzz/fuzz_targets/`) found, replayed against the library with the
//! property the target checks, plus other values of the same kind.

use ebc::api::Draft;
use serde_json::Value;

/// Reads a draft, writes it, reads that again: the JSON must be the same.
fn round_trip(src: &str) -> (Value, Value) {
    let draft: Draft = serde_json::from_str(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let text = serde_json::to_string(&draft).expect("a draft that was read can be written");
    let again: Draft = serde_json::from_str(&text).expect("a written draft reads back");
    (
        serde_json::to_value(&draft).unwrap(),
        serde_json::to_value(&again).unwrap(),
    )
}

/// `json_readers` (round 8): the body `4444…4` (57 digits) read as a draft and written back
/// read as another number (4.444444444444444e55, then 4.4444444444444443e55): serde_json's
/// default float parser is not correctly rounded for long mantissas, so a number with more
/// digits than an f64 holds changed on every save. A draft is written back as it came
/// (`api::draft`), so each number must read as the nearest f64 (what `str::parse` gives) and
/// survive the round trip — wherever it sits in the draft.
#[test]
fn draft_numbers_survive_a_round_trip() {
    let crash = "4".repeat(57);
    let numbers = [
        crash.as_str(),
        "44444444444444444444444444444444444444444444444444444444444444444444444444",
        "0.30000000000000000000000000000000000000000000000000000000000000000000001",
        "1.7976931348623157e308",
        "2.2250738585072011e-308",
        "4.9406564584124654e-324",
        "123456789012345678901234567890.123456789e-5",
        "-9007199254740993.000000000000001",
        "3.14159265358979323846264338327950288419716939937510",
        "1e22",
        "8.589973e9",
    ];
    for n in numbers {
        let want: f64 = n.parse().unwrap();
        for src in [
            n.to_string(),
            format!(r#"{{"t":[],"zoom":{n}}}"#),
            format!(r#"{{"t":[{{"sg":[{{"m":{{"vol":{n}}}}}]}}],"v":[{n}]}}"#),
            format!(r#"{{"t":[{{"sg":[{{"st":{n},"d":{n}}}]}}]}}"#),
        ] {
            let (first, second) = round_trip(&src);
            assert_eq!(first, second, "a draft changed on a round trip: {src}");
            let mut found = Vec::new();
            numbers_in(&first, &mut found);
            assert!(!found.is_empty(), "{src}");
            for x in found {
                assert_eq!(
                    x.to_bits(),
                    want.to_bits(),
                    "{n} was kept as {x:e}, the nearest f64 is {want:e} ({src})"
                );
            }
        }
    }
}

/// Every number in `v` (each template holds only the number under test).
fn numbers_in(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::Array(a) => a.iter().for_each(|v| numbers_in(v, out)),
        Value::Object(o) => o.values().for_each(|v| numbers_in(v, out)),
        _ => {}
    }
}
