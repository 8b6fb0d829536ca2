//! Encryption at rest: the key-encryption key, sealed private keys, MACs over stored rows.
//!
//! ```text
//! KEK       = Argon2id(passphrase, salt, m, t, p)               32 bytes, once per open
//! seal key  = HMAC-SHA256(KEK, "keymanager/v1/seal")
//! MAC key   = HMAC-SHA256(KEK, "keymanager/v1/mac")
//! sealed    = nonce (12 random bytes) || ChaCha20-Poly1305(seal key, nonce, plaintext, aad)
//! aad       = len(label) || label || len(context) || context
//! row MAC   = HMAC-SHA256(MAC key, len(part) || part || ...)
//! set key   = HMAC-SHA256(KEK, "keymanager/v1/state")
//! token     = HMAC-SHA256(set key, id || row MAC)               one per entry
//! digest    = token(entry 1) XOR token(entry 2) XOR ...          the set of entries
//! state MAC = HMAC-SHA256(MAC key, len(part) || part || ...) over
//!             "keymanager/v1/state", generation, digest
//! ```
//!
//! The digest is a keyed set hash: a commit updates it in O(changed entries) (XOR out the
//! token of an entry's old MAC, XOR in its new one), and without the set key nobody can
//! compute a token, so no combination of rows seen in the past adds up to a given digest.
//!
//! ChaCha20-Poly1305 is [RFC 8439]; with random 96-bit nonces a key may seal about 2^32
//! messages before nonce collisions become a concern, far beyond a key store's needs.
//!
//! [RFC 8439]: https://datatracker.ietf.org/doc/html/rfc8439

use chacha20poly1305::aead::Aead;
use chacha20poly1305::aead::Payload;
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use hmac::{Hmac, Mac};
use rand::TryRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{KeyError, Result, StoreError};

type HmacSha256 = Hmac<Sha256>;

/// Length of the random nonce in front of each sealed blob.
const NONCE_LEN: usize = 12;

/// Length of a random salt for the key derivation.
pub(super) const SALT_LEN: usize = 16;

/// Argon2id cost parameters, as stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cost {
    pub(super) memory_kib: u32,
    pub(super) iterations: u32,
    pub(super) parallelism: u32,
}

/// The keys derived from the passphrase; zeroized on drop (the cipher through the
/// `zeroize` feature of `chacha20poly1305`).
pub(super) struct Keys {
    cipher: ChaCha20Poly1305,
    mac: Zeroizing<[u8; 32]>,
    set: Zeroizing<[u8; 32]>,
}

impl Keys {
    /// Derives the KEK from the passphrase and splits it into the sealing and MAC keys.
    pub(super) fn derive(passphrase: &str, salt: &[u8], cost: Cost) -> Result<Self> {
        let params =
            argon2::Params::new(cost.memory_kib, cost.iterations, cost.parallelism, Some(32))
                .map_err(|e| StoreError::InvalidOptions {
                    reason: format!("Argon2 parameters: {e}"),
                })?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut kek = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.as_bytes(), salt, kek.as_mut_slice())
            .map_err(|e| StoreError::InvalidOptions {
                reason: format!("Argon2: {e}"),
            })?;
        let seal = subkey(&kek, b"keymanager/v1/seal");
        let key = Zeroizing::new(Key::from(*seal));
        Ok(Self {
            cipher: ChaCha20Poly1305::new(&key),
            mac: subkey(&kek, b"keymanager/v1/mac"),
            set: subkey(&kek, b"keymanager/v1/state"),
        })
    }

    /// Seals `plaintext`, binding it to `label` and `context`.
    pub(super) fn seal(&self, label: &[u8], context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let aad = aad(label, context);
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Corrupt {
                reason: "sealing failed".into(),
            })?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a blob made by [`seal`](Self::seal) with the same label and context; `None` if
    /// it was altered, made under another key, or for another context.
    pub(super) fn open(
        &self,
        label: &[u8],
        context: &[u8],
        sealed: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, ct) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let aad = aad(label, context);
        self.cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: &aad })
            .ok()
            .map(Zeroizing::new)
    }

    /// The MAC of `parts`, each length-prefixed so that boundaries are unambiguous.
    pub(super) fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        self.mac_state(parts).finalize().into_bytes().to_vec()
    }

    /// Checks a MAC made by [`mac`](Self::mac), in constant time.
    pub(super) fn verify_mac(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.mac_state(parts).verify_slice(tag).is_ok()
    }

    /// The set-hash token of the entry `id` whose row MAC is `row_mac`.
    pub(super) fn token(&self, id: i64, row_mac: &[u8]) -> [u8; 32] {
        let mut mac = new_hmac(self.set.as_slice());
        mac.update(&id.to_be_bytes());
        mac.update(row_mac);
        mac.finalize().into_bytes().into()
    }

    fn mac_state(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = new_hmac(self.mac.as_slice());
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }
}

/// Fills `buf` from the operating system's random source.
pub(super) fn random(buf: &mut [u8]) -> Result<()> {
    rand::rngs::SysRng
        .try_fill_bytes(buf)
        .map_err(|e| KeyError::Random {
            reason: e.to_string(),
        })?;
    Ok(())
}

fn aad(label: &[u8], context: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + label.len() + context.len());
    out.extend_from_slice(&(label.len() as u64).to_be_bytes());
    out.extend_from_slice(label);
    out.extend_from_slice(&(context.len() as u64).to_be_bytes());
    out.extend_from_slice(context);
    out
}

fn subkey(kek: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = new_hmac(kek);
    mac.update(label);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

fn new_hmac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail; the fallback keeps clippy's
    // no-expect rule without a panic path.
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_COST: Cost = Cost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn seal_round_trips_and_binds_context() {
        let keys = Keys::derive("passphrase", &[7; SALT_LEN], TEST_COST).unwrap();
        let sealed = keys.seal(b"label", b"ctx", b"secret").unwrap();
        assert_eq!(
            &keys.open(b"label", b"ctx", &sealed).unwrap()[..],
            b"secret"
        );
        assert!(keys.open(b"label", b"other", &sealed).is_none());
        assert!(keys.open(b"other", b"ctx", &sealed).is_none());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(keys.open(b"label", b"ctx", &bad).is_none(), "byte {i}");
        }
        assert!(keys.open(b"label", b"ctx", &sealed[..5]).is_none());
        let other = Keys::derive("Passphrase", &[7; SALT_LEN], TEST_COST).unwrap();
        assert!(other.open(b"label", b"ctx", &sealed).is_none());
        // Fresh nonce each time.
        assert_ne!(sealed, keys.seal(b"label", b"ctx", b"secret").unwrap());
    }

    #[test]
    fn mac_checks_parts_and_boundaries() {
        let keys = Keys::derive("passphrase", &[1; SALT_LEN], TEST_COST).unwrap();
        let tag = keys.mac(&[b"ab", b"c"]);
        assert!(keys.verify_mac(&[b"ab", b"c"], &tag));
        assert!(!keys.verify_mac(&[b"a", b"bc"], &tag));
        assert!(!keys.verify_mac(&[b"ab", b"d"], &tag));
        assert!(!keys.verify_mac(&[b"ab", b"c"], &tag[..31]));
    }
}
