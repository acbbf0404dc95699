//! One-click install (issue 12): `scripts/build-mcpb.sh` builds the MCP Bundle from the built
//! binary, the official `@anthropic-ai/mcpb` CLI validates and packs it, and the registry's
//! `server.json` names the bundle's SHA-256. Needs node and `npm ci --prefix
//! tests/support/node`: fails without them when `CI=true`, says it did not run elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

const EXE: &str = env!("CARGO_BIN_EXE_editor-background-changer");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn mcpb_cli() -> PathBuf {
    root().join("tests/support/node/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js")
}

fn ready() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if node && mcpb_cli().is_file() {
        return true;
    }
    let why = format!(
        "the MCP Bundle test needs node (18+) and `npm ci --prefix tests/support/node` (node found: {node}, mcpb installed: {})",
        mcpb_cli().is_file()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("NOT RUN: {why}");
    false
}

#[test]
fn mcp_bundle_is_validated_and_packed_by_the_official_cli() {
    if !ready() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let build = Command::new(root().join("scripts/build-mcpb.sh"))
        .args(["--binary", EXE, "--out"])
        .arg(out.path())
        .output()
        .expect("run build-mcpb.sh");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
    assert!(build.status.success(), "{log}");
    assert!(log.contains("Manifest schema validation passes"), "{log}");

    let bundle = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "mcpb"))
        .unwrap_or_else(|| panic!("no .mcpb written:\n{log}"));

    // Unpacked by the same CLI: the manifest and an executable server.
    let unpacked = out.path().join("unpacked");
    let unpack = Command::new("node")
        .arg(mcpb_cli())
        .arg("unpack")
        .arg(&bundle)
        .arg(&unpacked)
        .output()
        .expect("mcpb unpack");
    assert!(unpack.status.success(), "{unpack:?}");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(unpacked.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["server"]["type"], "binary");
    assert_eq!(manifest["version"], ebc::VERSION);
    let env = &manifest["server"]["mcp_config"]["env"];
    assert_eq!(env["NEMO_TOKEN"], "${user_config.nemo_token}");
    assert_eq!(env["EBC_BACKEND"], "${user_config.backend}");
    assert_eq!(manifest["user_config"]["nemo_token"]["sensitive"], true);
    assert_eq!(manifest["user_config"]["backend"]["default"], "auto");
    let entry = unpacked.join(manifest["server"]["entry_point"].as_str().unwrap());
    let version = Command::new(&entry)
        .arg("--version")
        .output()
        .expect("the bundled server runs");
    assert!(
        String::from_utf8_lossy(&version.stdout).contains(ebc::VERSION),
        "{version:?}"
    );

    // server.json for the registry points at this bundle by its hash.
    let server: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("server.json")).unwrap())
            .unwrap();
    assert_eq!(server["version"], ebc::VERSION);
    assert!(
        server["name"].as_str().is_some_and(
            |n| n.starts_with("io.github.") && n.ends_with("/editor-background-changer")
        )
    );
    let package = &server["packages"][0];
    assert_eq!(package["registryType"], "mcpb");
    assert_eq!(package["transport"]["type"], "stdio");
    let sha = hex::encode(Sha256::digest(std::fs::read(&bundle).unwrap()));
    assert_eq!(package["fileSha256"], sha);
    assert!(
        package["identifier"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://github.com/")
                && u.ends_with(bundle.file_name().unwrap().to_str().unwrap()))
    );
}
