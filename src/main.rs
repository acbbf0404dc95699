//! The CLI: parses arguments and dispatches to one function per command.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "editor-background-changer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the MCP server on stdio (the default).
    Serve(cli::serve::ServeArgs),
    /// Replace the background of a clip or image, offline, with a progress bar.
    Replace(cli::ReplaceArgs),
    /// Make a short demo clip from an embedded portrait and replace its background.
    Demo(cli::DemoArgs),
    /// Write the person matte itself (PNG for an image, lossless gray .mkv for a clip).
    Segment(cli::SegmentArgs),
    /// Merge this server into Cursor's and/or Claude Desktop's MCP config (both when no flag is given).
    Register(cli::register::RegisterArgs),
    /// Check ffmpeg/ffprobe, the model, the embedded backend, the token and config, the platform.
    Doctor,
    /// Serve the NemoVideo API locally (the embedded backend), rendering with the local engine.
    Backend(ebc::config::backend::BackendArgs),
}

/// At most two glibc malloc arenas. glibc gives each new thread its own arena (up to 8 per
/// core) and freed memory stays in the arena that held it; the engine's stage threads and
/// MODNet's per-convolution threads each pinned their own share of frame and tensor memory.
/// Measured (`replace --matte quality`, 3 s of 1080p, engine VmHWM): 249–305 MB without the
/// limit, 233 MB with two arenas, against the quality matte's 300 MB bar.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called first thing in main, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    init_logging();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr only: stdout is the MCP protocol.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => cli::serve::run(cli::serve::ServeArgs::from_env()?).map(|()| ExitCode::SUCCESS),
        Some(Command::Serve(args)) => cli::serve::run(args).map(|()| ExitCode::SUCCESS),
        Some(Command::Replace(args)) => cli::replace(args),
        Some(Command::Demo(args)) => cli::demo(args),
        Some(Command::Segment(args)) => cli::segment(args),
        Some(Command::Backend(args)) => run_backend(args),
        Some(Command::Register(args)) => cli::register::run(args),
        Some(Command::Doctor) => cli::doctor::run(),
    }
}

fn run_backend(args: ebc::config::backend::BackendArgs) -> anyhow::Result<ExitCode> {
    let config = args
        .into_config(ebc::backend::default_data_dir())
        .map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(ebc::backend::run_until_signal(config))?;
    Ok(ExitCode::SUCCESS)
}
