//! Signed tokens: the waiting visitor's [`Ticket`], the admitted visitor's [`Pass`] and the proof-of-work
//! [`Challenge`]. A token is all the server knows about a waiting visitor, so waiting costs it no memory.
//!
//! Wire form (then base64url without padding): `header (version << 4 | kind) · key id · payload · tag`, where the
//! tag is HMAC-SHA256 over everything before it, truncated to 128 bits (NIST SP 800-107 allows truncation to 64
//! bits and more; 128 keeps forgery out of reach while the token stays short enough for a cookie). Times are whole
//! seconds since the Unix epoch in a `u32` (good until 2106); integers are little-endian. The key id lets an
//! operator rotate keys: new tokens are signed with the current key, tokens signed with an older key that is still
//! listed keep verifying until they expire.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac as _};
use rand::TryRng as _;
use serde::{Deserialize, Serialize};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// Longer strings are refused before decoding; every token kind is well under it.
const MAX_TOKEN_CHARS: usize = 160;
/// A signing key must have at least this many bytes (the HMAC-SHA256 output size).
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Ticket = 1,
    Pass = 2,
    Challenge = 3,
    /// Not a token: the domain of [`Signer::pass_id`]'s derivation.
    PassIdDerivation = 15,
}

/// A room's index in the gate's configuration (the order of `[[rooms]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoomId(pub u8);

/// One opening of a room, named by its opening instant in seconds since the Unix epoch. Each opening has its own
/// queue, pre-queue and draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WindowId(pub u32);

impl WindowId {
    /// The window opening at `opens_at` (to the second), or `None` outside 1970–2106.
    pub fn opening_at(opens_at: DateTime<Utc>) -> Option<Self> {
        u32::try_from(opens_at.timestamp()).ok().map(Self)
    }

    /// When this window opens.
    pub fn opens_at(self) -> DateTime<Utc> {
        from_secs(self.0)
    }
}

impl fmt::Display for WindowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A pass's 128-bit identifier, shown as 32 lowercase hex digits (what an operator passes to revoke it).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PassId(pub [u8; 16]);

impl fmt::Display for PassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PassId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassId({self})")
    }
}

impl FromStr for PassId {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut id = [0u8; 16];
        hex::decode_to_slice(s.trim(), &mut id).map_err(|_| TokenError::Malformed("a pass id is 32 hex digits"))?;
        Ok(Self(id))
    }
}

/// A place in a room's queue. Re-signed at every refresh with a new `issued_at`, `refresh_by` and `promise`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// The room queued for.
    pub room: RoomId,
    /// The opening queued for; the place ends with it.
    pub window: WindowId,
    /// Arrival number: the pre-queue index when `pre_queue`, else the place in the queue itself.
    pub seq: u64,
    /// Arrived before the opening: the place is `draw::position(seed, n, seq)` once the draw is revealed.
    pub pre_queue: bool,
    /// Came through the no-JavaScript path (waited instead of solving the proof of work).
    pub no_js: bool,
    /// When this token was signed (the last refresh), whole seconds.
    pub issued_at: DateTime<Utc>,
    /// The place is given up if the visitor has not refreshed by then.
    pub refresh_by: DateTime<Utc>,
    /// The admission time last shown to the visitor; a later estimate may only be earlier.
    pub promise: Option<DateTime<Utc>>,
}

/// An admitted visitor's right to use the protected service until `expires_at`, unless revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pass {
    /// The room admitted to.
    pub room: RoomId,
    /// Unique id, for revocation.
    pub pass_id: PassId,
    /// When it was granted.
    pub admitted_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
}

/// A proof-of-work challenge offered before a ticket is issued (see [`crate::pow`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The room it lets the visitor join.
    pub room: RoomId,
    /// Leading zero bits the solution's hash needs; 0 on the no-JavaScript path, which waits instead.
    pub difficulty: u8,
    /// Makes the challenge unique; also its id against replay.
    pub salt: [u8; 16],
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// It cannot be redeemed before (the no-JavaScript path's wait).
    pub not_before: DateTime<Utc>,
    /// It cannot be redeemed after.
    pub expires_at: DateTime<Utc>,
    /// Issued for the no-JavaScript path.
    pub no_js: bool,
}

