//! Integration tests: the real server on a random port, spoken to over HTTP (and the real
//! binary for the CLI). Backend: the embedded store, or PostgreSQL when
//! `ANLIEGEN_TEST_BACKEND=postgres` and `ANLIEGEN_TEST_DATABASE_URL` are set (`.ci/run` does).

mod api;
mod auth;
mod automations;
mod bad_input;
mod calendar;
mod cli;
mod concerns;
mod helpers;
mod idempotency;
mod mail;
mod ops;
mod promises;
mod search;
mod sla;
mod ui_browser;
mod ui_http;
