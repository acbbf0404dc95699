//! One-click install (issue 12): `scripts/build-mcpb.sh` builds the MCP Bundle from the built
//! binary, the official `@anthropic-ai/mcpb` CLI validates and packs it, and the registry's
//! `server.json` names the bundle's SHA-256. Needs node; installs the pinned packages itself
//! (`support::node_packages`) and fails when it cannot.

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

/// Node and the pinned mcpb CLI, installed on first use; the test fails without them.
fn ready() {
    crate::support::node_packages::require();
    assert!(
        mcpb_cli().is_file(),
        "{} missing after npm ci",
        mcpb_cli().display()
    );
}

#[test]
fn mcp_bundle_is_validated_and_packed_by_the_official_cli() {
    ready();
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
    // The MCP App (issue 22): manifest 0.3 has no field for it, so its words say it.
    let long = manifest["long_description"].as_str().unwrap_or_default();
    assert!(
        long.contains("ui://editor-background-changer/editor.html") && long.contains("MCP App"),
        "{long}"
    );
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
    let app = &server["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["mcpApp"];
    assert_eq!(
        app["resourceUri"],
        "ui://editor-background-changer/editor.html"
    );
    assert_eq!(app["extension"], "io.modelcontextprotocol/ui");
    assert!(
        server["description"]
            .as_str()
            .is_some_and(|d| d.len() <= 100)
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

/// Runs `scripts/build-mcpb.sh` with `args`; its log, after checking it succeeded.
fn build_mcpb(args: &[&str], out: &Path) -> String {
    let build = Command::new(root().join("scripts/build-mcpb.sh"))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run build-mcpb.sh");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
    assert!(build.status.success(), "{log}");
    log
}

/// The manifest inside a bundle, as the official CLI unpacks it.
fn bundled_manifest(bundle: &Path, into: &Path) -> Value {
    let unpack = Command::new("node")
        .arg(mcpb_cli())
        .arg("unpack")
        .arg(bundle)
        .arg(into)
        .output()
        .expect("mcpb unpack");
    assert!(unpack.status.success(), "{unpack:?}");
    serde_json::from_str(&std::fs::read_to_string(into.join("manifest.json")).unwrap()).unwrap()
}

/// One bundle per release target (issue 19): the target triple decides the platform the
/// manifest declares, the arch in the file name and the `.exe` name on Windows; every run
/// rewrites one server.json that lists every bundle in the folder by its SHA-256, and the
/// crate. (The Windows and macOS bundles here hold this machine's binary: what is checked is
/// the packaging, not the binary; the release workflow packs each target's own build.)
#[test]
fn one_bundle_per_platform_and_one_server_json_listing_them() {
    ready();
    let out = tempfile::tempdir().unwrap();
    let dist = out.path().join("dist");
    let targets = [
        (
            "x86_64-pc-windows-msvc",
            "win32",
            "editor-background-changer.exe",
        ),
        (
            "aarch64-apple-darwin",
            "darwin",
            "editor-background-changer",
        ),
        (
            "aarch64-unknown-linux-gnu",
            "linux",
            "editor-background-changer",
        ),
    ];
    for (target, _, _) in targets {
        let log = build_mcpb(&["--binary", EXE, "--target", target], &dist);
        assert!(log.contains("Manifest schema validation passes"), "{log}");
    }
    let server: Value =
        serde_json::from_str(&std::fs::read_to_string(dist.join("server.json")).unwrap()).unwrap();
    let packages = server["packages"].as_array().unwrap();
    assert_eq!(packages.len(), targets.len() + 1, "{server:#}");
    for (target, platform, exe) in targets {
        let arch = target.split('-').next().unwrap();
        let name = format!(
            "editor-background-changer-{}-{platform}-{arch}.mcpb",
            ebc::VERSION
        );
        let bundle = dist.join(&name);
        assert!(bundle.is_file(), "{name} not written");
        let manifest = bundled_manifest(&bundle, &out.path().join(target));
        assert_eq!(
            manifest["compatibility"]["platforms"],
            serde_json::json!([platform])
        );
        assert_eq!(manifest["server"]["entry_point"], format!("server/{exe}"));
        assert!(out.path().join(target).join("server").join(exe).is_file());
        let sha = hex::encode(Sha256::digest(std::fs::read(&bundle).unwrap()));
        let listed = packages
            .iter()
            .find(|p| p["identifier"].as_str().is_some_and(|u| u.ends_with(&name)))
            .unwrap_or_else(|| panic!("{name} not in server.json: {server:#}"));
        assert_eq!(listed["registryType"], "mcpb");
        assert_eq!(listed["fileSha256"], sha);
    }
    let cargo = packages
        .iter()
        .find(|p| p["registryType"] == "cargo")
        .unwrap_or_else(|| panic!("no cargo package: {server:#}"));
    assert_eq!(cargo["identifier"], "editor-background-changer");
    assert_eq!(cargo["version"], ebc::VERSION);

    // A target no bundle platform exists for is refused by name.
    let bad = Command::new(root().join("scripts/build-mcpb.sh"))
        .args([
            "--binary",
            EXE,
            "--target",
            "wasm32-unknown-unknown",
            "--out",
        ])
        .arg(&dist)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("wasm32-unknown-unknown"));
}
