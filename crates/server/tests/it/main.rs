//! Hangar's integration tests: one binary whose folders mirror the routes. Every test runs
//! on SQLite, and on PostgreSQL when `HANGAR_TEST_DATABASE_URL` names a server.

mod auth_matrix;
mod bad_requests;
mod files;
mod hardening;
mod mlflow;
mod ops;
mod store;
mod support;
mod v4;
mod web;
mod web_experiments;
mod web_models;
mod web_prompts;
mod web_settings;
