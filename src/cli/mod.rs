//! CLI helpers of the binary: one file per command.

pub mod serve;
