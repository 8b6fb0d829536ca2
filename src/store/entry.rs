//! What the store hands out: [`Entry`] (a listing, no key material), [`Identity`] (what a
//! server presents) and [`Export`] (an entry's key and chain as encrypted PEM), and how they
//! are read from the rows, each checked against its MAC first.

use std::time::SystemTime;

use zeroize::Zeroizing;

use super::rows::{Row, State, time};
use super::transaction::Session;
use crate::certificate::Certificate;
use crate::endpoint::Endpoint;
use crate::error::{Result, StoreError};
use crate::fingerprint::Fingerprint;
use crate::key::{KeyEncryption, PrivateKey};

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryState {
    /// A key and its request, waiting for the CA's certificate.
    Pending,
    /// A key with its certificate; can be bound and served.
    Installed,
}

/// One entry of the store, as listed by [`KeyStore::entries`](super::KeyStore::entries). Holds no key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub(super) name: String,
    pub(super) state: EntryState,
    pub(super) subject: String,
    pub(super) dns_names: Vec<String>,
    pub(super) not_before: Option<SystemTime>,
    pub(super) not_after: Option<SystemTime>,
    pub(super) key_bits: usize,
    pub(super) fingerprint: Fingerprint,
    pub(super) bindings: Vec<Endpoint>,
    pub(super) created: SystemTime,
    pub(super) installed: Option<SystemTime>,
    pub(super) renewal_of: Option<String>,
}

impl Entry {
    /// The entry's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Pending or installed.
    pub fn state(&self) -> EntryState {
        self.state
    }

    /// The certificate's subject when installed; the requested subject when pending.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The certificate's DNS names when installed; the requested ones when pending.
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// Start of the certificate's validity.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.not_before
    }

    /// End of the certificate's validity.
    pub fn not_after(&self) -> Option<SystemTime> {
        self.not_after
    }

    /// The key's modulus size.
    pub fn key_bits(&self) -> usize {
        self.key_bits
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The endpoints bound to this entry.
    pub fn bindings(&self) -> &[Endpoint] {
        &self.bindings
    }

    /// When the entry was created.
    pub fn created(&self) -> SystemTime {
        self.created
    }

    /// When its certificate was installed.
    pub fn installed(&self) -> Option<SystemTime> {
        self.installed
    }

    /// For a renewal, the entry it renews.
    pub fn renewal_of(&self) -> Option<&str> {
        self.renewal_of.as_deref()
    }
}

/// What a server presents on a connection: an entry's certificate chain and private key.
pub struct Identity {
    pub(super) name: String,
    pub(super) chain: Vec<Certificate>,
    pub(super) key: PrivateKey,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("chain_len", &self.chain.len())
            .field("key", &self.key)
            .finish()
    }
}

impl Identity {
    /// The entry's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The private key.
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }

    /// Whether `other` holds the same chain, certificate for certificate (as received).
    #[cfg(feature = "rustls")]
    pub(crate) fn same_chain(&self, other: &Identity) -> bool {
        self.chain.len() == other.chain.len()
            && self
                .chain
                .iter()
                .zip(&other.chain)
                .all(|(x, y)| x.to_der() == y.to_der())
    }
}

/// An exported entry: its key as encrypted PKCS#8 PEM and its chain as PEM.
pub struct Export {
    pub(super) key_pem: Zeroizing<String>,
    pub(super) chain_pem: String,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export").finish_non_exhaustive()
    }
}

impl Export {
    /// The key, `ENCRYPTED PRIVATE KEY` PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The chain, leaf first, `CERTIFICATE` PEM blocks (empty for a pending entry).
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }
}

impl Session<'_> {
    /// The entry `name`, checked against its MAC.
    pub(super) fn entry(&self, name: &str) -> Result<Entry> {
        let row = self.row_by_name(name)?;
        self.to_entry(row)
    }

    /// Every entry that `clause` (a `WHERE` and/or `ORDER BY` on `entries e`) selects, each
    /// checked against its MAC.
    pub(super) fn entries(&self, clause: &str, p: impl rusqlite::Params) -> Result<Vec<Entry>> {
        let rows = self.rows(clause, p)?;
        rows.into_iter().map(|row| self.to_entry(row)).collect()
    }

    /// The listing of `row`, after checking its MAC.
    pub(super) fn to_entry(&self, row: Row) -> Result<Entry> {
        let chain = self.chain(row.id)?;
        self.verify(&row, &chain)?;
        let bindings = self.bindings_of(row.id)?;
        let renewal_of = match row.renewal_of {
            Some(id) => Some(self.row_by_id(id)?.name),
            None => None,
        };
        Ok(Entry {
            fingerprint: row.fingerprint(),
            state: match row.state {
                State::Pending => EntryState::Pending,
                State::Installed => EntryState::Installed,
            },
            key_bits: usize::try_from(row.key_bits).unwrap_or(0),
            created: time(row.created_at),
            installed: row.installed_at.map(time),
            not_before: row.not_before.map(time),
            not_after: row.not_after.map(time),
            name: row.name,
            subject: row.subject,
            dns_names: row.dns_names,
            bindings,
            renewal_of,
        })
    }

    /// What entry `id` serves: its chain and unsealed key, after checking its MAC and that the
    /// leaf certifies the key.
    pub(super) fn identity(&self, id: i64) -> Result<Identity> {
        let row = self.row_by_id(id)?;
        let ders = self.chain(id)?;
        self.verify(&row, &ders)?;
        let chain = ders
            .iter()
            .map(|d| Certificate::from_der(d))
            .collect::<Result<Vec<_>>>()
            .map_err(|_| StoreError::Tampered {
                entry: row.name.clone(),
                what: "a stored certificate does not parse".into(),
            })?;
        if chain.first().map(Certificate::fingerprint) != Some(row.fingerprint()) {
            return Err(StoreError::Tampered {
                entry: row.name.clone(),
                what: "its certificate is not for its key".into(),
            }
            .into());
        }
        let key = self.unseal(&row)?;
        Ok(Identity {
            name: row.name,
            chain,
            key,
        })
    }

    /// The entry `name`'s key, encrypted under `password`, and its chain, as PEM.
    pub(super) fn export(
        &self,
        name: &str,
        password: &str,
        encryption: KeyEncryption,
    ) -> Result<Export> {
        let row = self.row_by_name(name)?;
        let ders = self.chain(row.id)?;
        self.verify(&row, &ders)?;
        let key = self.unseal(&row)?;
        let key_pem = Zeroizing::new(key.to_encrypted_pkcs8_pem(password, encryption)?);
        let chain_pem = ders
            .into_iter()
            .map(|der| pem::encode(&pem::Pem::new("CERTIFICATE", der)))
            .collect::<String>();
        Ok(Export { key_pem, chain_pem })
    }
}
