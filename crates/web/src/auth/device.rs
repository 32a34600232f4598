//! Devices a person logged in from before: the `__Host-sportello_device` cookie, or the API's device token, which
//! decide in which bucket a wrong PIN is counted (docs/SECURITY.md, "Login").
//!
//! Wrong PINs from a browser a person has logged in from are counted in that browser's own bucket; all others in the
//! person's [`STRANGERS`] bucket. So a stranger who types five wrong PINs for someone locks only the strangers out,
//! and the person goes on logging in from their own browser or app.
//!
//! The value is a random device id followed, for each person who logged in with it (at most [`MAX_PEOPLE`], the
//! latest first), by a tag: HMAC-SHA256 under the portal's key of the id and the person's codice fiscale. Nothing
//! personal can be read from it; a tag is valid for one person and one id only, so a stranger can neither forge one
//! nor use their own device's tag for somebody else.

use axum::http::HeaderValue;
use sportello_domain::CodiceFiscale;
use sportello_store::STRANGERS;

use super::csrf::{Binding, CsrfKey};
use super::session::random_hex;
use crate::error::AuthError;

/// The device cookie. `__Host-` so that no sibling domain can plant one; `SameSite=Strict` since only the portal's
/// own login form needs it.
pub const DEVICE_COOKIE: &str = "__Host-sportello_device";

/// How many people one device remembers (a household sharing a computer).
pub const MAX_PEOPLE: usize = 4;

/// How long a browser keeps the cookie: 400 days, the most browsers allow.
const LIFETIME_SECS: u64 = 400 * 24 * 3600;

/// Length of a device id (128 bits in hex) and of a tag (256 bits in hex).
const ID_LEN: usize = 32;
const TAG_LEN: usize = 64;

/// The longest value looked at: an id and [`MAX_PEOPLE`] tags with their dots.
pub const MAX_VALUE_LEN: usize = ID_LEN + MAX_PEOPLE * (TAG_LEN + 1);

/// A device as its cookie or token presents it: its id and the tags of the people who logged in with it.
#[derive(Clone, PartialEq, Eq)]
pub struct Device {
    id: String,
    tags: Vec<String>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device").field("people", &self.tags.len()).finish_non_exhaustive()
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Device {
    /// Reads a presented value: `<id>.<tag>…`; `None` for anything else (then the client is a stranger).
    pub fn parse(value: &str) -> Option<Self> {
        if value.len() > MAX_VALUE_LEN {
            return None;
        }
        let mut parts = value.trim().split('.');
        let id = parts.next().filter(|id| is_hex(id, ID_LEN))?.to_ascii_lowercase();
        let tags: Vec<String> = parts.map(str::to_owned).collect();
        (tags.len() <= MAX_PEOPLE && tags.iter().all(|t| is_hex(t, TAG_LEN))).then_some(Device { id, tags })
    }

    /// The bucket a wrong PIN for `codice_fiscale` from this device counts in: the device's own if the person
    /// logged in with it before, else [`STRANGERS`].
    pub fn bucket<'a>(device: Option<&'a Self>, key: &CsrfKey, codice_fiscale: &CodiceFiscale) -> &'a str {
        device
            .filter(|d| {
                let binding = tag_input(&d.id, codice_fiscale);
                d.tags.iter().any(|tag| key.verify(Binding::Device(&binding), tag))
            })
            .map_or(STRANGERS, |d| d.id.as_str())
    }

    /// The device after `codice_fiscale` logged in with it: the same id (a new one for a client without a device),
    /// the person's tag first, at most [`MAX_PEOPLE`] people.
    pub fn remembering(device: Option<Self>, key: &CsrfKey, codice_fiscale: &CodiceFiscale) -> Result<Self, AuthError> {
        let mut device = match device {
            Some(device) => device,
            None => Device { id: random_hex()?, tags: Vec::new() },
        };
        let tag = key.token(Binding::Device(&tag_input(&device.id, codice_fiscale)));
        device.tags.retain(|t| !t.eq_ignore_ascii_case(&tag));
        device.tags.insert(0, tag);
        device.tags.truncate(MAX_PEOPLE);
        Ok(device)
    }

    /// The value to hand back: the cookie's value, or the API's device token.
    pub fn value(&self) -> String {
        std::iter::once(self.id.as_str()).chain(self.tags.iter().map(String::as_str)).collect::<Vec<_>>().join(".")
    }
}

fn tag_input(id: &str, codice_fiscale: &CodiceFiscale) -> String {
    format!("{id}:{codice_fiscale}")
}

/// The `Set-Cookie` value of the device cookie: long-lived, `Secure`, `HttpOnly`, `SameSite=Strict`.
pub fn set_device_cookie(device: &Device) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECS}",
        device.value()
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cf(s: &str) -> CodiceFiscale {
        CodiceFiscale::with_check_character(s).unwrap()
    }

    #[test]
    fn a_device_is_recognised_only_for_the_people_who_logged_in_with_it() {
        let key = CsrfKey::generate().unwrap();
        let (me, other) = (cf("RSSMRA80A01H501"), cf("BNCNNA50A41F205"));
        let mine = Device::remembering(None, &key, &me).unwrap();
        let parsed = Device::parse(&mine.value()).unwrap();
        assert_eq!(Device::bucket(Some(&parsed), &key, &me), mine.id, "the owner's device counts apart");
        assert_eq!(Device::bucket(Some(&parsed), &key, &other), STRANGERS, "not for someone else");
        assert_eq!(Device::bucket(None, &key, &me), STRANGERS, "no device");
        let other_key = CsrfKey::generate().unwrap();
        assert_eq!(Device::bucket(Some(&parsed), &other_key, &me), STRANGERS, "another portal's key");
        // A stranger's own device, with its tag moved onto another id, is no one's.
        let stranger = Device::remembering(None, &key, &other).unwrap();
        let forged = Device { id: mine.id.clone(), tags: stranger.tags.clone() };
        assert_eq!(Device::bucket(Some(&forged), &key, &other), STRANGERS);
    }

    #[test]
    fn a_shared_device_remembers_the_latest_four_people() {
        let key = CsrfKey::generate().unwrap();
        let people: Vec<_> =
            ["RSSMRA80A01H501", "BNCNNA50A41F205", "VRDGPP70B02L219", "BNCLGU75C12F205", "RSSMRA80A01H502"]
                .map(cf)
                .to_vec();
        let mut device = None;
        for person in &people {
            device = Some(Device::remembering(device, &key, person).unwrap());
        }
        let again = Device::remembering(device, &key, &people[2]).unwrap();
        assert_eq!(again.tags.len(), MAX_PEOPLE, "{again:?}");
        let recognised: Vec<bool> = people.iter().map(|p| Device::bucket(Some(&again), &key, p) != STRANGERS).collect();
        assert_eq!(recognised, [false, true, true, true, true], "the first one fell out");
        assert!(Device::parse(&again.value()).is_some(), "the longest value still parses");
    }

    #[test]
    fn anything_but_an_id_and_tags_is_no_device() {
        for value in ["", "abc", &"g".repeat(32), &format!("{}.{}", "a".repeat(32), "b".repeat(63))] {
            assert_eq!(Device::parse(value), None, "{value}");
        }
        assert!(Device::parse(&"a".repeat(32)).is_some(), "an id whose people all fell out");
    }
}
