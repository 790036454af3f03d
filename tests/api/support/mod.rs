//! What the stories stand on; each module owns one thing. Stories `use crate::support::*` for
//! the everyday part (re-exported here) and name the rest by its module.

pub mod app;
pub mod assertions;
pub mod client;
pub mod database;
pub mod disk;
pub mod engine;
pub mod lists;
pub mod logs;
pub mod postgres;
pub mod previous_release;
pub mod process;
pub mod replica;
pub mod smtp;
pub mod sse;

pub use app::{TestApp, spawn_app, spawn_app_with, test_config};
pub use assertions::*;
pub use client::*;
pub use engine::Engine;
pub(crate) use engine::stories;
pub use logs::{captured_logs, line_logging};
pub use smtp::*;
