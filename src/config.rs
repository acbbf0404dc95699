//! Settings from flags and environment variables, resolved once at startup.
