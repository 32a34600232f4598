//! The portal over real HTTP: each test starts the server on port 0 with a fresh database.

mod access;
mod api;
mod apply;
mod assets;
mod auth;
mod caching;
mod contact_center;
mod declarations;
mod federation;
mod gate;
mod holding;
mod intermediaries;
mod journey;
mod letters;
mod lockout;
mod logs;
mod notices;
mod office;
mod outage;
mod public;
mod receipts;
mod shed;
mod spid_reference;
mod support;
mod takeover;
mod test_federation;
