//! When the quality matte re-runs MODNet at the default's input size. Below it
//! (`MatteOptions::fine_long_side` < [`RESCUE_LONG_SIDE`]) MODNet loses whole parts of a
//! person on hard frames: on the low-light clip (shared/cases/footage.md #11) its raw alpha
//! at 384 drops the face, the cheek or the suit on most frames, where at 512 it keeps them
//! (docs/notes/issue-23.md, round 10). The selfie mask still holds the person there, so a
//! small run whose alpha disagrees with it (`propagate::agreement`, IoU at 0.5 on the selfie
//! grid) below [`MIN_AGREEMENT`] is run again at 512, and the next [`HOLD`] runs go straight
//! to 512 (a hard frame comes in stretches: lighting, noise; switching sizes re-plans MODNet,
//! ~0.1 s each way). The cost falls on hard frames only; at 512 and above nothing changes.

/// MODNet's input long side the rescue runs at, px: the default's (`fine_long_side`).
pub const RESCUE_LONG_SIDE: usize = 512;

/// Agreement (IoU with the selfie mask at 0.5) under which a small run is redone at
/// [`RESCUE_LONG_SIDE`]. The low-light clip's failing frames at 384 measured 0.31–0.83
/// (full-resolution proxy, round 10), its 512 runs 0.84–0.99.
pub const MIN_AGREEMENT: f32 = 0.85;

/// Runs after a rescue that go straight to [`RESCUE_LONG_SIDE`] before the small size is
/// tried again.
pub const HOLD: u32 = 8;

/// The rescue's state for one clip.
#[derive(Debug, Clone, Default)]
pub struct Rescue {
    /// The configured size is below [`RESCUE_LONG_SIDE`].
    active: bool,
    /// Runs left that go straight to the large size.
    hold: u32,
    /// Runs done at the large size, by a disagreement or within a hold.
    pub large_runs: u32,
    /// Small runs redone at the large size (disagreement).
    pub fired: u32,
}

/// What the next MODNet run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At the configured size; check its agreement afterwards (`Rescue::after`).
    Small,
    /// At [`RESCUE_LONG_SIDE`] (within a hold), no check.
    Large,
}

impl Rescue {
    /// The rescue for a runner whose MODNet input long side is `long_side` px: inactive at
    /// [`RESCUE_LONG_SIDE`] and above.
    pub fn new(long_side: usize) -> Self {
        Rescue {
            active: long_side < RESCUE_LONG_SIDE,
            ..Rescue::default()
        }
    }

    /// Where the next run starts (counts a hold down).
    pub fn start(&mut self) -> Start {
        if self.active && self.hold > 0 {
            self.hold -= 1;
            self.large_runs += 1;
            Start::Large
        } else {
            Start::Small
        }
    }

    /// After a small run whose alpha agreed `agreement` with the selfie mask: whether to
    /// redo it at [`RESCUE_LONG_SIDE`] (and hold there for the next [`HOLD`] runs). Never
    /// when inactive or when the large size would be the same input (`same`: a crop too small
    /// to be scaled down at either size).
    pub fn after(&mut self, agreement: f32, same: bool) -> bool {
        if !self.active || same || agreement >= MIN_AGREEMENT {
            return false;
        }
        self.hold = HOLD;
        self.fired += 1;
        self.large_runs += 1;
        true
    }

