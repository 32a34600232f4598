//! The portal over real HTTP: each test starts the server on port 0 with a fresh database.

mod apply;
mod auth;
mod public;
mod support;
