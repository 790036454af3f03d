//! Black-box tests on SQLite: each starts the real server on a random port with its own SQLite
//! file and a real SMTP listener on 127.0.0.1, then talks HTTP to it as a client would.
//! `tests/postgres/` runs the same stories against PostgreSQL.

mod account;
mod auth;
mod bad_input;
mod busy;
mod changes;
mod client_address;
// Shared by both test binaries, which each use a part.
#[allow(dead_code)]
mod database;
// A tmpfs to fill up; SQLite stories only (see full_disk.rs).
#[allow(dead_code)]
mod disk;
mod events;
mod filters;
mod full_disk;
mod hardening;
mod headers;
#[allow(dead_code)]
mod helpers;
mod kept_answers;
mod openapi;
mod quotas;
mod requests;
mod reset_mail;
mod retries;
mod sort;
mod sqlite_file;
mod sse;
mod startup;
mod tasks;
mod versions;

/// The engine every story in this binary runs on.
const ENGINE: database::Engine = database::Engine::Sqlite;
