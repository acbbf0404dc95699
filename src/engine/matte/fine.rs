//! The quality matte's MODNet step for one clip, shared by the clip pipeline (its `matting`
//! stage) and the timeline renderer: the crop around the people the selfie mask shows
//! (`fuse::person_region`), MODNet's input size from the crop (`fuse::model_size`) with
//! hysteresis, and the run itself. The result goes to `fuse::Fuser`.

use super::MatteOptions;
use super::fuse::{FineMatte, Fuser, model_size, person_region};
use crate::engine::segment::modnet::Matter;
use crate::engine::{Result, YuvFrame};

/// Margin around the people's box for MODNet's crop, as a fraction of the box's longer side:
/// room for hair and hands the selfie mask misses, and context for MODNet.
const FINE_MARGIN: f32 = 0.08;

/// A size within this many pixels per side of the current plan's is kept: a new plan costs
/// ~0.1 s, and a crop that breathes by a few pixels should not pay it every frame.
const SIZE_HYSTERESIS: usize = 32;

/// Runs MODNet on the frames of one clip, in order; holds the model and its current size.
pub struct FineRunner {
    matter: Matter,
    /// Longest side of MODNet's input, px (`MatteOptions::fine_long_side`).
    long_side: usize,
    /// MODNet's input size (width, height) in use, px.
    size: Option<(usize, usize)>,
}

impl FineRunner {
    /// MODNet at `opts.fine_long_side`, its large convolutions split over
    /// `opts.fine_threads` threads (0: one per core, at most 4).
    pub fn new(opts: &MatteOptions) -> Self {
        let threads = match opts.fine_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            n => n as usize,
        };
        let mut matter = Matter::with_threads(threads);
        matter.set_bf16(opts.fine_bf16);
        FineRunner {
            matter,
            long_side: opts.fine_long_side as usize,
            size: None,
        }
    }

    /// MODNet's alpha for `frame`, given the selfie model's person probabilities `selfie`
    /// (`mw`×`mh`, over the whole frame). An empty `FineMatte` (w = 0) when nobody is in
    /// view: MODNet does not run then.
    pub fn run(
        &mut self,
        selfie: &[f32],
        (mw, mh): (usize, usize),
        frame: &YuvFrame,
    ) -> Result<FineMatte> {
        let (fw, fh) = (frame.width, frame.height);
        let Some(region) = person_region(selfie, mw, mh, fw, fh, FINE_MARGIN) else {
            return Ok(FineMatte::default());
        };
        let want = model_size(region, self.long_side);
        let (sw, sh) = match self.size {
            Some((pw, ph))
                if pw.abs_diff(want.0) <= SIZE_HYSTERESIS
                    && ph.abs_diff(want.1) <= SIZE_HYSTERESIS =>
            {
                (pw, ph)
            }
            _ => want,
        };
        self.size = Some((sw, sh));
        let alpha = self.matter.infer_yuv_region(frame, region, sw, sh)?;
        Ok(FineMatte {
            alpha: alpha.to_vec(),
            w: sw,
            h: sh,
            region,
        })
    }
}

/// The whole quality matte on one thread, frame by frame (the timeline renderer; the clip
/// pipeline splits MODNet and the fusion into stages of their own).
pub struct QualityMatte {
    runner: FineRunner,
    fuser: Fuser,
}

impl QualityMatte {
    pub fn new(opts: &MatteOptions) -> Self {
        QualityMatte {
            runner: FineRunner::new(opts),
            fuser: Fuser::new(opts.fuse),
        }
    }

    /// Writes `frame.width·frame.height` alpha bytes (255 = person) into `alpha`, from the
    /// selfie model's probabilities `selfie` (`mw`×`mh`) and MODNet on this frame.
    pub fn matte(
        &mut self,
        selfie: &[f32],
        model: (usize, usize),
        frame: &YuvFrame,
        alpha: &mut Vec<u8>,
    ) -> Result<()> {
        let fine = self.runner.run(selfie, model, frame)?;
        let size = (frame.width, frame.height);
        self.fuser.fuse(selfie, model, Some(&fine), size, alpha);
        Ok(())
    }
}
