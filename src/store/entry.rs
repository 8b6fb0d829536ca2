//! What the store hands out: [`Entry`] (a listing, no key material), [`Identity`] (what a
//! server presents) and [`Export`] (an entry's key and chain as encrypted PEM), and how they
//! are read from the rows, each checked against its MAC first.

#[cfg(feature = "rustls")]
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use zeroize::Zeroizing;

use super::Kek;
use super::rows::{Row, State, Stored, open_sealed, time};
use super::transaction::Session;
use crate::certificate::Certificate;
use crate::endpoint::Endpoint;
use crate::error::{Result, StoreError};
use crate::fingerprint::Fingerprint;
use crate::key::{KeyAlgorithm, KeyEncryption, KeyType, PrivateKey};

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryState {
    /// A key and its request, waiting for the CA's certificate.
    Pending,
    /// A key with its certificate; can be bound and served.
    Installed,
    /// A renewal's working entry, made by
    /// [`Transaction::renew`](super::Transaction::renew): a new key and its request, waiting
    /// for the CA's certificate, linked to the installed entry it renews
    /// ([`Entry::renewal_of`] names it; [`KeyStore::renewal_of`](super::KeyStore::renewal_of)
    /// finds it from that name). That entry keeps serving until the renewal's certificate is
    /// installed, which takes over its name and bindings. Like a [`Pending`](Self::Pending)
    /// entry, it waits for a certificate.
    ///
    /// The link, not the name, makes an entry a renewal: an entry merely called
    /// `"www (renewal)"` is `Pending`, and a renewal whose renewed entry was removed becomes
    /// an ordinary `Pending` entry.
    Renewal,
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
    pub(super) key_type: KeyType,
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

    /// Pending, installed, or the renewal of another entry.
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

    /// The key's size: an RSA modulus's bits, an ECDSA curve's (256, 384).
    pub fn key_bits(&self) -> usize {
        self.key_bits
    }

    /// The key's type: RSA and its size, or ECDSA and its curve.
    pub fn key_type(&self) -> KeyType {
        self.key_type
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

    /// For a renewal ([`EntryState::Renewal`]), the name of the entry it renews; `None` for
    /// every other entry.
    pub fn renewal_of(&self) -> Option<&str> {
        self.renewal_of.as_deref()
    }
}

/// What a server presents on a connection: an entry's certificate chain and private key.
///
/// An identity from a [`Snapshot`](super::Snapshot) holds its key sealed, as stored, and opens
/// it the first time [`private_key`](Self::private_key) asks for it (at most once; the outcome
/// is kept), so that reading a snapshot of many entries decrypts none of them. One from
/// [`KeyStore::resolve`](super::KeyStore::resolve) has its key opened already.
pub struct Identity {
    pub(super) name: String,
    /// Certificates other than the leaf are shared between the identities of a snapshot
    /// that have the same ones (most share an intermediate).
    pub(super) chain: Vec<Arc<Certificate>>,
    pub(super) fingerprint: Fingerprint,
    /// The key's type, known without opening it (the entry's `key_type`, under its MAC).
    pub(super) key_type: KeyType,
    /// The opened key, or what was wrong with the sealed one.
    pub(super) key: OnceLock<std::result::Result<PrivateKey, &'static str>>,
    /// The sealed key and the keys that open it; `None` when `key` was set on creation.
    pub(super) sealed: Option<SealedKey>,
    /// What the layer above builds from this identity and keeps with it (the TLS resolver's
    /// key): built at most once, and shared, as the identity is, by every snapshot holding it.
    #[cfg(feature = "rustls")]
    pub(crate) attached: OnceLock<Box<dyn Any + Send + Sync>>,
}

/// A private key as stored, with the store keys it was read under (the same `Arc` the store
/// holds: no copy of the key material).
pub(super) struct SealedKey {
    pub(super) kek: Arc<Kek>,
    pub(super) blob: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("chain_len", &self.chain.len())
            .field("fingerprint", &self.fingerprint)
            .field("key_opened", &self.key_opened())
            .finish()
    }
}

impl Identity {
    /// The entry's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The certificate chain, leaf first. The certificates after the leaf are shared with
    /// the other identities of a snapshot that have the same ones.
    pub fn chain(&self) -> &[Arc<Certificate>] {
        &self.chain
    }

    /// The private key: decrypted and parsed the first time it is asked for (at most once),
    /// then kept. A sealed key that does not open, or opens to another key, is
    /// [`StoreError::Tampered`] (at every call: the outcome is kept).
    pub fn private_key(&self) -> Result<&PrivateKey> {
        let opened = self.key.get_or_init(|| match &self.sealed {
            Some(sealed) => open_sealed(&sealed.kek.keys, &self.fingerprint, &sealed.blob),
            None => Err("its key was not read"),
        });
        opened.as_ref().map_err(|what| {
            StoreError::Tampered {
                entry: self.name.clone(),
                what: (*what).to_owned(),
            }
            .into()
        })
    }

    /// The fingerprint of the key (SHA-256 of its SubjectPublicKeyInfo), known without
    /// opening it.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The key's type (algorithm and size), known without opening it.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The private key as PKCS#8 DER, for a TLS library that parses it itself: the opened
    /// key's if it was opened, else the sealed key decrypted now (checked by its AEAD tag,
    /// which binds it to this entry's key fingerprint), without parsing it or keeping it.
    #[cfg(feature = "rustls")]
    pub(crate) fn pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        if self.key_opened() {
            return self.private_key()?.to_pkcs8_der();
        }
        let sealed = self
            .sealed
            .as_ref()
            .and_then(|s| super::rows::open_sealed_der(&s.kek.keys, &self.fingerprint, &s.blob));
        sealed.ok_or_else(|| {
            StoreError::Tampered {
                entry: self.name.clone(),
                what: "its sealed private key does not decrypt".into(),
            }
            .into()
        })
    }

    /// Whether the private key has been opened (by [`private_key`](Self::private_key), or
    /// because the identity was read with it).
    pub fn key_opened(&self) -> bool {
        self.key.get().is_some()
    }
}

