//! The packaging commands. `register` in a temporary HOME: merges into Cursor's and Claude
//! Desktop's configs, keeps other servers, is idempotent, keeps a backup, and `--dry-run`
//! writes nothing. `doctor`: a checklist, and a non-zero exit when a check fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const EXE: &str = env!("CARGO_BIN_EXE_editor-background-changer");

fn register(home: &Path, args: &[&str]) -> Output {
    let out = Command::new(EXE)
        .arg("register")
        .args(args)
        .env("HOME", home)
        .env("USERPROFILE", home)
        .env("APPDATA", home.join("AppData/Roaming"))
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("EBC_BACKEND")
        .env_remove("NEMO_API_URL")
        .output()
        .expect("run register");
    assert!(
        out.status.success(),
        "register {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Installed by Homebrew, the binary lives in a versioned Cellar keg that `brew upgrade`
/// replaces; `register` writes the formula's stable `opt/` link instead. The layout is built
/// here (a copy of the binary in `<prefix>/Cellar/<formula>/<version>/bin`, `<prefix>/opt/
/// <formula>` a link to the keg, as `brew` makes it) and the copy run from its Cellar path.
#[cfg(unix)]
#[test]
fn register_writes_the_homebrew_opt_link_not_the_cellar_path() {
    let prefix = tempfile::tempdir().unwrap();
    let keg = prefix.path().join("Cellar/editor-background-changer/0.1.0");
    std::fs::create_dir_all(keg.join("bin")).unwrap();
    let cellar_exe = keg.join("bin/editor-background-changer");
    std::fs::copy(EXE, &cellar_exe).unwrap();
    std::fs::create_dir_all(prefix.path().join("opt")).unwrap();
    std::os::unix::fs::symlink(
        "../Cellar/editor-background-changer/0.1.0",
        prefix.path().join("opt/editor-background-changer"),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(&cellar_exe)
        .args(["register", "--cursor"])
        .env("HOME", home.path())
        .env_remove("EBC_BACKEND")
        .env_remove("NEMO_API_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = read(&cursor(home.path()));
    let opt = prefix
        .path()
        .canonicalize()
        .unwrap()
        .join("opt/editor-background-changer/bin/editor-background-changer");
    assert_eq!(
        v["mcpServers"]["editor-background-changer"]["command"],
        opt.to_string_lossy().as_ref()
    );
}

fn cursor(home: &Path) -> PathBuf {
    home.join(".cursor/mcp.json")
}

fn claude(home: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support/Claude/claude_desktop_config.json")
    } else if cfg!(windows) {
        home.join("AppData/Roaming/Claude/claude_desktop_config.json")
    } else {
        home.join(".config/Claude/claude_desktop_config.json")
    }
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("config written")).expect("JSON")
}

#[test]
fn register_merges_keeps_others_and_is_idempotent() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    std::fs::create_dir_all(home.join(".cursor")).unwrap();
    let original = json!({"mcpServers": {"other": {"command": "other-server", "args": ["x"]}}, "theme": "dark"});
    let original_text = serde_json::to_string(&original).unwrap();
    std::fs::write(cursor(home), &original_text).unwrap();

    let out = register(home, &["--cursor", "--claude-desktop"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("added"));

    // Canonical, but on Windows not in the `\\?\C:\…` verbatim form `canonicalize` gives
    // (which hosts cannot start): `dunce`'s form.
    let exe = dunce::canonicalize(EXE).unwrap();
    for path in [cursor(home), claude(home)] {
        let v = read(&path);
        let ours = &v["mcpServers"]["editor-background-changer"];
        assert_eq!(
            ours["command"],
            exe.to_string_lossy().as_ref(),
            "{}",
            path.display()
        );
        assert_eq!(ours["args"], json!(["serve"]));
        assert_eq!(ours["env"]["EBC_BACKEND"], "auto");
    }
    let merged = read(&cursor(home));
    assert_eq!(
        merged["mcpServers"]["other"],
        original["mcpServers"]["other"]
    );
    assert_eq!(merged["theme"], "dark");
    // The file that was there is kept as a backup, byte for byte.
    assert_eq!(
        std::fs::read_to_string(home.join(".cursor/mcp.json.bak")).unwrap(),
        original_text
    );

    let before = std::fs::read(cursor(home)).unwrap();
    let out = register(home, &["--cursor", "--claude-desktop"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged"));
    assert_eq!(std::fs::read(cursor(home)).unwrap(), before, "idempotent");
}

#[test]
fn register_dry_run_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let out = register(home, &["--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("would add"), "{stdout}");
    assert!(
        stdout.contains("\"editor-background-changer\""),
        "prints the result: {stdout}"
    );
    assert!(!cursor(home).exists());
    assert!(!claude(home).exists());
    assert_eq!(
        std::fs::read_dir(home).unwrap().count(),
        0,
        "nothing created"
    );
}

#[test]
fn register_refuses_a_broken_config_and_leaves_it_alone() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    std::fs::create_dir_all(home.join(".cursor")).unwrap();
    std::fs::write(cursor(home), "{ not json").unwrap();
    let out = Command::new(EXE)
        .args(["register", "--cursor"])
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mcp.json") && stderr.contains("not valid JSON"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(cursor(home)).unwrap(), "{ not json");
    assert!(!home.join(".cursor/mcp.json.bak").exists());
}

fn doctor(home: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(EXE);
    cmd.arg("doctor")
        .env("HOME", home)
        .env("EBC_STATE_DIR", home.join("state"))
        .env_remove("NEMO_TOKEN")
        .env_remove("EBC_BACKEND")
        // A closed loopback port: the "cloud" never answers, with no network involved.
        .env("NEMO_API_URL", "http://127.0.0.1:9");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run doctor")
}

#[test]
fn doctor_passes_with_the_embedded_backend() {
    let home = tempfile::tempdir().unwrap();
    let out = doctor(home.path(), &[("EBC_BACKEND", "local")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "[ok]   ffmpeg",
        "[ok]   ffprobe",
        "[ok]   segmentation model",
        "[ok]   embedded backend",
        "[ok]   platform",
        "[info] cloud",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert!(stdout.contains("All checks passed."));
}

#[test]
fn doctor_fails_when_the_chosen_cloud_is_unreachable_or_the_choice_is_bad() {
    let home = tempfile::tempdir().unwrap();
    let out = doctor(home.path(), &[("EBC_BACKEND", "cloud")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("[FAIL] cloud"), "{stdout}");

    let out = doctor(home.path(), &[("EBC_BACKEND", "sideways")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("[FAIL] config") && stdout.contains("EBC_BACKEND"),
        "{stdout}"
    );
}
