//! Bidirectional carry for the clip pipeline: the frames between two keyframes wait for the
//! second one, then each takes the first keyframe's alpha carried forward (`FineRunner`)
//! blended with the second's carried back to it by motion, weighted by the frame's distance
//! to each. The alpha thus arrives at the next keyframe's instead of jumping to it when
//! MODNet runs again (the pop a forward-only carry shows), and no frame is more than half an
//! interval from a keyframe's alpha. The carry back is checked like the forward one
//! (`keyframe::may_carry_back`: the backward field's residual and saturation, the frame's
//! |Δ luma| against the key); a frame that fails it, and every frame before a scene cut or a
//! change of frame size, keeps the forward carry. The clip's last frame is a keyframe when
//! frames wait for one; a stream that stops without a clean end (`abandon`) runs nothing
//! more. The frames held while waiting are capped by their size ([`HELD_BUDGET`]).

use super::fine::{FineRunner, Step};
use super::fuse::FineMatte;
use super::keyframe::{self, MotionEvidence, Why};
use super::motion::{Luma, MotionField};
use super::propagate::{blend, warp_onto};
use super::{Carry, MatteOptions};
use crate::engine::{Result, YuvFrame};

/// Bytes the frames waiting for a keyframe may hold (frame planes, selfie mask, carried
/// alpha, luma grids): 64 MiB, ≈ 10 frames at 1080p and 4 at 2160p. The interval shortens to
/// fit (at 4K, k = 30 would otherwise hold 29 frames, ≈ 400 MB, against the engine's
/// 300 MB peak-RSS bar of issue 23).
pub const HELD_BUDGET: usize = 64 << 20;

/// A frame waiting for the next keyframe: its payload, forward-carried alpha, luma grid.
struct Waiting<T> {
    item: T,
    fine: FineMatte,
    luma: Luma,
}

/// Bytes one waiting frame holds: `frame`'s planes, the selfie mask (f32), its luma grids
/// (`Luma::with_fine`), and an upper bound of its carried alpha (f32, `long_side`²).
pub fn held_bytes(frame: &YuvFrame, selfie: &[f32], long_side: usize) -> usize {
    let planes = frame.y.len() + frame.u.len() + frame.v.len();
    let alpha = frame.a.as_ref().map_or(0, Vec::len);
    let luma = Luma::bytes_with_fine(frame.width, frame.height);
    planes + alpha + luma + 4 * (selfie.len() + long_side * long_side)
}

/// Runs [`FineRunner`] over a clip's frames in order and hands each frame's payload back
/// with its alpha (`None`: reuse the previous one), in order, once it is final.
pub struct Lookahead<T> {
    runner: FineRunner,
    both: bool,
    long_side: usize,
    waiting: Vec<Waiting<T>>,
    /// Most frames waiting at once so far (for tests and the log).
    pub most_held: usize,
    /// A payload's selfie mask and frame.
    parts: fn(&T) -> (&[f32], &YuvFrame),
}

