//! The black-box stories of `tests/api/` again, on PostgreSQL: each test gets a fresh database
//! on a throwaway server this binary starts (or on `LISTO_TEST_POSTGRES`). Then what only
//! PostgreSQL offers: several listo processes on one database, and `listo copy`.

#[path = "../api/account.rs"]
mod account;
#[path = "../api/auth.rs"]
mod auth;
#[path = "../api/bad_input.rs"]
mod bad_input;
#[path = "../api/busy.rs"]
mod busy;
#[path = "../api/changes.rs"]
mod changes;
#[path = "../api/client_address.rs"]
mod client_address;
// Shared by both test binaries, which each use a part.
#[allow(dead_code)]
#[path = "../api/database.rs"]
mod database;
#[path = "../api/events.rs"]
mod events;
#[path = "../api/filters.rs"]
mod filters;
#[path = "../api/hardening.rs"]
mod hardening;
#[path = "../api/headers.rs"]
mod headers;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/kept_answers.rs"]
mod kept_answers;
#[path = "../api/openapi.rs"]
mod openapi;
#[path = "../api/quotas.rs"]
mod quotas;
#[path = "../api/requests.rs"]
mod requests;
#[path = "../api/reset_mail.rs"]
mod reset_mail;
#[path = "../api/retries.rs"]
mod retries;
#[path = "../api/sort.rs"]
mod sort;
#[path = "../api/sse.rs"]
mod sse;
#[path = "../api/tasks.rs"]
mod tasks;
#[path = "../api/versions.rs"]
mod versions;

mod cluster;
mod connect;
mod copy;
mod reset_mail_race;
mod restart;

/// The engine every story in this binary runs on.
const ENGINE: database::Engine = database::Engine::Postgres;