/// Why a token was refused. Deliberately coarse: a client learns nothing useful for forging.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not base64url, wrong length or impossible field values.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// A token of another kind or version (a pass presented as a ticket, say).
    #[error("not a {0} token")]
    WrongKind(&'static str),
    /// Signed with a key this server does not hold (retired, or another deployment's).
    #[error("token signed with unknown key id {0}")]
    UnknownKey(u8),
    /// The signature does not match: tampered or forged.
    #[error("token signature does not match")]
    BadSignature,
    /// A time outside what a token can carry (1970–2106).
    #[error("time {0} cannot be carried in a token")]
    TimeOutOfRange(DateTime<Utc>),
}

/// A key that cannot sign.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Too few bytes.
    #[error("gate signing key {id} has {len} bytes; it needs at least {MIN_KEY_BYTES} random bytes")]
    TooShort {
        /// The key id.
        id: u8,
        /// Its length.
        len: usize,
    },
    /// The same key id given twice.
    #[error("gate signing key id {0} is listed twice")]
    DuplicateId(u8),
    /// The system random source failed.
    #[error("cannot draw a random gate key: {0}")]
    Rng(String),
}

/// Signs and verifies the gate's tokens with HMAC-SHA256; holds the current key and any older ones still accepted.
#[derive(Clone)]
pub struct Signer {
    current: u8,
    keys: Vec<(u8, HmacSha256)>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("Signer").field("current", &self.current).field("key_ids", &ids).finish()
    }
}

impl Signer {
    /// A signer whose current key is `secret`, named `key_id` in the tokens it signs.
    pub fn new(key_id: u8, secret: &[u8]) -> Result<Self, KeyError> {
        Ok(Self { current: key_id, keys: vec![(key_id, keyed(key_id, secret)?)] })
    }

    /// Also accepts tokens signed with an older key (for rotation); new tokens keep using the current key.
    pub fn accepting(mut self, key_id: u8, secret: &[u8]) -> Result<Self, KeyError> {
        if self.keys.iter().any(|(id, _)| *id == key_id) {
            return Err(KeyError::DuplicateId(key_id));
        }
        self.keys.push((key_id, keyed(key_id, secret)?));
        Ok(self)
    }

    /// A signer with a fresh random key (id 0): for tests and single-node demos, where tokens need not outlive
    /// the process.
    pub fn random() -> Result<Self, KeyError> {
        Self::new(0, &random_bytes::<32>().map_err(KeyError::Rng)?)
    }

    /// Signs a ticket.
    pub fn sign_ticket(&self, t: &Ticket) -> Result<String, TokenError> {
        let mut p = Vec::with_capacity(32);
        p.push(t.room.0);
        p.push(u8::from(t.pre_queue) | (u8::from(t.no_js) << 1));
        p.extend_from_slice(&t.window.0.to_le_bytes());
        p.extend_from_slice(&t.seq.to_le_bytes());
        p.extend_from_slice(&secs(t.issued_at)?.to_le_bytes());
        p.extend_from_slice(&secs(t.refresh_by)?.to_le_bytes());
        let promise = match t.promise {
            Some(at) => secs(at)?.max(1),
            None => 0,
        };
        p.extend_from_slice(&promise.to_le_bytes());
        Ok(self.seal(Kind::Ticket, &p))
    }

    /// Verifies and decodes a ticket. Whether it is still current is the gate's business, not the signer's.
    pub fn verify_ticket(&self, token: &str) -> Result<Ticket, TokenError> {
        let bytes = self.open(Kind::Ticket, token)?;
        let mut r = Reader::new(&bytes, 26)?;
        let room = RoomId(r.u8());
        let flags = r.u8();
        if flags & !0b11 != 0 {
            return Err(TokenError::Malformed("unknown ticket flags"));
        }
        let window = WindowId(r.u32());
        let seq = r.u64();
        let issued_at = from_secs(r.u32());
        let refresh_by = from_secs(r.u32());
        let promise = match r.u32() {
            0 => None,
            s => Some(from_secs(s)),
        };
        Ok(Ticket {
            room,
            window,
            seq,
            pre_queue: flags & 1 != 0,
            no_js: flags & 2 != 0,
            issued_at,
            refresh_by,
            promise,
        })
    }

