//! Black-box tests: each starts the real server on a random port with its own SQLite file and
//! a real SMTP listener on 127.0.0.1, then talks HTTP to it as a client would.

mod auth;
mod bad_input;
mod hardening;
mod headers;
mod helpers;
mod openapi;
mod requests;
mod sort;
mod startup;
mod tasks;