impl<T> Lookahead<T> {
    /// `parts`: where a payload keeps its selfie mask and its frame.
    pub fn new(opts: &MatteOptions, parts: fn(&T) -> (&[f32], &YuvFrame)) -> Self {
        Lookahead {
            runner: FineRunner::new(opts),
            both: opts.fine_carry == Carry::Both && opts.fine_every > 1,
            long_side: opts.fine_long_side as usize,
            waiting: Vec::new(),
            most_held: 0,
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
        if self.both {
            // At most this many frames wait: a keyframe is due one frame after.
            let held = (HELD_BUDGET / held_bytes(frame, selfie, self.long_side).max(1)).max(1);
            self.runner
                .cap_interval(u32::try_from(held + 1).unwrap_or(u32::MAX));
        }
        let step = self.runner.step(selfie, model, frame)?;
        match step {
            Step::Reused => Ok(vec![(item, None)]),
            Step::Carried(fine, luma) if self.both => {
                self.waiting.push(Waiting { item, fine, luma });
                self.most_held = self.most_held.max(self.waiting.len());
                Ok(Vec::new())
            }
            Step::Carried(fine, _) => Ok(vec![(item, Some(fine))]),
            Step::Key(key, why) => Ok(self.release(key, why, item)),
        }
    }

    /// The waiting frames, each blended with `key` (the new keyframe's alpha, `why` it is
    /// one) carried back to it where the backward motion passes the checks, then the
    /// keyframe's own payload.
    fn release(&mut self, key: FineMatte, why: Why, item: T) -> Vec<(T, Option<FineMatte>)> {
        let across = !matches!(why, Why::SceneCut | Why::First);
        let gap = self.waiting.len() + 1;
        let mut out = Vec::with_capacity(gap);
        let key_luma = self.runner.key_luma();
        let mut refused = 0;
        for (t, mut w) in self.waiting.drain(..).enumerate() {
            if let Some(kl) = key_luma.filter(|kl| {
                across && key.w > 0 && w.fine.w > 0 && (kl.w, kl.h) == (w.luma.w, w.luma.h)
            }) {
                let diff = w.luma.mean_abs_diff(kl);
                let field = (diff <= keyframe::SCENE_CUT)
                    .then(|| MotionField::estimate(kl, &w.luma, &key))
                    .filter(|f| {
                        let m = MotionEvidence {
                            residual: f.residual,
                            saturated: f.saturated,
                            outside: false,
                        };
                        keyframe::may_carry_back(m, diff)
                    });
                match field {
                    Some(field) => {
                        let mut back = FineMatte::default();
                        warp_onto(&key, &field, (w.fine.region, w.fine.w, w.fine.h), &mut back);
                        blend(&mut w.fine, &back, (t + 1) as f32 / gap as f32);
                    }
                    None => refused += 1,
                }
            }
            out.push((w.item, Some(w.fine)));
        }
        self.runner.stats.forward_only += refused;
        out.push((item, Some(key)));
        out
    }

    /// The frames still waiting at the clean end of the clip: the last becomes a keyframe
    /// (`Why::End`) and the others are carried from both sides, as between any two.
    pub fn finish(&mut self, model: (usize, usize)) -> Result<Vec<(T, Option<FineMatte>)>> {
        let Some(last) = self.waiting.pop() else {
            return Ok(Vec::new());
        };
        // It was counted as carried when it came; it is a keyframe now.
        self.runner.stats.carried -= 1;
        let (selfie, frame) = (self.parts)(&last.item);
        let key = self
            .runner
            .keyframe(selfie, model, frame, last.luma, Why::End)?;
        Ok(self.release(key, Why::End, last.item))
    }

    /// The stream stopped without a clean end (a cancel, or a stage upstream failed): the
    /// waiting frames are dropped unfinished, and MODNet does not run for them.
    pub fn abandon(&mut self) -> usize {
        let n = self.waiting.len();
        self.waiting.clear();
        n
    }
}
#[cfg(test)]
mod tests {
    use super::super::motion::tests::{ellipse_selfie, moving_scene};
    use super::*;

    type Item = (usize, Vec<f32>, YuvFrame);
    type Released = Vec<(usize, Option<FineMatte>)>;

    fn opts(every: u32, carry: Carry) -> MatteOptions {
        MatteOptions {
            fine_every: every,
            fine_carry: carry,
            fine_long_side: 256,
            ..MatteOptions::for_mode(crate::engine::matte::MatteMode::Quality)
        }
    }

    fn lookahead(every: u32, carry: Carry) -> Lookahead<Item> {
        Lookahead::new(&opts(every, carry), |i: &Item| (&i.1[..], &i.2))
    }

    /// The ellipse frame `t` at centre x `cx`.
    fn item(t: usize, cx: f32) -> Item {
        (t, ellipse_selfie(cx, 360.0), moving_scene(cx, 360.0, 0.0))
    }

    /// Pushes `items`, then finishes; each push's released frames (index, alpha), and the
    /// rest at `finish`.
    fn run(la: &mut Lookahead<Item>, items: Vec<Item>) -> (Vec<Released>, Released) {
        let strip = |v: Vec<(Item, Option<FineMatte>)>| -> Released {
            v.into_iter().map(|(i, f)| (i.0, f)).collect()
        };
        let pushed = items
            .into_iter()
            .map(|i| strip(la.push(i, (256, 144)).unwrap()))
            .collect();
        (pushed, strip(la.finish((256, 144)).unwrap()))
    }

    fn mean_abs(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
    }