    /// Signs a pass.
    pub fn sign_pass(&self, p: &Pass) -> Result<String, TokenError> {
        let mut b = Vec::with_capacity(25);
        b.push(p.room.0);
        b.extend_from_slice(&p.pass_id.0);
        b.extend_from_slice(&secs(p.admitted_at)?.to_le_bytes());
        b.extend_from_slice(&secs(p.expires_at)?.to_le_bytes());
        Ok(self.seal(Kind::Pass, &b))
    }

    /// Verifies and decodes a pass (not whether it has expired or been revoked).
    pub fn verify_pass(&self, token: &str) -> Result<Pass, TokenError> {
        let bytes = self.open(Kind::Pass, token)?;
        let mut r = Reader::new(&bytes, 25)?;
        let room = RoomId(r.u8());
        let pass_id = PassId(r.array());
        let admitted_at = from_secs(r.u32());
        let expires_at = from_secs(r.u32());
        Ok(Pass { room, pass_id, admitted_at, expires_at })
    }

    /// Signs a proof-of-work challenge.
    pub fn sign_challenge(&self, c: &Challenge) -> Result<String, TokenError> {
        let mut b = Vec::with_capacity(31);
        b.push(c.room.0);
        b.push(c.difficulty);
        b.push(u8::from(c.no_js));
        b.extend_from_slice(&c.salt);
        b.extend_from_slice(&secs(c.issued_at)?.to_le_bytes());
        b.extend_from_slice(&secs(c.not_before)?.to_le_bytes());
        b.extend_from_slice(&secs(c.expires_at)?.to_le_bytes());
        Ok(self.seal(Kind::Challenge, &b))
    }

    /// Verifies and decodes a challenge (not whether it is solved or still valid).
    pub fn verify_challenge(&self, token: &str) -> Result<Challenge, TokenError> {
        let bytes = self.open(Kind::Challenge, token)?;
        let mut r = Reader::new(&bytes, 31)?;
        let room = RoomId(r.u8());
        let difficulty = r.u8();
        let no_js = match r.u8() {
            0 => false,
            1 => true,
            _ => return Err(TokenError::Malformed("unknown challenge flags")),
        };
        let salt = r.array();
        let issued_at = from_secs(r.u32());
        let not_before = from_secs(r.u32());
        let expires_at = from_secs(r.u32());
        Ok(Challenge { room, difficulty, salt, issued_at, not_before, expires_at, no_js })
    }

    /// The pass id of whoever holds place `seq` of `window` in `room`: derived, not random, so claiming the same
    /// admission twice (a retried request, a second tab) yields the same pass and takes one slot, never two.
    /// Unpredictable without the key. Derived with the current key: rotating keys during an admission's claim
    /// grace can at worst give that one visitor a second pass.
    pub fn pass_id(&self, room: RoomId, window: WindowId, seq: u64) -> PassId {
        let mut mac = self.current_mac().clone();
        mac.update(&[Kind::PassIdDerivation as u8, room.0]);
        mac.update(&window.0.to_le_bytes());
        mac.update(&seq.to_le_bytes());
        let tag = mac.finalize().into_bytes();
        let mut id = [0u8; 16];
        id.copy_from_slice(&tag[..16]);
        PassId(id)
    }

    fn current_mac(&self) -> &HmacSha256 {
        // `new` puts the current key in and nothing removes it.
        match self.keys.iter().find(|(id, _)| *id == self.current) {
            Some((_, mac)) => mac,
            None => unreachable!("the signer's current key is always listed"),
        }
    }

