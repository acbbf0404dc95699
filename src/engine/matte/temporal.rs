//! Temporal smoothing of the coarse mask: a per-pixel exponential moving average whose
//! weight on the past drops where the frame (guide luma) or the mask itself changed a lot,
//! so static regions stop flickering while moving edges follow at once (no ghost trails).
//! A scene cut (large mean luma change) resets the history.

pub struct Temporal {
    prev_mask: Vec<f32>,
    prev_guide: Vec<f32>,
    primed: bool,
}

/// Luma change (0..1 units, on the box-averaged guide) at which the past is ignored.
const LUMA_CUTOFF: f32 = 0.06;
/// Mask change at which the past is ignored (a real edge moving, not flicker).
const MASK_CUTOFF: f32 = 0.7;
/// Mean absolute guide change that counts as a scene cut.
const SCENE_CUT: f32 = 0.12;

impl Temporal {
    pub fn new(n: usize) -> Self {
        Temporal {
            prev_mask: vec![0.0; n],
            prev_guide: vec![0.0; n],
            primed: false,
        }
    }

    pub fn reset(&mut self) {
        self.primed = false;
    }

    /// Smooth `mask` in place against the history; `strength` in [0,1] (0 = off).
    pub fn smooth(&mut self, guide: &[f32], mask: &mut [f32], strength: f32) {
        let n = mask.len();
        let strength = strength.clamp(0.0, 1.0);
        if self.primed && strength > 0.0 {
            let change: f32 = guide
                .iter()
                .zip(&self.prev_guide)
                .map(|(a, b)| (a - b).abs())
                .sum::<f32>()
                / n.max(1) as f32;
            if change < SCENE_CUT {
                // Weight on the past: at most 0.9 (a ~10-frame memory) at full strength.
                let wmax = 0.9 * strength;
                for ((m, pm), (g, pg)) in mask
                    .iter_mut()
                    .zip(&self.prev_mask)
                    .zip(guide.iter().zip(&self.prev_guide))
                {
                    let gl = (1.0 - (g - pg).abs() * (1.0 / LUMA_CUTOFF)).max(0.0);
                    let gm = (1.0 - (*m - pm).abs() * (1.0 / MASK_CUTOFF)).max(0.0);
                    let w = wmax * gl * gl * gm;
                    *m += w * (pm - *m);
                }
            }
        }
        self.prev_mask.copy_from_slice(mask);
        self.prev_guide.copy_from_slice(guide);
        self.primed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_scene_flicker_is_damped() {
        let n = 100;
        let guide = vec![0.5f32; n];
        let mut t = Temporal::new(n);
        let mut first = vec![0.5f32; n];
        t.smooth(&guide, &mut first, 1.0);
        let mut spread = 0.0f32;
        for k in 0..20 {
            let mut m = vec![if k % 2 == 0 { 0.7 } else { 0.3 }; n];
            t.smooth(&guide, &mut m, 1.0);
            if k > 10 {
                spread = spread.max((m[0] - 0.5).abs());
            }
        }
        // Raw ±0.2 flicker comes out well under half of that.
        assert!(spread < 0.08, "spread {spread}");
    }

    #[test]
    fn moving_edges_follow_immediately() {
        let n = 10;
        let mut t = Temporal::new(n);
        let mut m = vec![0.0f32; n];
        t.smooth(&vec![0.2; n], &mut m, 1.0);
        // The frame changed (a person moved in) and the mask jumped: no ghost of the past.
        let mut m = vec![1.0f32; n];
        t.smooth(
            &vec![0.6; n - 5]
                .into_iter()
                .chain(vec![0.2; 5])
                .collect::<Vec<_>>(),
            &mut m,
            1.0,
        );
        assert!(m[..5].iter().all(|&v| v > 0.99));
        // Where the luma did not change the mask moved by 1.0 > MASK_CUTOFF: also no ghost.
        assert!(m[5..].iter().all(|&v| v > 0.99));
    }

    #[test]
    fn strength_zero_is_identity() {
        let mut t = Temporal::new(4);
        let mut a = vec![0.1, 0.2, 0.3, 0.4];
        t.smooth(&[0.5; 4], &mut a, 0.0);
        let mut b = vec![0.9, 0.8, 0.7, 0.6];
        t.smooth(&[0.5; 4], &mut b, 0.0);
        assert_eq!(b, vec![0.9, 0.8, 0.7, 0.6]);
    }
}
