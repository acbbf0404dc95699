//! One integration-test binary; modules by theme.
mod segment;
