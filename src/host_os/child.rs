//! How an ffmpeg/ffprobe child is tied to this process, per OS. Two promises on every OS:
//! - a terminal's Ctrl-C reaches the server, not its children (the engine stops them itself,
//!   or ffmpeg would end a file on its own and race our cancellation);
//! - a server that dies — even by `kill -9` or Task Manager — leaves no ffmpeg behind that
//!   would go on writing a half file into a data folder a restart has already cleaned.
//!
//! | OS | Ctrl-C | server death |
//! |---|---|---|
//! | Linux | own process group | `PR_SET_PDEATHSIG` = SIGKILL (prctl(2)) |
//! | Windows | `CREATE_NEW_PROCESS_GROUP` | a job object with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`: the kernel closes the server's handle when it dies and kills every child in the job |
//! | macOS, other Unix | own process group | the pipes: a decoder writing frames gets SIGPIPE, an encoder reads EOF and ends; file-to-file runs (preview clip, audio mix) end by themselves within seconds. macOS has no parent-death signal (kqueue's `NOTE_EXIT` needs code in the child) |
//!
//! Sources: prctl(2) `PR_SET_PDEATHSIG`; Microsoft Learn "Job Objects" and
//! `JOBOBJECT_BASIC_LIMIT_INFORMATION` (`JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`), "Process
//! Creation Flags" (`CREATE_NEW_PROCESS_GROUP` = 0x0000_0200).

use std::process::{Child, Command};

/// Set up `cmd` before it is spawned (see the module table).
pub fn prepare(cmd: &mut Command) {
    own_group(cmd);
    die_with_parent(cmd);
}

/// Tie a spawned child to this process where that can only happen after the spawn (the
/// Windows job object). A child that already exited cannot be assigned; that is harmless.
pub fn adopt(child: &Child) {
    assign_to_job(child);
}

#[cfg(unix)]
fn own_group(cmd: &mut Command) {
    std::os::unix::process::CommandExt::process_group(cmd, 0);
}

#[cfg(windows)]
fn own_group(cmd: &mut Command) {
    /// `CREATE_NEW_PROCESS_GROUP` (winbase.h).
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    std::os::windows::process::CommandExt::creation_flags(cmd, CREATE_NEW_PROCESS_GROUP);
}

#[cfg(not(any(unix, windows)))]
fn own_group(_cmd: &mut Command) {}

/// On Linux, the child gets SIGKILL when the thread that spawned it ends (prctl(2)). The
/// engine spawns and reaps each child on the same stage thread, which lives as long as the
/// child.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2)
    // and getppid(2), which are async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Windows: one job object per server process, created on first use, with
/// kill-on-job-close; its only handle is this process's, so the kernel kills every
/// assigned child when this process ends, however it ends. Creation failure (a host that
/// forbids nested jobs on Windows before 8) leaves children unassigned, logged once.
#[cfg(windows)]
fn assign_to_job(child: &Child) {
    use std::os::windows::io::AsRawHandle;
    use std::sync::OnceLock;
    static JOB: OnceLock<Option<win32job::Job>> = OnceLock::new();
    let job = JOB.get_or_init(|| {
        let mut info = win32job::ExtendedLimitInfo::new();
        info.limit_kill_on_job_close();
        match win32job::Job::create_with_limit_info(&info) {
            Ok(job) => Some(job),
            Err(e) => {
                tracing::warn!("no job object for ffmpeg children ({e}); a killed server may leave them running");
                None
            }
        }
    });
    if let Some(job) = job
        && let Err(e) = job.assign_process(child.as_raw_handle() as isize)
    {
        tracing::debug!("ffmpeg child not assigned to the job object: {e}");
    }
}

#[cfg(not(windows))]
fn assign_to_job(_child: &Child) {}
