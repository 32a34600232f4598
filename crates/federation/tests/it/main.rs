//! The relying party's checks against tokens and statements signed here with test keys: each way a stranger could
//! pose as someone (docs/SECURITY.md, "SPID and CIE…") refused by its own test.

mod chain;
mod provider;
mod tokens;
mod userinfo;
