//! The waiting room's address: its query (where to go back to, the language, the no-JavaScript path, the room),
//! and the URLs built from it — the page again, the page in the other language, the way in for a visitor sent
//! here by the gate.

use serde::Deserialize;
use sportello_gate::RoomId;

use crate::gate::GateApp;
use crate::i18n::Lang;

/// The waiting room's query: where to go back to, the language, the no-JavaScript path, the room.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct WaitQuery {
    /// The page the visitor asked for (a local path).
    #[serde(default)]
    pub dopo: Option<String>,
    /// `en` for English.
    #[serde(default)]
    pub lang: Option<String>,
    /// Present: the visitor has no JavaScript, and waits instead of solving the proof of work.
    #[serde(default)]
    pub senza_js: Option<String>,
    /// The room's key, for clients that name it rather than a path.
    #[serde(default)]
    pub stanza: Option<String>,
    /// `dopo` once checked against the route table ([`WaitQuery::checked`]); never read from the query.
    #[serde(skip)]
    back: Option<String>,
}

impl WaitQuery {
    pub(super) fn lang(&self) -> Lang {
        match self.lang.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::It,
        }
    }

    /// This query with `dopo` checked against the pages `app` may send a visitor back to.
    pub(super) fn checked(mut self, app: &GateApp) -> Self {
        self.back = Some(app.return_paths.check(self.dopo.as_deref()));
        self
    }

    /// The page to return to: `dopo` if [`WaitQuery::checked`] found it a page of the portal, else the home page.
    pub(super) fn back(&self) -> String {
        self.back.clone().unwrap_or_else(|| "/".to_owned())
    }

    pub(super) fn room(&self, app: &GateApp) -> Option<RoomId> {
        let config = app.gate.config();
        match &self.stanza {
            Some(key) => config.room_by_key(key).map(|r| r.id),
            None => {
                let back = self.back();
                let path = back.split('?').next().unwrap_or("/");
                app.gate.room_for_path(path).or_else(|| config.rooms.first().map(|r| r.id))
            }
        }
    }

    /// This waiting room's URL in the other language.
    pub(super) fn switch(&self) -> String {
        let other = Self { lang: Some(self.lang().other().tag().to_owned()), ..self.clone() };
        other.again(self.senza_js.is_some())
    }

    /// This waiting room's URL again (what the page refreshes to).
    pub(super) fn again(&self, no_js: bool) -> String {
        let mut url = format!("/attesa?dopo={}", encode(&self.back()));
        if let Some(key) = &self.stanza {
            url.push_str(&format!("&stanza={}", encode(key)));
        }
        if no_js {
            url.push_str("&senza_js=1");
        }
        if self.lang() == Lang::En {
            url.push_str("&lang=en");
        }
        url
    }
}

/// The waiting room's URL for a visitor who asked for `back`, in the language `back` was in.
pub fn waiting_room_url(back: &str) -> String {
    let english = back.split_once('?').is_some_and(|(_, q)| q.split('&').any(|p| p == "lang=en"));
    format!("/attesa?dopo={}{}", encode(back), if english { "&lang=en" } else { "" })
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub(super) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
