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

fn main() -> ExitCode {
    ebc::host_os::limit_malloc_arenas();
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
