//! One ffmpeg/ffprobe child (ripgrep `CommandReader` style): its stderr is drained on a
//! thread of its own so the child can never block on a full pipe, the tail of it goes into
//! the error on a non-zero exit, and the child is killed and reaped on drop.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use super::Tool;
use crate::engine::{Error, Result};

/// Lines of stderr kept for error messages.
const TAIL_LINES: usize = 12;

pub struct FfmpegProcess {
    tool: Tool,
    /// The file the child works on, named in errors.
    path: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<JoinHandle<String>>,
    reaped: bool,
}

impl FfmpegProcess {
    /// Spawn `cmd` (built by [`Tool::command`]) with the pipes asked for.
    pub fn spawn(
        tool: Tool,
        path: &Path,
        mut cmd: Command,
        pipe_stdin: bool,
        pipe_stdout: bool,
    ) -> Result<Self> {
        cmd.stdin(if pipe_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(if pipe_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped());
        tracing::debug!(?cmd, "spawning {}", tool.name());
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::ToolMissing { tool: tool.name() },
            _ => Error::io(path, e),
        })?;
        crate::host_os::child::adopt(&child);
        let stderr = match child.stderr.take() {
            Some(err) => {
                let spawned = std::thread::Builder::new()
                    .name(format!("{}-stderr", tool.name()))
                    .spawn(move || read_tail(err));
                match spawned {
                    Ok(handle) => Some(handle),
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(Error::io(path, e));
                    }
                }
            }
            None => None,
        };
        Ok(FfmpegProcess {
            tool,
            path: path.to_path_buf(),
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            child,
            stderr,
            reaped: false,
        })
    }

    pub fn stdin(&mut self) -> Option<&mut ChildStdin> {
        self.stdin.as_mut()
    }

    pub fn stdout(&mut self) -> Option<&mut ChildStdout> {
        self.stdout.as_mut()
    }

    /// Take stdin out of the child, for a writer that owns it (dropped before `wait`).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    /// Take stdout out of the child, for a reader that owns it (dropped before `wait`).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.stdout.take()
    }

    pub fn tool(&self) -> Tool {
        self.tool
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Close stdin (end of input), wait for the exit and collect stderr. Ok only on exit 0.
    pub fn finish(&mut self) -> Result<()> {
        let (status, tail) = self.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(self.failure(status, tail))
        }
    }

    /// Like [`finish`](Self::finish) but hands back the stderr tail even on success (for
    /// tools that report problems without failing).
    pub fn wait(&mut self) -> Result<(ExitStatus, String)> {
        drop(self.stdin.take());
        drop(self.stdout.take());
        let status = self.child.wait().map_err(|e| Error::io(&self.path, e))?;
        self.reaped = true;
        let tail = self.take_stderr();
        Ok((status, tail))
    }

    /// The error for a failed exit, with the stderr tail (or the exit status if stderr was
    /// empty).
    pub fn failure(&self, status: ExitStatus, tail: String) -> Error {
        let stderr_tail = if tail.trim().is_empty() {
            format!("{} exited with {status}", self.tool.name())
        } else {
            tail
        };
        Error::Ffmpeg {
            tool: self.tool.name(),
            path: self.path.clone(),
            stderr_tail,
        }
    }

    /// Stop the child now (cancel, or an error elsewhere) and reap it.
    pub fn kill(&mut self) {
        if self.reaped {
            return;
        }
        drop(self.stdin.take());
        drop(self.stdout.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
        let _ = self.take_stderr();
    }

    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for FfmpegProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Drain stderr to the end, keeping the last lines; every line also goes to the debug log.
fn read_tail(stderr: impl std::io::Read) -> String {
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    for line in BufReader::new(stderr).split(b'\n') {
        let Ok(line) = line else { break };
        let line = String::from_utf8_lossy(&line).trim_end().to_string();
        if line.is_empty() {
            continue;
        }
        tracing::debug!(target: "ebc::ffmpeg", "{line}");
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    Vec::from(tail).join("\n")
}
