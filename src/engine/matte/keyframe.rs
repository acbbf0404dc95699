//! When the quality matte runs MODNet (a keyframe) rather than carrying the last keyframe's
//! alpha forward by motion (`propagate`): every `fine_every`-th frame, and sooner at a scene
//! cut, at motion the block search cannot follow, when the people leave the keyframe's crop,
//! or when the carried alpha and the current selfie mask stop agreeing.

/// Mean |Δ luma| over the whole grid (0–1) from which the picture counts as a new shot.
pub const SCENE_CUT: f32 = 0.10;
/// Mean absolute luma residual after motion matching (0–1) above which the motion does not
/// explain the frame (new content, lighting change, blur).
pub const MAX_RESIDUAL: f32 = 0.045;
/// Fraction of searched blocks whose match lies on the search window's rim above which the
/// motion may exceed the search.
pub const MAX_SATURATED: f32 = 0.05;
/// Drop in IoU (carried alpha vs the selfie mask, at 0.5) since the keyframe above which
/// the carried alpha has drifted from the person.
pub const MAX_AGREEMENT_DROP: f32 = 0.03;

/// Why a frame is a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Why {
    /// No keyframe yet (first frame of the clip or after a size change).
    First,
    /// `fine_every` frames since the last keyframe.
    Interval,
    /// The picture changed as a whole.
    SceneCut,
    /// The block search could not explain the frame (too fast, or new content).
    Motion,
    /// The people reach outside the keyframe's crop.
    Region,
    /// The carried alpha drifted from the selfie mask.
    Disagree,
    /// The clip's last frame, when frames wait for a keyframe (`tween`): they are then
    /// carried from both sides, not forward only.
    End,
    /// The last MODNet run's crop was dark (`rescue::DARK_LUMA`): in low light the
    /// sensor noise swamps the luma the block search matches, so every frame gets MODNet's
    /// own alpha (at the rescue's size) instead of a carry (issue 23 round 10: carried
    /// frames of the low-light clip kept translucent patches of background).
    Dark,
}

/// What the cheap checks saw on a frame after the last keyframe.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence {
    /// Frames since the keyframe (1 = the next frame).
    pub since: u32,
    /// Mean |Δ luma| against the keyframe, whole grid (0–1).
    pub scene_diff: f32,
}

/// The checks that need the motion field.
#[derive(Debug, Clone, Copy, Default)]
pub struct MotionEvidence {
    pub residual: f32,
    pub saturated: f32,
    /// The people's box lies outside the keyframe's crop.
    pub outside: bool,
}

/// A keyframe is due before motion is estimated (scene cut, interval). The cut is checked
/// first: a cut that lands on the interval's frame must still say so, or `tween` would blend
/// the frames waiting before it with the other shot's alpha.
pub fn due_before_motion(every: u32, e: Evidence) -> Option<Why> {
    if e.scene_diff > SCENE_CUT {
        Some(Why::SceneCut)
    } else if e.since >= every.max(1) {
        Some(Why::Interval)
    } else {
        None
    }
}

/// A keyframe is due given the motion field.
pub fn due_after_motion(m: MotionEvidence) -> Option<Why> {
    if m.outside {
        Some(Why::Region)
    } else if m.residual > MAX_RESIDUAL || m.saturated > MAX_SATURATED {
        Some(Why::Motion)
    } else {
        None
    }
}

/// Whether the next keyframe's alpha may be carried back by motion to a frame waiting
/// before it (`tween`): the backward field (`m`, estimated from the key to the frame) passes
/// the same motion checks as a forward carry (residual, saturation; the region test does
/// not apply), and the frame's whole-grid |Δ luma| against the key (`scene_diff`) is no
/// scene cut. A key forced by motion, or a cut between similar shots (which arrives as
/// `Why::Motion`), otherwise blends the waiting frames with an alpha the motion does not
/// explain.
pub fn may_carry_back(m: MotionEvidence, scene_diff: f32) -> bool {
    scene_diff <= SCENE_CUT
        && due_after_motion(MotionEvidence {
            outside: false,
            ..m
        })
        .is_none()
}

/// A keyframe is due given the carried alpha's IoU with the selfie mask now (`now`) and at
/// the keyframe (`at_key`).
pub fn due_after_warp(at_key: f32, now: f32) -> Option<Why> {
    (at_key - now > MAX_AGREEMENT_DROP).then_some(Why::Disagree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_and_each_trigger_force_a_keyframe() {
        let quiet = Evidence {
            since: 1,
            scene_diff: 0.01,
        };
        assert_eq!(due_before_motion(3, quiet), None);
        assert_eq!(
            due_before_motion(3, Evidence { since: 3, ..quiet }),
            Some(Why::Interval)
        );
        assert_eq!(
            due_before_motion(
                3,
                Evidence {
                    scene_diff: 0.3,
                    ..quiet
                }
            ),
            Some(Why::SceneCut)
        );
        // A cut on the interval's frame is a cut: the frames waiting before it must not
        // be blended with the new shot (`tween` carries across only from non-cut keys).
        assert_eq!(
            due_before_motion(
                3,
                Evidence {
                    since: 3,
                    scene_diff: 0.3,
                }
            ),
            Some(Why::SceneCut)
        );
        let still = MotionEvidence::default();
        assert_eq!(due_after_motion(still), None);
        assert_eq!(
            due_after_motion(MotionEvidence {
                saturated: 0.2,
                ..still
            }),
            Some(Why::Motion)
        );
        assert_eq!(
            due_after_motion(MotionEvidence {
                outside: true,
                ..still
            }),
            Some(Why::Region)
        );
        // Carrying back: the backward field's checks, not the region.
        assert!(may_carry_back(still, 0.02));
        assert!(may_carry_back(
            MotionEvidence {
                outside: true,
                ..still
            },
            0.02
        ));
        assert!(!may_carry_back(
            MotionEvidence {
                residual: 0.08,
                ..still
            },
            0.02
        ));
        assert!(!may_carry_back(
            MotionEvidence {
                saturated: 0.2,
                ..still
            },
            0.02
        ));
        assert!(!may_carry_back(still, 0.15));
        assert_eq!(due_after_warp(0.95, 0.94), None);
        assert_eq!(due_after_warp(0.95, 0.85), Some(Why::Disagree));
    }
}
