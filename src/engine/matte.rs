//! Matte refinement: segmentation mask → full-resolution alpha (edge-aware upsampling guided
//! by the frame, temporal smoothing, small-blob removal, feather).
// OWNER: matte/backdrop helper. Signatures are the contract other modules compile against.

/// Tunables, exposed on the CLI.
#[derive(Debug, Clone, PartialEq)]
pub struct MatteOptions {
    /// 0 = no temporal smoothing, 1 = maximal.
    pub temporal: f32,
    /// Feather radius in output pixels (0 = none).
    pub feather: f32,
    /// Guided-filter radius in output pixels.
    pub guided_radius: u32,
    /// Remove connected person blobs smaller than this fraction of the frame.
    pub min_blob: f32,
}

impl Default for MatteOptions {
    fn default() -> Self {
        MatteOptions {
            temporal: 0.5,
            feather: 0.0,
            guided_radius: 8,
            min_blob: 0.002,
        }
    }
}
