//! The readers of what a backend sends: the envelope, the draft (short keys, unknown fields
//! kept), state, uploads, credits, render status in its three documented shapes, the edit
//! tool result. Any bytes: `Err`, never a panic; a draft that reads writes back to JSON that
//! reads as the same draft.
#![no_main]

use ebc::api::{
    CreditsData, Draft, EditToolResult, RenderStatus, StateData, UploadResult, decode_envelope,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&status_byte, body)) = data.split_first() else {
        return;
    };
    let status = [200u16, 400, 402, 404, 429, 500][usize::from(status_byte) % 6];
    let _ = decode_envelope::<serde_json::Value>(status, body);
    let _ = decode_envelope::<StateData>(status, body);
    let _ = decode_envelope::<UploadResult>(status, body);
    let _ = decode_envelope::<CreditsData>(status, body);

    if let Ok(draft) = serde_json::from_slice::<Draft>(body) {
        let _ = draft.is_exportable();
        let _ = draft.video_segments().count();
        let text = serde_json::to_string(&draft).expect("a draft that was read can be written");
        let again: Draft = serde_json::from_str(&text).expect("a written draft reads back");
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            serde_json::to_value(&draft).unwrap(),
            "a draft changed on a round trip"
        );
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Ok(r) = RenderStatus::from_value(&v) {
            let _ = r.url();
        }
        let _ = EditToolResult::from_value(&v);
    }
});
