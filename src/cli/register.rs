//! `register`: merge this server into the MCP host configs (Cursor's `~/.cursor/mcp.json`,
//! Claude Desktop's `claude_desktop_config.json`) without touching other servers. Idempotent;
//! the previous file is kept as `<file>.bak`; `--dry-run` prints the result and writes nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use ebc::config::os_paths;
use ebc::engine::ffmpeg::Tool;
use serde_json::{Map, Value, json};

/// The key of this server under `mcpServers`.
pub const SERVER_KEY: &str = "editor-background-changer";

#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    /// Add the server to Cursor (~/.cursor/mcp.json).
    #[arg(long)]
    pub cursor: bool,
    /// Add the server to Claude Desktop's config.
    #[arg(long)]
    pub claude_desktop: bool,
    /// Print what would be written, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// What registering did to one config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Unchanged,
}

/// `existing` (None: no file yet) with our entry set under `mcpServers`; other keys and
/// servers are kept. The text is pretty-printed JSON with a trailing newline.
pub fn merge(existing: Option<&str>, entry: &Value) -> Result<(String, Change), String> {
    let mut root = match existing.map(str::trim).filter(|s| !s.is_empty()) {
        None => Value::Object(Map::new()),
        Some(text) => {
            serde_json::from_str::<Value>(text).map_err(|e| format!("is not valid JSON ({e})"))?
        }
    };
    let Some(obj) = root.as_object_mut() else {
        return Err("does not hold a JSON object at the top level".into());
    };
    let servers = obj
        .entry("mcpServers")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(servers) = servers.as_object_mut() else {
        return Err("has an \"mcpServers\" entry that is not an object".into());
    };
    let change = match servers.get(SERVER_KEY) {
        None => Change::Added,
        Some(old) if old == entry => Change::Unchanged,
        Some(_) => Change::Updated,
    };
    servers.insert(SERVER_KEY.to_string(), entry.clone());
    let mut text = serde_json::to_string_pretty(&root).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok((text, change))
}

/// Our entry: this executable, `serve`, the backend choice, and where ffmpeg/ffprobe are
/// (GUI apps start servers with a PATH that often lacks them; see `engine::ffmpeg::locate`).
fn entry() -> anyhow::Result<Value> {
    let exe = stable_exe_path(&std::env::current_exe().context("finding this program's path")?);
    let mut env = Map::new();
    let backend = std::env::var("EBC_BACKEND")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "auto".into());
    env.insert("EBC_BACKEND".into(), json!(backend));
    for tool in [Tool::Ffmpeg, Tool::Ffprobe] {
        if let Some(path) = tool.path() {
            env.insert(tool.env_var().into(), json!(path.to_string_lossy()));
        }
    }
    if let Some(url) = std::env::var("NEMO_API_URL")
        .ok()
        .filter(|v| !v.trim().is_empty() && v.trim_end_matches('/') != ebc::api::DEFAULT_CLOUD_URL)
    {
        env.insert("NEMO_API_URL".into(), json!(url));
    }
    Ok(json!({
        "command": exe.to_string_lossy(),
        "args": ["serve"],
        "env": env,
    }))
}

/// The program's path as host configs should hold it: canonical (symlinks resolved) but
/// without Windows' `\\?\` verbatim prefix (`dunce`), and inside a Homebrew Cellar keg the
/// formula's `opt/` link instead, when that link leads to this very file (a versioned Cellar
/// path disappears with `brew upgrade` + `brew cleanup`).
pub fn stable_exe_path(exe: &Path) -> PathBuf {
    let canonical = dunce::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    let text = canonical.to_string_lossy();
    if let Some(opt) = os_paths::homebrew_opt_path(&text).map(PathBuf::from)
        && dunce::canonicalize(&opt).is_ok_and(|c| c == canonical)
    {
        return opt;
    }
    match canonical.to_str() {
        Some(s) => PathBuf::from(os_paths::strip_verbatim(s)),
        None => canonical,
    }
}

fn home() -> anyhow::Result<PathBuf> {
    let var = ebc::host_os::Os::HOST.home_var();
    std::env::var_os(var)
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
        .context("no home folder found: set HOME")
}

fn cursor_config(home: &Path) -> PathBuf {
    home.join(".cursor").join("mcp.json")
}