    /// Whether a small run's agreement is checked at all.
    pub fn active(&self) -> bool {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disagreeing_small_run_is_redone_large_and_the_next_runs_hold() {
        let mut r = Rescue::new(384);
        assert_eq!(r.start(), Start::Small);
        assert!(!r.after(0.95, false), "agreeing: kept");
        assert_eq!(r.start(), Start::Small);
        assert!(!r.after(0.40, true), "same input either way: no rerun");
        assert_eq!(r.start(), Start::Small);
        assert!(r.after(0.80, false), "disagreeing: redone at 512");
        for _ in 0..HOLD {
            assert_eq!(r.start(), Start::Large);
        }
        assert_eq!(r.start(), Start::Small, "probe the small size again");
        assert!(!r.after(MIN_AGREEMENT, false));
        assert_eq!((r.fired, r.large_runs), (1, 1 + HOLD));
    }

    #[test]
    fn at_the_default_size_nothing_changes() {
        for side in [512, 640] {
            let mut r = Rescue::new(side);
            assert!(!r.active());
            assert!(!r.after(0.0, false));
            assert_eq!(r.start(), Start::Small);
            assert_eq!((r.fired, r.large_runs), (0, 0));
        }
    }

    /// The low-light case's recipe (shared/cases/footage.md #11) on the talking clip's
    /// frames `picks`, decoded by ffmpeg as 4:2:0 frames (the noise is seeded: the same
    /// frames every run).
    fn dark_frames(picks: &[usize]) -> Vec<crate::engine::YuvFrame> {
        let clip = std::env::var_os("EBC_FIXTURES")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
            })
            .join("clips/talking_720p.mp4");
        let ffmpeg = crate::engine::ffmpeg::locate::locate("ffmpeg")
            .expect("ffmpeg on PATH (the low-light test decodes the fixture clip with it)");
        let last = picks.iter().max().copied().unwrap_or(0);
        let out = std::process::Command::new(ffmpeg)
            .args(["-v", "error", "-i"])
            .arg(&clip)
            .args([
                "-vf",
                "eq=brightness=-0.32:contrast=0.55:gamma=0.8,noise=alls=14:allf=t",
                "-frames:v",
                &(last + 1).to_string(),
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                "-",
            ])
            .output()
            .expect("ffmpeg runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (w, h) = (1280, 720);
        let size = w * h * 3 / 2;
        assert_eq!(out.stdout.len(), size * (last + 1), "{}", clip.display());
        picks
            .iter()
            .map(|&i| {
                let raw = &out.stdout[i * size..(i + 1) * size];
                let mut f = crate::engine::YuvFrame::new(w, h);
                let c = w * h / 4;
                f.y.copy_from_slice(&raw[..w * h]);
                f.u.copy_from_slice(&raw[w * h..w * h + c]);
                f.v.copy_from_slice(&raw[w * h + c..]);
                f
            })
            .collect()
    }

    /// The failure kind of round 10: on dark, noisy frames MODNet at crop 384 drops the face
    /// or the suit (its alpha disagrees with the selfie mask, which keeps the person); the
    /// runner redoes such a run at 512 and its alpha agrees again. At 512 (the default)
    /// nothing is redone.
    #[test]
    fn a_dark_noisy_frame_that_384_loses_is_redone_at_512() {
        use super::super::MatteOptions;
        use super::super::fine::FineRunner;
        use super::super::fuse::{model_size, person_region};
        use super::super::propagate::agreement;
        use crate::engine::segment::{ModelKind, Segmenter};
        let frames = dark_frames(&[10, 45, 80]);
        let mut seg = Segmenter::new(ModelKind::for_frame(1280, 720)).unwrap();
        let model = seg.kind().input_size();
        let opts = |side| MatteOptions {
            fine_long_side: side,
            ..MatteOptions::default()
        };
        let mut small = FineRunner::new(&opts(384));
        let mut large = FineRunner::new(&opts(512));
        let mut got = Vec::new();
        for frame in &frames {
            let selfie = seg.infer_yuv(frame).unwrap().to_vec();
            let fine = small.run(&selfie, model, frame).unwrap();
            let a = agreement(&selfie, model, &fine, (1280, 720));
            let fine512 = large.run(&selfie, model, frame).unwrap();
            let region = person_region(&selfie, model.0, model.1, 1280, 720, 0.08).unwrap();
            assert_eq!((fine512.w, fine512.h), model_size(region, 512));
            got.push((a, agreement(&selfie, model, &fine512, (1280, 720))));
        }
        eprintln!("agreement (384 runner, 512): {got:?}; rescue {:?}", small.rescue);
        assert!(small.rescue.fired >= 1, "{got:?}");
        for (a, _) in &got {
            assert!(*a >= MIN_AGREEMENT, "384 runner's alpha disagrees: {got:?}");
        }
        assert_eq!((large.rescue.fired, large.rescue.large_runs), (0, 0));
    }
}
