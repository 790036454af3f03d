//! The black-box suite, one test binary: each story starts the real server on a random port with
//! a real SMTP listener on 127.0.0.1, then talks HTTP to it as a client would. Each file lists
//! its stories once in `stories!`, which runs each on the engines it names: tests are named
//! `<file>::sqlite::<story>` and `<file>::postgres::<story>` (`cargo test sqlite::`,
//! `cargo test postgres::`). PostgreSQL stories skip, with one line saying so, where no server
//! can be found (see `support::postgres`).

mod support;

// On both engines.
mod account;
mod auth;
mod bad_input;
mod busy;
mod changes;
mod client_address;
mod events;
mod filters;
mod hardening;
mod headers;
mod kept_answers;
mod list_feeds;
mod lists;
mod login_limits;
mod openapi;
mod order_refusals;
mod pages;
mod quotas;
mod refresh;
mod requests;
mod reset_mail;
mod retries;
mod sort;
mod task_fields;
mod tasks;
mod tickets;
mod versions;

// The replica lease, through the library (S3 stories need LISTO_TEST_S3).
mod lease;

// `listo serve` with LISTO_REPLICA: real processes, Litestream, moto (LISTO_TEST_LITESTREAM,
// LISTO_TEST_S3).
mod replica;

// SQLite only: the file itself, a full disk, the binary's start-up.
mod full_disk;
mod lists_migration;
mod sqlite_file;
mod startup;

// PostgreSQL only: several processes on one database, `listo copy`, the server going away.
mod cluster;
mod cluster_lists;
mod connect;
mod copy;
mod copy_lists;
mod reset_mail_race;
mod restart;