/// Claude Desktop's config file on this OS.
fn claude_config(home: &Path) -> PathBuf {
    use ebc::host_os::Os;
    let dir = if Os::HOST == Os::MacOs {
        home.join("Library").join("Application Support")
    } else if Os::HOST == Os::Windows {
        std::env::var_os("APPDATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join("AppData").join("Roaming"))
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config"))
    };
    dir.join("Claude").join("claude_desktop_config.json")
}

pub fn run(args: RegisterArgs) -> anyhow::Result<ExitCode> {
    let home = home()?;
    let (cursor, claude) = match (args.cursor, args.claude_desktop) {
        (false, false) => (true, true),
        chosen => chosen,
    };
    let entry = entry()?;
    let mut targets = Vec::new();
    let mut out = std::io::stdout().lock();
    for tool in [Tool::Ffmpeg, Tool::Ffprobe] {
        match tool.path() {
            Some(path) => writeln!(out, "{}: {}", tool.name(), path.display())?,
            None => writeln!(
                out,
                "warning: {} was not found; the local backend will not work until it is installed (then run register again). {}",
                tool.name(),
                ebc::engine::Error::ToolMissing { tool: tool.name() }
            )?,
        }
    }
    if cursor {
        targets.push(("Cursor", cursor_config(&home)));
    }
    if claude {
        targets.push(("Claude Desktop", claude_config(&home)));
    }
    for (host, path) in targets {
        let existing = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => bail!("cannot read {}: {e}", path.display()),
        };
        let (text, change) = merge(existing.as_deref(), &entry).map_err(|why| {
            anyhow::anyhow!(
                "{} {why}: fix or move it, then run register again (nothing was changed)",
                path.display()
            )
        })?;
        if args.dry_run {
            let verb = match change {
                Change::Added => "would add",
                Change::Updated => "would update",
                Change::Unchanged => "already has",
            };
            writeln!(
                out,
                "{host}: {verb} {SERVER_KEY} in {} (dry run, nothing written). Result:",
                path.display()
            )?;
            write!(out, "{text}")?;
            continue;
        }
        if change == Change::Unchanged {
            writeln!(
                out,
                "{host}: {} already has {SERVER_KEY}; unchanged.",
                path.display()
            )?;
            continue;
        }
        let dir = path.parent().context("config path has no folder")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let backup = existing.is_some().then(|| {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".bak");
            path.with_file_name(name)
        });
        if let Some(backup) = &backup {
            std::fs::copy(&path, backup).with_context(|| {
                format!("backing up {} to {}", path.display(), backup.display())
            })?;
        }
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("writing in {}", dir.display()))?;
        tmp.write_all(text.as_bytes())?;
        // Keep the permissions the user gave the file (new files stay private: 0600).
        if let Ok(meta) = std::fs::metadata(&path) {
            std::fs::set_permissions(tmp.path(), meta.permissions())
                .with_context(|| format!("copying the permissions of {}", path.display()))?;
        }
        tmp.persist(&path)
            .with_context(|| format!("replacing {}", path.display()))?;
        let verb = if change == Change::Added {
            "added"
        } else {
            "updated"
        };
        match backup {
            Some(b) => writeln!(
                out,
                "{host}: {verb} {SERVER_KEY} in {} (previous file kept as {}).",
                path.display(),
                b.display()
            )?,
            None => writeln!(out, "{host}: {verb} {SERVER_KEY} in {}.", path.display())?,
        }
    }
    writeln!(out, "Restart the host app to load the server.")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_other_servers_and_is_idempotent() {
        let entry = json!({"command": "/x/ebc", "args": ["serve"], "env": {"EBC_BACKEND": "auto"}});
        let existing = r#"{"theme":"dark","mcpServers":{"other":{"command":"o"}}}"#;
        let (text, change) = merge(Some(existing), &entry).unwrap();
        assert_eq!(change, Change::Added);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["theme"], "dark");
        assert_eq!(v["mcpServers"]["other"]["command"], "o");
        assert_eq!(v["mcpServers"][SERVER_KEY], entry);
        let (again, change) = merge(Some(&text), &entry).unwrap();
        assert_eq!(change, Change::Unchanged);
        assert_eq!(again, text);
        let moved = json!({"command": "/y/ebc", "args": ["serve"], "env": {}});
        assert_eq!(merge(Some(&text), &moved).unwrap().1, Change::Updated);
    }

    #[test]
    fn merge_refuses_files_it_does_not_understand() {
        let entry = json!({});
        assert!(
            merge(Some("{not json"), &entry)
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(merge(Some("[1]"), &entry).is_err());
        assert!(merge(Some(r#"{"mcpServers":3}"#), &entry).is_err());
        assert_eq!(merge(None, &entry).unwrap().1, Change::Added);
        assert_eq!(merge(Some("  "), &entry).unwrap().1, Change::Added);
    }
}
