//! Typed errors of the model runtime: malformed files, unsupported graphs, shape mismatches.
//! They surface as `engine::Error::Model` with the message kept.

/// Why a model could not be loaded or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error(
        "the model file is malformed or truncated ({what} at byte {offset}); use one of the embedded models"
    )]
    Malformed { what: &'static str, offset: usize },

    #[error("the model is not supported: {0}")]
    Unsupported(String),

    #[error("operator {index} ({op}): {what} has shape {got:?}, expected {expected:?}")]
    Shape {
        op: &'static str,
        index: usize,
        what: &'static str,
        expected: Vec<usize>,
        got: Vec<usize>,
    },

    #[error("input has {got} values, the model expects {expected} ({what})")]
    InputSize {
        what: &'static str,
        expected: usize,
        got: usize,
    },
}

impl ModelError {
    #[cold]
    pub fn unsupported(msg: impl Into<String>) -> Self {
        ModelError::Unsupported(msg.into())
    }
}

impl From<ModelError> for crate::engine::Error {
    #[cold]
    fn from(e: ModelError) -> Self {
        crate::engine::Error::Model(e.to_string())
    }
}
