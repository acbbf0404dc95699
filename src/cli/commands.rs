//! One function per local engine command: build options, run the engine with the bar, print
//! the result (stdout: the output path and what the backdrop became).

use std::process::ExitCode;

use anyhow::{Context, Result};

use ebc::engine::{self, Error, ReplaceReport};

use super::args::{DemoArgs, ReplaceArgs, SegmentArgs};
use super::bar::{Bar, install_ctrlc};

pub fn replace(args: ReplaceArgs) -> Result<ExitCode> {
    let opts = args.to_options()?;
    install_ctrlc();
    let mut bar = Bar::new("replacing");
    let res = engine::replace(&opts, &mut bar);
    bar.finish();
    finish(res, "background replaced")
}

pub fn demo(args: DemoArgs) -> Result<ExitCode> {
    install_ctrlc();
    let dir = tempfile::tempdir().context("creating a temporary folder for the demo clip")?;
    let source = dir.path().join("demo_source.mp4");
    eprintln!(
        "making a {} s clip of the embedded NASA portrait (public domain)…",
        args.seconds
    );
    engine::demo::make_clip(&source, args.seconds)?;
    let opts = args.to_options(source)?;
    let mut bar = Bar::new("replacing");
    let res = engine::replace(&opts, &mut bar);
    bar.finish();
    finish(res, "demo written")
}

pub fn segment(args: SegmentArgs) -> Result<ExitCode> {
    let opts = args.to_options()?;
    install_ctrlc();
    let mut bar = Bar::new("segmenting");
    let res = engine::segment(&opts, &mut bar);
    bar.finish();
    finish(res, "matte written")
}

fn finish(res: engine::Result<ReplaceReport>, what: &str) -> Result<ExitCode> {
    match res {
        Ok(r) => {
            // The matte is named so a run (and `scripts/bench.sh`) says which one it used;
            // MODNet's frame count shows whether keyframes were carried.
            let modnet = if r.matte.runs_modnet() {
                format!(" (MODNet on {} of {} frames)", r.modnet_frames, r.frames)
            } else {
                String::new()
            };
            eprintln!(
                "{what}: {}x{}, {} frame{} in {:.1} s; backdrop: {}; matte: {}{modnet}",
                r.width,
                r.height,
                r.frames,
                if r.frames == 1 { "" } else { "s" },
                r.elapsed.as_secs_f64(),
                r.backdrop,
                r.matte.as_str(),
            );
            println!("{}", r.output.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Cancelled) => {
            eprintln!("cancelled; nothing was written");
            Ok(ExitCode::from(130))
        }
        Err(e) => Err(e.into()),
    }
}
