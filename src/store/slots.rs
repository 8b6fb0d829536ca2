//! [`Slots`]: what one endpoint serves, at most one entry per key algorithm, and the one
//! function that chooses between them for a client.

use crate::key::KeyAlgorithm;

/// The entries bound to one endpoint: an RSA one, an ECDSA one, or both (a site served with
/// an ECDSA and an RSA certificate, as nginx and Apache can).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slots<T> {
    rsa: Option<T>,
    ecdsa: Option<T>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Self {
            rsa: None,
            ecdsa: None,
        }
    }
}

impl<T: Copy> Slots<T> {
    /// Puts `value` in the slot of `algorithm`, replacing what was there.
    pub(crate) fn set(&mut self, algorithm: KeyAlgorithm, value: T) {
        self.put(algorithm, Some(value));
    }

    /// Puts `value` in the slot of `algorithm`, or empties it (`None`).
    pub(crate) fn put(&mut self, algorithm: KeyAlgorithm, value: Option<T>) {
        match algorithm {
            KeyAlgorithm::Ecdsa => self.ecdsa = value,
            _ => self.rsa = value,
        }
    }

    /// The entry in the slot of `algorithm`.
    pub(crate) fn get(&self, algorithm: KeyAlgorithm) -> Option<T> {
        match algorithm {
            KeyAlgorithm::Ecdsa => self.ecdsa,
            _ => self.rsa,
        }
    }

    /// The entries bound, ECDSA's first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = T> {
        self.ecdsa.into_iter().chain(self.rsa)
    }

    /// Whether no entry is bound.
    pub(crate) fn is_empty(&self) -> bool {
        self.rsa.is_none() && self.ecdsa.is_none()
    }

    /// What to serve a client, as nginx chooses: the ECDSA entry when there is one and
    /// `client_takes_ecdsa` says the client can verify its signatures (it offered a matching
    /// ECDSA signature scheme), else the RSA entry, else the ECDSA one anyway (the only
    /// certificate there is; the handshake then fails on the client's side, as it would with
    /// a single certificate).
    pub(crate) fn choose(&self, client_takes_ecdsa: impl FnOnce(T) -> bool) -> Option<T> {
        match (self.ecdsa, self.rsa) {
            (Some(ecdsa), rsa) if rsa.is_none() || client_takes_ecdsa(ecdsa) => Some(ecdsa),
            (_, rsa) => rsa,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_when_the_client_takes_it_else_rsa() {
        let mut both = Slots::default();
        assert!(both.is_empty());
        assert_eq!(both.choose(|_| true), None::<u8>);
        both.set(KeyAlgorithm::Rsa, 1);
        assert_eq!(both.choose(|_| true), Some(1));
        both.set(KeyAlgorithm::Ecdsa, 2);
        assert_eq!(both.choose(|e| e == 2), Some(2));
        assert_eq!(both.choose(|_| false), Some(1));
        let mut ecdsa_only = Slots::default();
        ecdsa_only.set(KeyAlgorithm::Ecdsa, 3);
        assert_eq!(ecdsa_only.choose(|_| false), Some(3));
    }
}
