//! The replica's lease: one writer per replica (issue 28). Not wired into `listo serve` yet.

pub mod file;
pub mod holder;
pub mod lease;
pub mod s3;
pub mod target;
