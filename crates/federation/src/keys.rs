//! Sportello's own keys: the federation key (signs the entity configuration), the OIDC signing key (request
//! objects, client assertions) and the encryption key (the userinfo JWE is encrypted to it), kept apart as the
//! profile requires. Each lives in a folder of its own as PKCS#8 PEM files, created readable by the owner only.
//!
//! Rotation: `sportello keys generate` adds a new key of each use beside the old ones. The newest (by file name, a
//! UTC timestamp) signs; every key in the folder is published in `jwks`, so tokens signed or encrypted to an older
//! one still verify or decrypt. An old key's file is removed once what it signed has expired (a day for the entity
//! configuration, minutes for the rest).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use josekit::jwk::Jwk;
use josekit::jwk::alg::rsa::RsaKeyPair;

use crate::error::FederationError;
use crate::jose::{KeySet, public_key, thumbprint};

/// What a key is for, and the folder it lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// Signs the entity configuration.
    Federation,
    /// Signs request objects and client assertions.
    Signing,
    /// Receives the userinfo JWE.
    Encryption,
}

impl KeyUse {
    /// Every use.
    pub const ALL: [Self; 3] = [Self::Federation, Self::Signing, Self::Encryption];

    /// The folder's name.
    pub const fn folder(self) -> &'static str {
        match self {
            Self::Federation => "federation",
            Self::Signing => "signing",
            Self::Encryption => "encryption",
        }
    }
}

/// One use's keys, the newest first.
#[derive(Clone)]
pub struct Keys(Vec<Jwk>);

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.0.iter().map(|k| k.key_id().unwrap_or("-")).collect();
        f.debug_tuple("Keys").field(&kids).finish()
    }
}

impl Keys {
    /// The key that signs or that new tokens are encrypted to.
    pub fn current(&self) -> &Jwk {
        &self.0[0]
    }

    /// Every private key (decryption tries each by `kid`).
    pub fn all(&self) -> &[Jwk] {
        &self.0
    }

    /// The public keys, for `jwks`.
    pub fn public(&self) -> Result<KeySet, FederationError> {
        self.0.iter().map(public_key).collect::<Result<Vec<_>, _>>().map(KeySet)
    }
}

/// Sportello's three sets of keys.
#[derive(Debug, Clone)]
pub struct KeyRing {
    /// Signs the entity configuration.
    pub federation: Keys,
    /// Signs request objects and client assertions.
    pub signing: Keys,
    /// Receives the userinfo JWE.
    pub encryption: Keys,
}

impl KeyRing {
    /// Reads every key under `dir` (`federation/`, `signing/`, `encryption/`); a folder without a key, or a file
    /// that is not an RSA private key, is an error naming the file.
    pub fn load(dir: &Path) -> Result<Self, FederationError> {
        Ok(Self {
            federation: load_use(dir, KeyUse::Federation)?,
            signing: load_use(dir, KeyUse::Signing)?,
            encryption: load_use(dir, KeyUse::Encryption)?,
        })
    }

    /// Keys made in memory, for tests and the demo.
    pub fn ephemeral() -> Result<Self, FederationError> {
        let make = |u| {
            RsaKeyPair::generate(2048).map_err(|e| FederationError::Config(e.to_string())).and_then(|p| jwk_of(&p, u))
        };
        Ok(Self {
            federation: Keys(vec![make(KeyUse::Federation)?]),
            signing: Keys(vec![make(KeyUse::Signing)?]),
            encryption: Keys(vec![make(KeyUse::Encryption)?]),
        })
    }
}

fn jwk_of(pair: &RsaKeyPair, key_use: KeyUse) -> Result<Jwk, FederationError> {
    use josekit::jwk::KeyPair as _;
    let mut jwk = pair.to_jwk_private_key();
    let kid = thumbprint(&jwk)?;
    jwk.set_key_id(kid);
    // An encryption key names no `alg`: a provider may use RSA-OAEP or RSA-OAEP-256 with it.
    if key_use == KeyUse::Encryption {
        jwk.set_key_use("enc");
    } else {
        jwk.set_key_use("sig");
        jwk.set_algorithm("RS256");
    }
    Ok(jwk)
}

fn load_use(dir: &Path, key_use: KeyUse) -> Result<Keys, FederationError> {
    let folder = dir.join(key_use.folder());
    let mut files: Vec<PathBuf> = fs::read_dir(&folder)
        .map_err(|e| FederationError::Config(format!("{}: {e}", folder.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pem"))
        .collect();
    files.sort();
    files.reverse();
    if files.is_empty() {
        return Err(FederationError::Config(format!(
            "{}: no key; run `sportello keys generate --dir {}`",
            folder.display(),
            dir.display()
        )));
    }
    files
        .iter()
        .map(|file| {
            let pem = fs::read(file).map_err(|e| FederationError::Config(format!("{}: {e}", file.display())))?;
            let pair = RsaKeyPair::from_pem(&pem)
                .map_err(|e| FederationError::Config(format!("{}: not an RSA private key: {e}", file.display())))?;
            jwk_of(&pair, key_use)
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Keys)
}

/// Makes a new RSA key of each use under `dir`, named `stamp` (a UTC timestamp such as `20261206T091800Z`, which
/// orders keys by age), each file created 0600 and each folder 0700; old keys stay, to be published until they
/// expire. Returns the files written.
pub fn generate(dir: &Path, stamp: &str, bits: u32) -> Result<Vec<PathBuf>, FederationError> {
    use josekit::jwk::KeyPair as _;
    let config = |e: std::io::Error, p: &Path| FederationError::Config(format!("{}: {e}", p.display()));
    let mut written = Vec::new();
    for key_use in KeyUse::ALL {
        let folder = dir.join(key_use.folder());
        owner_only_dir(&folder).map_err(|e| config(e, &folder))?;
        let file = folder.join(format!("{stamp}.pem"));
        let pair = RsaKeyPair::generate(bits).map_err(|e| FederationError::Config(e.to_string()))?;
        let pem = pair.to_pem_private_key();
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&file).map_err(|e| config(e, &file))?;
        out.write_all(&pem).and_then(|()| out.sync_all()).map_err(|e| config(e, &file))?;
        written.push(file);
    }
    Ok(written)
}

fn owner_only_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_owner_only_load_back_and_rotate_with_the_newest_signing() {
        let dir = tempfile::tempdir().unwrap();
        let first = generate(dir.path(), "20261206T090000Z", 2048).unwrap();
        assert_eq!(first.len(), 3);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for file in &first {
                assert_eq!(fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600, "{}", file.display());
                let folder = file.parent().unwrap();
                assert_eq!(fs::metadata(folder).unwrap().permissions().mode() & 0o777, 0o700);
            }
        }
        let ring = KeyRing::load(dir.path()).unwrap();
        let old_kid = ring.signing.current().key_id().unwrap().to_owned();
        assert_ne!(ring.federation.current().key_id(), ring.signing.current().key_id(), "federation keys apart");

        generate(dir.path(), "20261207T090000Z", 2048).unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        assert_eq!(ring.signing.all().len(), 2);
        assert_ne!(ring.signing.current().key_id().unwrap(), old_kid, "the newest signs");
        let published = ring.signing.public().unwrap();
        assert!(published.0.iter().any(|k| k.key_id() == Some(old_kid.as_str())), "the old key is still listed");
        assert!(published.0.iter().all(|k| k.parameter("d").is_none()), "no private part is published");
    }

    #[test]
    fn a_folder_without_keys_says_how_to_make_them() {
        let dir = tempfile::tempdir().unwrap();
        let err = KeyRing::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("federation"), "{err}");
    }
}
