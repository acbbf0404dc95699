//! A server killed mid-render (`kill -9`, a host that dies) leaves no ffmpeg behind, through
//! each mechanism `engine/ffmpeg/lifetime.rs` relies on: Linux's parent-death signal, and the
//! pipes macOS and other Unix have only (a decoder gets SIGPIPE, an encoder reads EOF). The
//! pipe case runs here by giving the engine an ffmpeg that starts the real one as a
//! grandchild, out of reach of the signal. Linux-only: the checks read `/proc`.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::clip_util::*;

/// `(parent pid, command name)` of process `pid` while it runs: `None` when it is gone or has
/// exited and waits to be reaped (a zombie runs nothing). From `/proc/PID/stat`.
fn running(pid: u32) -> Option<(u32, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": comm may hold spaces, so split at the last ')'.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let comm = stat[open + 1..close].to_string();
    let mut rest = stat[close + 1..].split_whitespace();
    let (state, ppid) = (rest.next()?, rest.next()?.parse().ok()?);
    (state != "Z").then_some((ppid, comm))
}

/// `(pid, parent pid, command name)` of every running process.
fn processes() -> Vec<(u32, u32, String)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter_map(|pid| running(pid).map(|(ppid, comm)| (pid, ppid, comm)))
        .collect()
}

fn alive(pid: u32) -> bool {
    running(pid).is_some()
}

/// Poll (every 50 ms, up to `limit`) until `done` holds; false on timeout.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// 40 s of 640×360 with a tone: long enough that the render is still running when killed.
fn long_clip(dir: &Path) -> PathBuf {
    let path = dir.join("long.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30:duration=40",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=40"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(&path)
        .status()
        .unwrap();
    assert!(ok.success(), "could not make the test clip");
    path
}

/// Start `replace` on the long clip; `ffmpeg` overrides the engine's ffmpeg.
fn start_replace(dir: &Path, ffmpeg: Option<&Path>) -> Child {
    let input = long_clip(dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_editor-background-changer"));
    cmd.current_dir(dir)
        .env("RUST_LOG", "warn")
        .arg("replace")
        .arg(&input)
        .args(["-b", "#1E90FF", "-o", "out.mp4", "--preset", "ultrafast"])
        .args(["--matte", crate::support::TEST_MATTE])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(f) = ffmpeg {
        cmd.env("EBC_FFMPEG", f);
    }
    cmd.spawn().unwrap()
}

/// Kill the server with SIGKILL (no cleanup of its own can run) and reap it.
fn kill_9(mut server: Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_killed_server_leaves_no_ffmpeg_children_linux_signal() {
    let tmp = tempdir();
    let dir = tmp.path();
    let server = start_replace(dir, None);
    let pid = server.id();
    // The render is under way once the server has a decoder and an encoder running.
    let mut children = Vec::new();
    let started = wait_until(Duration::from_secs(60), || {
        children = processes()
            .into_iter()
            .filter(|(_, ppid, comm)| *ppid == pid && comm == "ffmpeg")
            .map(|(p, _, _)| p)
            .collect();
        children.len() >= 2
    });
    assert!(started, "the server never ran two ffmpeg children");
    kill_9(server);
    let gone = wait_until(Duration::from_secs(10), || {
        !children.iter().any(|&c| alive(c))
    });
    let left: Vec<_> = children.iter().filter(|&&c| alive(c)).collect();
    assert!(gone, "ffmpeg children {left:?} outlived the killed server");
    assert!(
        !dir.join("out.mp4").exists(),
        "a killed render left a file at the destination"
    );
}

#[test]
fn a_killed_server_leaves_no_ffmpeg_children_through_the_pipes() {
    let tmp = tempdir();
    let dir = tmp.path();
    let pids = dir.join("grandchildren.txt");
    // The wrapper (the server's direct child, which the signal kills) runs the real ffmpeg
    // as a grandchild with the wrapper's own pipes, and notes its pid. A background job's
    // stdin would be /dev/null, so the original stdin is passed on through fd 3.
    let wrapper = dir.join("ffmpeg-wrapper.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec 3<&0\nffmpeg \"$@\" <&3 3<&- &\necho $! >> '{}'\nwait $!\n",
            pids.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let server = start_replace(dir, Some(&wrapper));
    let pid = server.id();
    let recorded = || -> Vec<u32> {
        std::fs::read_to_string(&pids)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    // Under way: two wrappers are children of the server and their grandchildren run.
    let started = wait_until(Duration::from_secs(60), || {
        let wrappers = processes()
            .into_iter()
            .filter(|(_, ppid, _)| *ppid == pid)
            .count();
        wrappers >= 2 && recorded().iter().filter(|&&g| alive(g)).count() >= 2
    });
    assert!(started, "the server never ran two ffmpeg grandchildren");
    let grandchildren = recorded();
    kill_9(server);
    let gone = wait_until(Duration::from_secs(20), || {
        !grandchildren.iter().any(|&g| alive(g))
    });
    let left: Vec<_> = grandchildren.iter().filter(|&&g| alive(g)).collect();
    assert!(
        gone,
        "ffmpeg {left:?} outlived the killed server with only its pipes to tell it"
    );
    assert!(
        !dir.join("out.mp4").exists(),
        "a killed render left a file at the destination"
    );
}
