//! Build-time only: see this crate's `Cargo.toml`. It has no code.