    /// With `Both`, the frames between keyframes come back only when the next keyframe has
    /// run, in order, each with the forward carry blended with the next keyframe's carried
    /// back, by its distance to each; the last ones at `finish`, which makes the last frame
    /// a keyframe (counted once).
    #[test]
    fn frames_wait_for_the_next_keyframe_and_come_back_in_order() {
        let cx = |t: usize| 600.0 + 6.0 * t as f32;
        let items = || (0..6).map(|t| item(t, cx(t))).collect::<Vec<_>>();
        let mut la = lookahead(3, Carry::Both);
        let (pushed, rest) = run(&mut la, items());
        let order = |v: &Released| v.iter().map(|(t, f)| (*t, f.is_some())).collect::<Vec<_>>();
        assert_eq!(
            pushed.iter().map(order).collect::<Vec<_>>(),
            vec![
                vec![(0, true)],
                vec![],
                vec![],
                vec![(1, true), (2, true), (3, true)],
                vec![],
                vec![],
            ]
        );
        assert_eq!(order(&rest), vec![(4, true), (5, true)]);
        // First, interval, end of clip; every frame counted once.
        let stats = &la.runner().stats;
        assert_eq!(stats.keys, [1, 1, 0, 0, 0, 0, 1, 0]);
        assert_eq!(stats.carried, 3, "{stats:?}");
        // The blend: frames 1 and 2 are (1 − t/3)·forward + (t/3)·back, where forward is what
        // a forward-only carry gives them and back is keyframe 3's alpha carried back to
        // them; each differs from both.
        let mut fwd = lookahead(3, Carry::Forward);
        let (fpushed, _) = run(&mut fwd, items());
        let key3 = pushed[3][2].1.clone().unwrap();
        let mut acc = Vec::new();
        let key_luma = Luma::with_fine(&moving_scene(cx(3), 360.0, 0.0), &mut acc);
        for t in 1..3 {
            let forward = fpushed[t][0].1.as_ref().unwrap();
            let got = pushed[3][t - 1].1.as_ref().unwrap();
            let luma = Luma::with_fine(&moving_scene(cx(t), 360.0, 0.0), &mut acc);
            let field = MotionField::estimate(&key_luma, &luma, &key3);
            let mut back = FineMatte::default();
            warp_onto(
                &key3,
                &field,
                (forward.region, forward.w, forward.h),
                &mut back,
            );
            let w = t as f32 / 3.0;
            let want: Vec<f32> = forward
                .alpha
                .iter()
                .zip(&back.alpha)
                .map(|(f, b)| f + (b - f) * w)
                .collect();
            let off = mean_abs(&got.alpha, &want);
            assert!(off < 1e-6, "frame {t}: {off} off the blend");
            let (off_f, off_b) = (
                mean_abs(&got.alpha, &forward.alpha),
                mean_abs(&got.alpha, &back.alpha),
            );
            assert!(
                off_f > 1e-3 && off_b > 1e-3,
                "frame {t}: blended vs forward {off_f}, vs back {off_b}"
            );
        }
    }

    /// The person's alpha (the ellipse of `moving_scene` at `cx`) on `like`'s grid.
    fn truth(like: &FineMatte, cx: f32) -> Vec<f32> {
        let r = like.region;
        let (sx, sy) = (r.w as f32 / like.w as f32, r.h as f32 / like.h as f32);
        (0..like.w * like.h)
            .map(|i| {
                let x = r.x as f32 + ((i % like.w) as f32 + 0.5) * sx;
                let y = r.y as f32 + ((i / like.w) as f32 + 0.5) * sy;
                let (ex, ey) = ((x - cx) / 150.0, (y - 360.0) / 220.0);
                let d = ((ex * ex + ey * ey).sqrt() - 1.0) * 180.0;
                (0.5 - d / sx.max(1.0)).clamp(0.0, 1.0)
            })
            .collect()
    }

    /// The next keyframe is forced (the person jumps 60 px, past the search and out of the
    /// crop): its alpha cannot be carried back by motion, so the frame waiting before it
    /// keeps its forward carry instead of half of a misplaced alpha.
    #[test]
    fn a_key_forced_by_a_jump_is_not_carried_back() {
        let xs = [600.0, 603.0, 663.0, 666.0];
        let items = || {
            xs.iter()
                .enumerate()
                .map(|(t, &x)| item(t, x))
                .collect::<Vec<_>>()
        };
        let mut la = lookahead(4, Carry::Both);
        let (pushed, _) = run(&mut la, items());
        let stats = la.runner().stats.clone();
        assert_eq!(
            stats.keys[1..4],
            [0, 0, 0],
            "no interval, cut or motion: {stats:?}"
        );
        assert_eq!(
            stats.keys[0] + stats.keys[4],
            2,
            "first + the jump's: {stats:?}"
        );
        let got = pushed[2][0].1.clone().unwrap();
        assert_eq!(pushed[2][0].0, 1);
        let mut fwd = lookahead(4, Carry::Forward);
        let (fpushed, _) = run(&mut fwd, items());
        let forward = fpushed[1][0].1.clone().unwrap();
        let t = truth(&forward, xs[1]);
        let (err_got, err_fwd) = (mean_abs(&got.alpha, &t), mean_abs(&forward.alpha, &t));
        assert!(
            mean_abs(&got.alpha, &forward.alpha) < 1e-6,
            "blended with the jump's alpha: error {err_got} against forward-only {err_fwd}"
        );
    }

    /// At 2160p the frames held while waiting stay within the memory budget (64 MiB) even
    /// at a long interval: the interval shortens instead.
    #[test]
    fn held_frames_are_capped_by_their_size() {
        let (w, h) = (3840, 2160);
        let bytes = w * h * 3 / 2;
        let mut la = lookahead(30, Carry::Both);
        // Nobody in view: no MODNet runs, every frame between keyframes waits.
        let (mut held, mut most) = (0usize, 0usize);
        for t in 0..8 {
            let out = la
                .push((t, vec![0.0; 256 * 144], YuvFrame::new(w, h)), (256, 144))
                .unwrap();
            held = held + 1 - out.len();
            most = most.max(held);
        }
        assert!(
            most * bytes <= 64 << 20,
            "{most} frames of {bytes} bytes held"
        );
        assert!(most >= 1, "the carry still waits");
    }
}