/// Parsed certificates by DER, shared between identities (an intermediate is parsed and held
/// once for every identity it issued).
#[derive(Default)]
pub(super) struct Certificates(HashMap<Box<[u8]>, Arc<Certificate>>);

/// The parsed chain of the checked `row`, after checking that its leaf certifies the row's key;
/// the certificates after the leaf taken from (or added to) `shared`.
fn checked_chain(
    row: &Row,
    ders: &[Vec<u8>],
    shared: &mut Certificates,
) -> Result<Vec<Arc<Certificate>>> {
    let unparsed = || StoreError::Tampered {
        entry: row.name.clone(),
        what: "a stored certificate does not parse".into(),
    };
    let mut chain = Vec::with_capacity(ders.len());
    for (i, der) in ders.iter().enumerate() {
        if i > 0
            && let Some(cert) = shared.0.get(der.as_slice())
        {
            chain.push(Arc::clone(cert));
            continue;
        }
        let cert = Arc::new(Certificate::from_der(der).map_err(|_| unparsed())?);
        if i > 0 {
            shared
                .0
                .insert(der.clone().into_boxed_slice(), Arc::clone(&cert));
        }
        chain.push(cert);
    }
    if chain.first().map(|c| c.fingerprint()) != Some(row.fingerprint()) {
        return Err(StoreError::Tampered {
            entry: row.name.clone(),
            what: "its certificate is not for its key".into(),
        }
        .into());
    }
    Ok(chain)
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

    /// The renewal of the entry `name`: the entry linked to it, checked against its MAC;
    /// `None` when `name` is not being renewed. [`StoreError::NotFound`] when there is no
    /// entry `name`.
    pub(super) fn renewal(&self, name: &str) -> Result<Option<Entry>> {
        let id = self.row_by_name(name)?.id;
        match self.row_where("e.renewal_of = ?1", rusqlite::params![id])? {
            Some(row) => self.to_entry(row).map(Some),
            None => Ok(None),
        }
    }

    /// Every entry that `clause` (a `WHERE` and/or `ORDER BY` on `entries e`) selects, each
    /// checked against its MAC.
    pub(super) fn entries(&self, clause: &str, p: impl rusqlite::Params) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        self.for_each_entry(clause, p, |entry| {
            entries.push(entry);
            Ok(())
        })?;
        Ok(entries)
    }

    /// Hands each entry that `clause` selects to `f`, checked against its MAC, as it is read:
    /// one row in memory at a time.
    pub(super) fn for_each_entry(
        &self,
        clause: &str,
        p: impl rusqlite::Params,
        mut f: impl FnMut(Entry) -> Result<()>,
    ) -> Result<()> {
        self.for_each_row(clause, p, |row| f(self.to_entry(row)?))
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
            // An installed row never has a link (installing clears it).
            state: match (row.state, &renewal_of) {
                (State::Pending, Some(_)) => EntryState::Renewal,
                (State::Pending, None) => EntryState::Pending,
                (State::Installed, _) => EntryState::Installed,
            },
            key_bits: usize::try_from(row.key_bits).unwrap_or(0),
            key_type: row.key_type,
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
        let chain = checked_chain(&row, &ders, &mut Certificates::default())?;
        let key = self.unseal(&row)?;
        Ok(Identity {
            fingerprint: row.fingerprint(),
            key_type: row.key_type,
            name: row.name,
            chain,
            key: OnceLock::from(Ok(key)),
            sealed: None,
            #[cfg(feature = "rustls")]
            attached: OnceLock::new(),
        })
    }

    /// What the checked entry `stored` serves, its key left sealed (opened by
    /// [`Identity::private_key`] under `kek`, which must be this session's keys); checks that
    /// the leaf certifies the key and that every binding of the entry is in the slot of its
    /// key's algorithm. The certificates after the leaf come from `shared` when it has them,
    /// and are added to it when not.
    pub(super) fn sealed_identity(
        &self,
        stored: Stored,
        kek: &Arc<Kek>,
        shared: &mut Certificates,
    ) -> Result<Identity> {
        let chain = checked_chain(&stored.row, &stored.chain, shared)?;
        self.check_binding_algorithms(&stored.row)?;
        let row = stored.row;
        Ok(Identity {
            fingerprint: row.fingerprint(),
            key_type: row.key_type,
            name: row.name,
            chain,
            key: OnceLock::new(),
            sealed: Some(SealedKey {
                kek: Arc::clone(kek),
                blob: row.sealed_key,
            }),
            #[cfg(feature = "rustls")]
            attached: OnceLock::new(),
        })
    }

    /// What entry `id`, bound in the slot of `algorithm`, serves: [`identity`](Self::identity),
    /// and a key of that algorithm. The binding's algorithm is not under the entry's MAC (its
    /// endpoint is): one changed behind the store's back is refused here, never served.
    pub(super) fn bound_identity(&self, id: i64, algorithm: KeyAlgorithm) -> Result<Identity> {
        let identity = self.identity(id)?;
        let key = identity.key_type;
        if key.algorithm() != algorithm {
            return Err(StoreError::Tampered {
                entry: identity.name,
                what: format!("a binding serves it as {algorithm} but its key is {key}"),
            }
            .into());
        }
        Ok(identity)
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