    fn seal(&self, kind: Kind, payload: &[u8]) -> String {
        let mut buf = Vec::with_capacity(2 + payload.len() + TAG_LEN);
        buf.push((VERSION << 4) | kind as u8);
        buf.push(self.current);
        buf.extend_from_slice(payload);
        let mut mac = self.current_mac().clone();
        mac.update(&buf);
        let tag = mac.finalize().into_bytes();
        buf.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// Decodes `token`, checks its header and tag in constant time, and returns the payload.
    fn open(&self, kind: Kind, token: &str) -> Result<Vec<u8>, TokenError> {
        let name = match kind {
            Kind::Ticket => "ticket",
            Kind::Pass => "pass",
            Kind::Challenge => "challenge",
            Kind::PassIdDerivation => "derivation",
        };
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::Malformed("too long"));
        }
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| TokenError::Malformed("not base64url"))?;
        if bytes.len() < 2 + TAG_LEN {
            return Err(TokenError::Malformed("too short"));
        }
        if bytes[0] != (VERSION << 4) | kind as u8 {
            return Err(TokenError::WrongKind(name));
        }
        let kid = bytes[1];
        let Some((_, mac)) = self.keys.iter().find(|(id, _)| *id == kid) else {
            return Err(TokenError::UnknownKey(kid));
        };
        let (signed, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        let mut mac = mac.clone();
        mac.update(signed);
        mac.verify_truncated_left(tag).map_err(|_| TokenError::BadSignature)?;
        Ok(signed[2..].to_vec())
    }
}

fn keyed(id: u8, secret: &[u8]) -> Result<HmacSha256, KeyError> {
    if secret.len() < MIN_KEY_BYTES {
        return Err(KeyError::TooShort { id, len: secret.len() });
    }
    <HmacSha256 as KeyInit>::new_from_slice(secret).map_err(|_| KeyError::TooShort { id, len: secret.len() })
}

/// `N` bytes from the operating system's random source.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    rand::rngs::SysRng.try_fill_bytes(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn secs(at: DateTime<Utc>) -> Result<u32, TokenError> {
    u32::try_from(at.timestamp()).map_err(|_| TokenError::TimeOutOfRange(at))
}

