//! Bidirectional carry for the clip pipeline: the frames between two keyframes wait for the
//! second one, then each takes the first keyframe's alpha carried forward (`FineRunner`)
//! blended with the second's carried back to it by motion, weighted by the frame's distance
//! to each. The alpha thus arrives at the next keyframe's instead of jumping to it when
//! MODNet runs again (the pop a forward-only carry shows), and no frame is more than half an
//! interval from a keyframe's alpha. At a scene cut or a change of frame size, the frames
//! before it keep the forward carry (the next keyframe shows another picture). The clip's
//! last frame is a keyframe when frames wait for one.

use super::fine::{FineRunner, Step};
use super::fuse::FineMatte;
use super::keyframe::Why;
use super::motion::{Luma, MotionField};
use super::propagate::{blend, warp_onto};
use super::{Carry, MatteOptions};
use crate::engine::{Result, YuvFrame};

/// A frame waiting for the next keyframe: its payload, forward-carried alpha, luma grid.
struct Waiting<T> {
    item: T,
    fine: FineMatte,
    luma: Luma,
}

/// Runs [`FineRunner`] over a clip's frames in order and hands each frame's payload back
/// with its alpha (`None`: reuse the previous one), in order, once it is final.
pub struct Lookahead<T> {
    runner: FineRunner,
    both: bool,
    waiting: Vec<Waiting<T>>,
    /// A payload's selfie mask and frame.
    parts: fn(&T) -> (&[f32], &YuvFrame),
}

impl<T> Lookahead<T> {
    /// `parts`: where a payload keeps its selfie mask and its frame.
    pub fn new(opts: &MatteOptions, parts: fn(&T) -> (&[f32], &YuvFrame)) -> Self {
        Lookahead {
            runner: FineRunner::new(opts),
            both: opts.fine_carry == Carry::Both && opts.fine_every > 1,
            waiting: Vec::new(),
            parts,
        }
    }

    /// The runner's keyframe counts.
    pub fn runner(&self) -> &FineRunner {
        &self.runner
    }

    /// The next frame's payload (`model`: its selfie mask's size); returns the frames that
    /// are final now, oldest first (none while waiting for a keyframe).
    pub fn push(&mut self, item: T, model: (usize, usize)) -> Result<Vec<(T, Option<FineMatte>)>> {
        let (selfie, frame) = (self.parts)(&item);
        let step = self.runner.step(selfie, model, frame)?;
        match step {
            Step::Reused => Ok(vec![(item, None)]),
            Step::Carried(fine, luma) if self.both => {
                self.waiting.push(Waiting { item, fine, luma });
                Ok(Vec::new())
            }
            Step::Carried(fine, _) => Ok(vec![(item, Some(fine))]),
            Step::Key(key, why) => Ok(self.release(key, why, item)),
        }
    }

    /// The waiting frames, each blended with `key` (the new keyframe's alpha, `why` it is
    /// one) carried back to it, then the keyframe's own payload.
    fn release(&mut self, key: FineMatte, why: Why, item: T) -> Vec<(T, Option<FineMatte>)> {
        let across = !matches!(why, Why::SceneCut | Why::First);
        let gap = self.waiting.len() + 1;
        let mut out = Vec::with_capacity(gap);
        let key_luma = self.runner.key_luma();
        for (t, mut w) in self.waiting.drain(..).enumerate() {
            if let Some(kl) = key_luma.filter(|kl| {
                across && key.w > 0 && w.fine.w > 0 && (kl.w, kl.h) == (w.luma.w, w.luma.h)
            }) {
                let field = MotionField::estimate(kl, &w.luma, &key);
                let mut back = FineMatte::default();
                warp_onto(&key, &field, (w.fine.region, w.fine.w, w.fine.h), &mut back);
                blend(&mut w.fine, &back, (t + 1) as f32 / gap as f32);
            }
            out.push((w.item, Some(w.fine)));
        }
        out.push((item, Some(key)));
        out
    }

    /// The frames still waiting at the end of the clip: the last becomes a keyframe
    /// (`Why::End`) and the others are carried from both sides, as between any two.
    pub fn finish(&mut self, model: (usize, usize)) -> Result<Vec<(T, Option<FineMatte>)>> {
        let Some(last) = self.waiting.pop() else {
            return Ok(Vec::new());
        };
        let (selfie, frame) = (self.parts)(&last.item);
        let key = self
            .runner
            .keyframe(selfie, model, frame, last.luma, Why::End)?;
        Ok(self.release(key, Why::End, last.item))
    }
}
#[cfg(test)]
mod tests {
    use super::super::motion::tests::{ellipse_selfie, moving_scene};
    use super::*;

    type Item = (usize, Vec<f32>, YuvFrame);

    /// With `Both`, the frames between keyframes come back only when the next keyframe has
    /// run, in order, each with an alpha; the last ones at `finish`, which makes the last
    /// frame a keyframe.
    #[test]
    fn frames_wait_for_the_next_keyframe_and_come_back_in_order() {
        let opts = MatteOptions {
            fine_every: 3,
            fine_carry: Carry::Both,
            fine_long_side: 256,
            ..MatteOptions::default()
        };
        let mut la: Lookahead<Item> = Lookahead::new(&opts, |i: &Item| (&i.1[..], &i.2));
        let mut released = Vec::new();
        for t in 0..6 {
            let cx = 600.0 + 3.0 * t as f32;
            let item = (t, ellipse_selfie(cx, 360.0), moving_scene(cx, 360.0, 0.0));
            let out = la.push(item, (256, 144)).unwrap();
            released.push(
                out.iter()
                    .map(|(i, f)| (i.0, f.is_some()))
                    .collect::<Vec<_>>(),
            );
        }
        let rest: Vec<_> = la
            .finish((256, 144))
            .unwrap()
            .into_iter()
            .map(|(i, f)| (i.0, f.is_some()))
            .collect();
        assert_eq!(
            released,
            vec![
                vec![(0, true)],
                vec![],
                vec![],
                vec![(1, true), (2, true), (3, true)],
                vec![],
                vec![],
            ]
        );
        assert_eq!(rest, vec![(4, true), (5, true)]);
        // First, interval, end of clip.
        assert_eq!(la.runner().stats.keys, [1, 1, 0, 0, 0, 0, 1]);
        assert_eq!(la.runner().stats.carried, 4);
    }
}
