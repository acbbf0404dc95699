//! The backend agent's free-text readers: the background-instruction parser and the backdrop
//! words resolver (which must never touch the file system). Any text: a result or an error,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let media = ["upl_1.mp4".to_string(), "beach.png".to_string()];
    let clips = ["clip one".to_string()];
    let _ = ebc::backend::parse_instruction(&text, &media, &clips);
    let _ = ebc::engine::backdrop::resolve_words(&text);
    let _ = ebc::backend::is_path_like(&text);
});
