//! How long one tool call may wait, chosen from the host's `clientInfo` (issue 22): hosts
//! cut long calls at different points, and a call that outlives its host is lost work for the
//! user. Each ceiling stays well inside the host's own limit; longer work answers
//! `status: "running"` with a `job_id` and goes on in the background. `EBC_CALL_BUDGET_SECS`
//! overrides the table for every host.
//!
//! | host (`clientInfo.name`) | its limit on one call | our ceiling |
//! |---|---|---|
//! | Claude Desktop (`claude-ai`) | about 4 min (issue 22) | 180 s |
//! | Claude Code (`claude-code`) | calls over 2 min move to the background (issue 22) | 100 s |
//! | Cursor (`cursor`, `cursor-vscode`) | none documented; built on the TypeScript SDK (60 s) | 45 s |
//! | VS Code (`Visual Studio Code`, `vscode`) | none documented; TypeScript SDK (60 s) | 45 s |
//! | Codex (`codex-mcp-client`, `codex`) | `tool_timeout_sec`, default 60 s (issue 22) | 45 s |
//! | TypeScript SDK default (`mcp-inspector`, `inspector-client`, …) | `DEFAULT_REQUEST_TIMEOUT_MSEC` = 60 000 ms (`@modelcontextprotocol/client` 2.4.0, `sdk` 1.x) | 45 s |
//! | unknown | — | 45 s |
//!
//! While a call waits, progress notifications go out at least every [`PROGRESS_EVERY`] (when
//! the host sent a progress token), each with a readable message.

use std::time::Duration;

/// A progress notification at least this often while a call waits.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// The ceiling for hosts the table does not know.
pub const UNKNOWN_CEILING: Duration = Duration::from_secs(45);

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// The host in words, for logs.
    pub label: &'static str,
    /// The longest wait inside one call.
    pub ceiling: Duration,
}

/// (lower-case `clientInfo.name` fragments, label, ceiling in seconds); first match wins.
const TABLE: &[(&[&str], &str, u64)] = &[
    (&["claude-code", "claude code"], "Claude Code", 100),
    (
        &["claude-ai", "claude desktop", "claude-desktop"],
        "Claude Desktop",
        180,
    ),
    (&["cursor"], "Cursor", 45),
    (&["visual studio code", "vscode", "vs code"], "VS Code", 45),
    (&["codex"], "Codex", 45),
    (
        &[
            "mcp-inspector",
            "inspector-client",
            "typescript-sdk",
            "mcp-typescript",
        ],
        "TypeScript SDK default",
        45,
    ),
];

/// The host named `client_name` (a `clientInfo.name`; `None` when the host sent none).
pub fn host(client_name: Option<&str>) -> Host {
    let name = client_name.unwrap_or_default().trim().to_lowercase();
    if !name.is_empty() {
        for (fragments, label, secs) in TABLE {
            if fragments.iter().any(|f| name.contains(f)) {
                return Host {
                    label,
                    ceiling: Duration::from_secs(*secs),
                };
            }
        }
    }
    Host {
        label: "unknown host",
        ceiling: UNKNOWN_CEILING,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_host_has_its_ceiling() {
        for (name, label, secs) in [
            ("claude-ai", "Claude Desktop", 180),
            ("Claude Desktop", "Claude Desktop", 180),
            ("claude-code", "Claude Code", 100),
            ("cursor-vscode", "Cursor", 45),
            ("Visual Studio Code", "VS Code", 45),
            ("codex-mcp-client", "Codex", 45),
            ("mcp-inspector", "TypeScript SDK default", 45),
            ("some-new-host", "unknown host", 45),
            ("", "unknown host", 45),
        ] {
            let h = host(Some(name));
            assert_eq!((h.label, h.ceiling.as_secs()), (label, secs), "{name}");
        }
        assert_eq!(host(None).ceiling, UNKNOWN_CEILING);
    }

    #[test]
    fn every_ceiling_stays_inside_the_host_limit() {
        // Claude Desktop ~240 s, Claude Code 120 s, the rest 60 s: 15 s or more to spare.
        for (name, limit) in [
            ("claude-ai", 240),
            ("claude-code", 120),
            ("cursor", 60),
            ("x", 60),
        ] {
            assert!(host(Some(name)).ceiling.as_secs() + 15 <= limit, "{name}");
        }
    }
}