fn from_secs(s: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(s), 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// Reads a payload of exactly the expected length.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn new(payload: &'a [u8], len: usize) -> Result<Self, TokenError> {
        if payload.len() == len { Ok(Self(payload)) } else { Err(TokenError::Malformed("wrong length")) }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        out
    }

    fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.array())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.array())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signer() -> Signer {
        Signer::new(7, &[42u8; 32]).unwrap()
    }

    fn at(s: u32) -> DateTime<Utc> {
        from_secs(s)
    }

    fn ticket_strategy() -> impl Strategy<Value = Ticket> {
        (any::<u8>(), any::<u32>(), any::<u64>(), any::<bool>(), any::<bool>(), any::<u32>(), any::<u32>())
            .prop_flat_map(|(room, window, seq, pre_queue, no_js, issued, refresh)| {
                proptest::option::of(1u32..).prop_map(move |promise| Ticket {
                    room: RoomId(room),
                    window: WindowId(window),
                    seq,
                    pre_queue,
                    no_js,
                    issued_at: at(issued),
                    refresh_by: at(refresh),
                    promise: promise.map(at),
                })
            })
    }

    #[test]
    fn tokens_fit_in_a_cookie() {
        let s = signer();
        let t = Ticket {
            room: RoomId(1),
            window: WindowId(u32::MAX),
            seq: u64::MAX,
            pre_queue: true,
            no_js: true,
            issued_at: at(u32::MAX),
            refresh_by: at(u32::MAX),
            promise: Some(at(u32::MAX)),
        };
        let p = Pass { room: RoomId(1), pass_id: PassId([9; 16]), admitted_at: at(1), expires_at: at(2) };
        let c = Challenge {
            room: RoomId(0),
            difficulty: 20,
            salt: [1; 16],
            issued_at: at(1),
            not_before: at(1),
            expires_at: at(2),
            no_js: false,
        };
        let lens =
            [s.sign_ticket(&t).unwrap().len(), s.sign_pass(&p).unwrap().len(), s.sign_challenge(&c).unwrap().len()];
        assert_eq!(lens, [59, 58, 66]);
        assert!(lens.iter().all(|&l| l < 120));
    }

    #[test]
    fn a_token_of_one_kind_is_not_accepted_as_another() {
        let s = signer();
        let p = Pass { room: RoomId(1), pass_id: PassId([9; 16]), admitted_at: at(1), expires_at: at(2) };
        let token = s.sign_pass(&p).unwrap();
        assert_eq!(s.verify_ticket(&token), Err(TokenError::WrongKind("ticket")));
        assert_eq!(s.verify_challenge(&token), Err(TokenError::WrongKind("challenge")));
        assert_eq!(s.verify_pass(&token), Ok(p));
    }

    #[test]
    fn rotated_keys_keep_verifying_and_unknown_keys_do_not() {
        let old = Signer::new(1, &[1u8; 32]).unwrap();
        let new = Signer::new(2, &[2u8; 32]).unwrap().accepting(1, &[1u8; 32]).unwrap();
        let p = Pass { room: RoomId(0), pass_id: PassId([3; 16]), admitted_at: at(10), expires_at: at(20) };
        let by_old = old.sign_pass(&p).unwrap();
        assert_eq!(new.verify_pass(&by_old), Ok(p.clone()));
        let by_new = new.sign_pass(&p).unwrap();
        assert_eq!(old.verify_pass(&by_new), Err(TokenError::UnknownKey(2)));
        let imposter = Signer::new(2, &[3u8; 32]).unwrap();
        assert_eq!(imposter.verify_pass(&by_new), Err(TokenError::BadSignature));
    }

    #[test]
    fn short_or_duplicate_keys_are_refused_with_a_reason() {
        assert!(Signer::new(0, &[0u8; 31]).unwrap_err().to_string().contains("at least 32"));
        assert!(matches!(signer().accepting(7, &[1u8; 32]), Err(KeyError::DuplicateId(7))));
    }

    #[test]
    fn pass_ids_are_per_place_and_stable() {
        let s = signer();
        let a = s.pass_id(RoomId(0), WindowId(100), 5);
        assert_eq!(a, s.pass_id(RoomId(0), WindowId(100), 5));
        assert_ne!(a, s.pass_id(RoomId(0), WindowId(100), 6));
        assert_ne!(a, s.pass_id(RoomId(1), WindowId(100), 5));
        assert_ne!(a, s.pass_id(RoomId(0), WindowId(101), 5));
        assert_eq!(a.to_string().parse::<PassId>(), Ok(a));
    }

    proptest! {
        #[test]
        fn tickets_round_trip(t in ticket_strategy()) {
            let s = signer();
            prop_assert_eq!(s.verify_ticket(&s.sign_ticket(&t).unwrap()), Ok(t));
        }

        #[test]
        fn any_flipped_bit_is_rejected(t in ticket_strategy(), bit in 0usize..(44 * 8)) {
            let s = signer();
            let token = s.sign_ticket(&t).unwrap();
            let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
            prop_assert_eq!(raw.len(), 44);
            raw[bit / 8] ^= 1 << (bit % 8);
            let forged = URL_SAFE_NO_PAD.encode(&raw);
            prop_assert!(s.verify_ticket(&forged).is_err());
        }

        #[test]
        fn passes_round_trip_and_resist_flips(id in any::<[u8; 16]>(), a in any::<u32>(), e in any::<u32>(),
                                              bit in 0usize..(43 * 8)) {
            let s = signer();
            let p = Pass { room: RoomId(3), pass_id: PassId(id), admitted_at: at(a), expires_at: at(e) };
            let token = s.sign_pass(&p).unwrap();
            prop_assert_eq!(s.verify_pass(&token), Ok(p));
            let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
            raw[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(s.verify_pass(&URL_SAFE_NO_PAD.encode(&raw)).is_err());
        }

        #[test]
        fn garbage_is_rejected_without_panicking(s in "\\PC{0,200}") {
            prop_assert!(signer().verify_ticket(&s).is_err());
        }
    }
}
