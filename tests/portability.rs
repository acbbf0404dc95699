//! The tree builds for every target the product ships to: CPU-specific code only where
//! DESIGN.md puts it ("CPU paths in one place"), OS-specific APIs only under a `cfg`.
//! Nothing here can compile for macOS, Windows or ARM, so these checks read the sources:
//! one ungated import broke every ARM build once (issue 19) and nobody saw.

use std::path::{Path, PathBuf};

/// The one file that decides the kernel family (every `cfg(target_arch)` and run-time CPU
/// check), and the directory of the x86 kernels it alone compiles.
const KERNEL_FAMILY_MODULE: &str = "src/engine/segment/ops/cpu.rs";
const X86_KERNELS: &str = "src/engine/segment/ops/x86/";

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `(path relative to the crate, its lines)` of every `.rs` file in src, benches, tests
/// and examples.
fn source_lines() -> Vec<(String, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "benches", "tests", "examples"] {
        rust_files(&root.join(dir), &mut files);
    }
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap();
            (rel, text.lines().map(str::to_owned).collect())
        })
        .collect()
}

/// Needles built at run time, so this file does not match itself.
fn needle(parts: &[&str]) -> String {
    parts.concat()
}

#[test]
fn cpu_specific_code_lives_in_the_kernel_family_module() {
    let decisions = [
        needle(&["target", "_arch"]),
        needle(&["is_x86", "_feature_detected"]),
        needle(&["target", "_feature ="]),
    ];
    let kernels = [
        needle(&["std::", "arch::"]),
        needle(&["core::", "arch::"]),
        needle(&["target", "_feature(enable"]),
    ];
    let mut bad = Vec::new();
    for (file, lines) in source_lines() {
        for (i, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("//") {
                continue; // prose may name them
            }
            let decision = decisions.iter().any(|n| line.contains(n.as_str()));
            let kernel = kernels.iter().any(|n| line.contains(n.as_str()));
            let allowed = if decision {
                file == KERNEL_FAMILY_MODULE
            } else if kernel {
                file == KERNEL_FAMILY_MODULE || file.starts_with(X86_KERNELS)
            } else {
                true
            };
            if !allowed {
                bad.push(format!("{file}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "CPU-specific code outside {KERNEL_FAMILY_MODULE} (decisions) and {X86_KERNELS} \
         (kernels); move it behind the kernel-family module:\n{}",
        bad.join("\n")
    );
}

#[test]
fn os_specific_apis_are_behind_a_cfg() {
    // An OS-only API is accepted when a `cfg` naming an OS precedes it within this many
    // lines (the gate of its statement, block or function).
    const WINDOW: usize = 15;
    let apis = [
        needle(&["std::os::", "unix"]),
        needle(&["std::os::", "windows"]),
        needle(&["std::os::", "linux"]),
        needle(&["std::os::", "macos"]),
        needle(&["libc", "::"]),
    ];
    let gates = ["unix", "windows", "target_os", "target_family"];
    let mut bad = Vec::new();
    for (file, lines) in source_lines() {
        // A whole file gated by an inner `#![cfg(…)]` naming an OS.
        let file_gated = lines
            .iter()
            .any(|l| l.trim_start().starts_with("#![cfg(") && gates.iter().any(|g| l.contains(g)));
        for (i, line) in lines.iter().enumerate() {
            if file_gated
                || line.trim_start().starts_with("//")
                || !apis.iter().any(|a| line.contains(a.as_str()))
            {
                continue;
            }
            let gated = lines[i.saturating_sub(WINDOW)..=i]
                .iter()
                .any(|l| l.contains("cfg") && gates.iter().any(|g| l.contains(g)));
            if !gated {
                bad.push(format!("{file}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "OS-specific APIs without a cfg gate (they break the Windows or macOS build):\n{}",
        bad.join("\n")
    );
}

/// The one module that decides what differs per operating system (DESIGN.md, issue 19).
const OS_MODULE: &str = "src/host_os/";

#[test]
fn os_decisions_live_in_the_host_os_module() {
    // Unit tests may run only where they can (a Unix file mode, a symlink): a file's lines
    // from its first test-only `cfg` on are not product code.
    let gates = [
        "windows",
        "unix",
        "target_os",
        "target_family",
        "target_env",
    ];
    let mut bad = Vec::new();
    for (file, lines) in source_lines() {
        if !file.starts_with("src/") || file.starts_with(OS_MODULE) {
            continue;
        }
        for (i, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let is_cfg = code.contains("cfg(") || code.contains("cfg!(");
            if is_cfg && code.contains("test") {
                break; // the test module starts here
            }
            if is_cfg && gates.iter().any(|g| code.contains(g)) {
                bad.push(format!("{file}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "OS decisions outside {OS_MODULE}: make them a function there, or take \
         `host_os::Os::HOST` as a value so the other OSes' branches can be tested:\n{}",
        bad.join("\n")
    );
}
