//! `X-Skill-Platform` detection from where the server is installed: a pure function of the
//! executable's path and the folder it runs from, so it is unit-tested without touching disk.

use std::path::{Component, Path};

/// The attribution platforms of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    ClawHub,
    Cursor,
    Unknown,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::ClawHub => "clawhub",
            Platform::Cursor => "cursor",
            Platform::Unknown => "unknown",
        }
    }
}

/// The header value (DESIGN.md, attribution headers), first match: a non-empty override
/// (`SKILL_SOURCE`, or its alias `EBC_PLATFORM`, resolved by the config); else the
/// executable's path, then the skill folder (the working directory the host started us in).
pub fn detect(
    override_value: Option<&str>,
    exe: Option<&Path>,
    skill_dir: Option<&Path>,
) -> String {
    if let Some(v) = override_value.map(str::trim).filter(|v| !v.is_empty()) {
        return v.to_ascii_lowercase();
    }
    for path in [exe, skill_dir].into_iter().flatten() {
        let p = platform_of(path);
        if p != Platform::Unknown {
            return p.as_str().to_string();
        }
    }
    Platform::Unknown.as_str().to_string()
}

/// As the seed documents it: a path under `~/.clawhub/` or in the OpenClaw skills folder
/// (`~/.openclaw/skills/`) → `clawhub`; under `~/.cursor/` (skills in `~/.cursor/skills/`)
/// → `cursor`; anything else, including a generic `…/skills/<name>` folder such as
/// `~/.claude/skills/x`, → `unknown`.
pub fn platform_of(path: &Path) -> Platform {
    let names: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    if names.iter().any(|n| n == ".cursor") {
        return Platform::Cursor;
    }
    let openclaw_skills = names
        .windows(2)
        .any(|w| w[0] == ".openclaw" && w[1] == "skills");
    if openclaw_skills || names.iter().any(|n| n == ".clawhub") {
        return Platform::ClawHub;
    }
    Platform::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(p: &str) -> &'static str {
        platform_of(Path::new(p)).as_str()
    }

    #[test]
    fn install_paths() {
        // ClawHub: its own folder, or the OpenClaw skills folder.
        assert_eq!(
            of("/home/u/.clawhub/skills/ebc/bin/editor-background-changer"),
            "clawhub"
        );
        assert_eq!(of("/home/u/.clawhub/editor-background-changer"), "clawhub");
        assert_eq!(
            of("/home/u/.openclaw/skills/editor-background-changer/bin/editor-background-changer"),
            "clawhub"
        );
        // Cursor: anything under ~/.cursor/.
        assert_eq!(
            of("/home/u/.cursor/skills/ebc/editor-background-changer"),
            "cursor"
        );
        assert_eq!(
            of("/home/u/.cursor/mcp/editor-background-changer"),
            "cursor"
        );
        assert_eq!(
            of(r"C:\Users\u\.cursor\bin\ebc.exe"),
            if crate::host_os::Os::HOST == crate::host_os::Os::Windows {
                "cursor"
            } else {
                "unknown"
            }
        );
        // A generic skills folder is not ClawHub.
        assert_eq!(of("/home/u/.claude/skills/x"), "unknown");
        assert_eq!(
            of("/home/u/clawd/skills/editor-background-changer"),
            "unknown"
        );
        assert_eq!(
            of("/Users/u/work/skills/ebc/editor-background-changer"),
            "unknown"
        );
        // OpenClaw outside its skills folder, and look-alike names, are not either.
        assert_eq!(of("/home/u/.openclaw/bin/ebc"), "unknown");
        assert_eq!(of("/opt/clawhub/ebc"), "unknown");
        assert_eq!(of("/usr/local/bin/editor-background-changer"), "unknown");
        assert_eq!(of("/home/u/skills"), "unknown");
        assert_eq!(
            of("/home/u/.cargo/bin/editor-background-changer"),
            "unknown"
        );
    }

    #[test]
    fn override_then_exe_then_skill_dir() {
        let exe = Path::new("/home/u/.cursor/bin/ebc");
        let cwd = Path::new("/home/u/.openclaw/skills/ebc");
        assert_eq!(detect(Some("ClawHub"), Some(exe), None), "clawhub");
        assert_eq!(detect(Some("  "), Some(exe), Some(cwd)), "cursor");
        assert_eq!(
            detect(None, Some(Path::new("/usr/bin/ebc")), Some(cwd)),
            "clawhub"
        );
        assert_eq!(
            detect(None, Some(Path::new("/usr/bin/ebc")), None),
            "unknown"
        );
        assert_eq!(detect(None, None, None), "unknown");
    }
}
