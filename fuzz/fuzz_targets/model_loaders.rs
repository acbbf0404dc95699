//! The model loaders (`.tflite` flatbuffer and ONNX protobuf readers and planners). The first
//! byte picks: raw bytes as a tflite file, the embedded selfie model with the input applied as
//! byte patches (`offset_le32, byte` triples, so mutations reach deep into a valid graph), or
//! raw bytes as an ONNX file. Damaged bytes give `Err`, never a panic or a runaway allocation.
#![no_main]

use ebc::engine::segment::{GENERAL_MODEL, load_model, load_onnx};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let _ = load_model(rest);
        }
        1 => {
            let mut model = GENERAL_MODEL.to_vec();
            for patch in rest.chunks_exact(5) {
                let off = u32::from_le_bytes([patch[0], patch[1], patch[2], patch[3]]) as usize;
                let len = model.len();
                model[off % len] = patch[4];
            }
            let _ = load_model(&model);
        }
        _ => {
            let _ = load_onnx(rest, 32, 32);
        }
    }
});
