//! [`Snapshot`]: every binding of a store and the identities they serve, read at one moment and
//! held in memory, and [`Watcher`]: a cheap way to learn that the store has changed since.
//!
//! A server that resolves on every handshake cannot afford a database read each time; it
//! takes a snapshot once, answers every handshake from it ([`Snapshot::resolve`] gives exactly
//! the answer of [`KeyStore::resolve`] at the moment the snapshot was read), and takes a new
//! one when its [`Watcher`] says a commit happened.
//!
//! # Change detection
//!
//! A [`Watcher`] owns a database connection of its own that never writes. SQLite's
//! [`PRAGMA data_version`] on that connection changes whenever another connection (of this
//! process or another one) commits to the file, so [`Watcher::changed`] is one pragma on an
//! open connection: a few microseconds, no table read. [`Watcher::snapshot`] reads the
//! snapshot and the data version in the same read transaction, so a commit that lands between
//! the two is never missed: it shows as a change at the next check.
//!
//! [`PRAGMA data_version`]: https://www.sqlite.org/pragma.html#pragma_data_version

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rusqlite::Connection;

use super::rows::binding_algorithm;
use super::schema::{self, db};
use super::slots::Slots;
use super::transaction::Session;
use super::{Identity, KeyStore, fill_busy};
use crate::endpoint::{Endpoint, canonical_ip};
use crate::error::{Result, StoreError};
use crate::hostname::{self, MAX_HOST_LEN};
use crate::key::KeyAlgorithm;

impl KeyStore {
    /// Reads every binding and the identity it serves, in one read transaction: the store as
    /// it is now, held in memory. Every served entry is checked (MAC, certificate, key) as
    /// [`resolve`](Self::resolve) checks it; one that fails makes the whole snapshot fail,
    /// so that a holder keeps serving what it had rather than a partial store.
    ///
    /// To learn cheaply when to take the next one, use a [`Watcher`] instead.
    ///
    /// It also checks the whole state, as [`check`](Self::check) does: the store-level
    /// authenticator ([`StoreError::StateTampered`]) and the generation, which may not be
    /// older than one this handle has seen ([`StoreError::RolledBack`]).
    pub fn snapshot(&self) -> Result<Snapshot> {
        let (generation, snapshot) = self.read(|s| Ok((s.check_state()?, read_snapshot(s)?)))?;
        self.inner.observe(generation)?;
        Ok(snapshot)
    }

    /// A [`Watcher`]: a connection of its own that reads snapshots and tells whether anything
    /// was committed since the last one.
    pub fn watcher(&self) -> Result<Watcher> {
        let conn = schema::connect(&self.inner.path, self.inner.options.busy_timeout)?;
        Ok(Watcher {
            store: self.clone(),
            conn,
            seen: None,
        })
    }
}

/// A store's bindings and the identities they serve, as they were when it was read. Holds
/// decrypted private keys (each zeroized when its last holder drops it); cheap to share
/// behind an `Arc`.
pub struct Snapshot {
    identities: Vec<Arc<Identity>>,
    ports: HashMap<u16, PortBindings>,
    bindings: usize,
}

/// The bindings on one port. Every key was parsed from a stored endpoint, so every host name
/// here is a valid one, in lower case. Each endpoint holds the indexes of its entries, at most
/// one per key algorithm.
#[derive(Default)]
struct PortBindings {
    hosts: HashMap<Box<str>, Slots<usize>>,
    addresses: HashMap<IpAddr, Slots<usize>>,
    any_v4: Slots<usize>,
    any_v6: Slots<usize>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("bindings", &self.bindings)
            .field("identities", &self.identities.len())
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// What to serve on a connection to `local` that asked for `host` (the TLS SNI): exactly
    /// what [`KeyStore::resolve`]`(local.ip(), local.port(), host)` answered when the
    /// snapshot was read. The order is the host binding, the `*.` wildcard over the host's
    /// first label, the address binding, then the any-address of the address's family; an
    /// invalid SNI skips the two host steps.
    ///
    /// On an endpoint with both an ECDSA and an RSA entry, the ECDSA one, as
    /// [`KeyStore::resolve`] (see [`resolve_for`](Self::resolve_for) to choose per client).
    ///
    /// No allocation but the host-name check's, no lock, no I/O: hash lookups only.
    pub fn resolve(&self, host: Option<&str>, local: SocketAddr) -> Option<&Arc<Identity>> {
        self.resolve_for(host, local, &[KeyAlgorithm::Ecdsa, KeyAlgorithm::Rsa])
    }

    /// [`resolve`](Self::resolve) for a client that verifies signatures of `algorithms` only:
    /// exactly what [`KeyStore::resolve_for`] answered when the snapshot was read.
    pub fn resolve_for(
        &self,
        host: Option<&str>,
        local: SocketAddr,
        algorithms: &[KeyAlgorithm],
    ) -> Option<&Arc<Identity>> {
        let ecdsa = algorithms.contains(&KeyAlgorithm::Ecdsa);
        self.resolve_index(host, local.ip(), local.port())
            .choose(|_| ecdsa)
            .and_then(|i| self.identities.get(i))
    }

    /// The number of bindings.
    pub fn len(&self) -> usize {
        self.bindings
    }

    /// Whether nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.bindings == 0
    }

    /// The distinct identities the bindings serve, in no particular order.
    pub fn identities(&self) -> &[Arc<Identity>] {
        &self.identities
    }

    /// The indexes in [`identities`](Self::identities) of the entries of the endpoint
    /// [`resolve`](Self::resolve) answers from (empty when nothing is bound); their
    /// [`Slots::choose`] picks one for a client.
    pub(crate) fn resolve_index(&self, host: Option<&str>, ip: IpAddr, port: u16) -> Slots<usize> {
        let Some(table) = self.ports.get(&port) else {
            return Slots::default();
        };
        if let Some(sni) = host
            && !table.hosts.is_empty()
            && let Some(i) = table.host(sni)
        {
            return i;
        }
        let ip = canonical_ip(ip);
        if !ip.is_unspecified()
            && let Some(&i) = table.addresses.get(&ip)
        {
            return i;
        }
        if ip.is_ipv6() {
            table.any_v6
        } else {
            table.any_v4
        }
    }
}

impl PortBindings {
    /// The host step of [`Endpoint::candidates`] without its allocations: the exact name, then
    /// `*.` over its parent. A wildcard key is looked up without checking that `*.parent` is a
    /// valid name: only valid names are keys, so an invalid one finds nothing, as in
    /// `candidates`.
    fn host(&self, sni: &str) -> Option<Slots<usize>> {
        if sni.starts_with("*.") || hostname::check_host_name(sni, true).is_err() {
            return None;
        }
        // A valid name is ASCII and at most MAX_HOST_LEN bytes long (just checked).
        let mut buf = [0u8; MAX_HOST_LEN];
        let name = buf.get_mut(..sni.len())?;
        name.copy_from_slice(sni.as_bytes());
        name.make_ascii_lowercase();
        if let Some(&i) = std::str::from_utf8(name)
            .ok()
            .and_then(|exact| self.hosts.get(exact))
        {
            return Some(i);
        }
        // `*.parent`: overwrite the byte before the first dot (labels are not empty, so the
        // dot is at 1 or later) with `*`.
        let dot = name.iter().position(|&b| b == b'.')?;
        let wild = name.get_mut(dot.checked_sub(1)?..)?;
        *wild.first_mut()? = b'*';
        std::str::from_utf8(wild)
            .ok()
            .and_then(|w| self.hosts.get(w))
            .copied()
    }
}

/// A connection of its own to a store, that reads [`Snapshot`]s and tells whether anything
/// was committed since the last one. `Send`, not `Sync`: keep it behind a `Mutex` to share it.
///
/// The connection never writes. SQLite's [`PRAGMA data_version`] on it changes whenever
/// another connection (of this process or another one) commits to the file, so
/// [`changed`](Self::changed) is one pragma on an open connection: a few microseconds, no
/// table read. [`snapshot`](Self::snapshot) reads the snapshot and the data version in the
/// same read transaction, so a commit that lands between the two is never missed: it shows as
/// a change at the next check.
///
/// ```
/// # fn main() -> keymanager::Result<()> {
/// use keymanager::{CertificateRequest, DistinguishedName, KdfParams, KeyStore, StoreOptions};
///
/// let options = StoreOptions::new().kdf(KdfParams::new(64, 1, 1)?); // weak: tests only
/// let store = KeyStore::open_in_memory_with("passphrase", &options)?;
/// let mut watcher = store.watcher()?;
/// let snapshot = watcher.snapshot()?; // serve from this...
/// assert!(snapshot.is_empty());
/// assert!(!watcher.changed()?); // ...until this says otherwise
/// store.begin()?.commit()?; // an empty commit changes nothing
/// assert!(!watcher.changed()?);
/// let dn: DistinguishedName = "CN=www.example.com".parse()?;
/// let mut tx = store.begin()?;
/// tx.create_pending("www", &CertificateRequest::builder(dn), 2048)?;
/// tx.commit()?;
/// assert!(watcher.changed()?);
/// assert!(watcher.snapshot()?.is_empty()); // nothing bound yet
/// assert!(!watcher.changed()?);
/// # Ok(())
/// # }
/// ```
///
/// [`PRAGMA data_version`]: https://www.sqlite.org/pragma.html#pragma_data_version
pub struct Watcher {
    store: KeyStore,
    conn: Connection,
    /// The data version the last snapshot was read at.
    seen: Option<i64>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("store", &self.store)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// Reads a snapshot, as [`KeyStore::snapshot`], and remembers the moment it was read
    /// at for [`changed`](Self::changed).
    pub fn snapshot(&mut self) -> Result<Snapshot> {
        let kek = self.store.inner.kek();
        let conn = &self.conn;
        let result = (|| {
            conn.execute_batch("BEGIN DEFERRED")
                .map_err(db("beginning a read"))?;
            let read = (|| -> Result<(i64, u64, Snapshot)> {
                let version = data_version(conn)?;
                let session = Session { conn, kek: &kek };
                let generation = session.check_state()?;
                let snapshot = read_snapshot(&session)?;
                Ok((version, generation, snapshot))
            })();
            let end = conn.execute_batch("COMMIT").map_err(db("ending a read"));
            let read = read?;
            end?;
            Ok(read)
        })();
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let (version, generation, snapshot) =
            result.map_err(|e| fill_busy(e, self.store.inner.options.busy_timeout))?;
        // A state older than one seen is refused: the holder keeps serving the newer one.
        self.store.inner.observe(generation)?;
        self.seen = Some(version);
        Ok(snapshot)
    }

    /// Whether anything was committed to the store, by this process or another one, since the
    /// last [`snapshot`](Self::snapshot) was read (`true` before the first one). One pragma
    /// on an open connection: no table is read.
    ///
    /// It may say `true` for a commit that changed nothing a snapshot holds (a new pending
    /// key); it never says `false` after a commit that did.
    pub fn changed(&mut self) -> Result<bool> {
        let now = data_version(&self.conn)?;
        Ok(self.seen != Some(now))
    }

    /// The store this watcher reads.
    pub fn store(&self) -> &KeyStore {
        &self.store
    }
}

fn data_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(db("checking for changes"))
}

/// Reads every binding and builds the identity of each bound entry once.
fn read_snapshot(session: &Session<'_>) -> Result<Snapshot> {
    let rows: Vec<(String, String, i64)> = {
        let mut st = session
            .conn
            .prepare_cached("SELECT endpoint, algorithm, entry_id FROM bindings")
            .map_err(db("reading bindings"))?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
            .map_err(db("reading bindings"))?
    };
    let mut by_entry: HashMap<i64, (usize, KeyAlgorithm)> = HashMap::new();
    let mut identities = Vec::new();
    let mut ports: HashMap<u16, PortBindings> = HashMap::new();
    for (text, algorithm, entry_id) in &rows {
        let endpoint: Endpoint = text.parse().map_err(|_| StoreError::Corrupt {
            reason: format!("stored binding `{}` does not parse", text.escape_debug()),
        })?;
        let algorithm = binding_algorithm(algorithm)?;
        let index = match by_entry.entry(*entry_id) {
            MapEntry::Occupied(o) if o.get().1 == algorithm => o.get().0,
            MapEntry::Occupied(_) => {
                // The same entry under both algorithms: one binding's algorithm was changed.
                return Err(session
                    .bound_identity(*entry_id, algorithm)
                    .err()
                    .unwrap_or_else(|| {
                        StoreError::Corrupt {
                            reason: "an entry is bound under two key algorithms".into(),
                        }
                        .into()
                    }));
            }
            MapEntry::Vacant(v) => {
                identities.push(Arc::new(session.bound_identity(*entry_id, algorithm)?));
                v.insert((identities.len() - 1, algorithm)).0
            }
        };
        let table = ports.entry(endpoint.port()).or_default();
        match (endpoint.host_name(), endpoint.ip()) {
            (Some(host), _) => {
                table
                    .hosts
                    .entry(host.into())
                    .or_default()
                    .set(algorithm, index);
            }
            (None, Some(ip)) if endpoint.is_any_address() => {
                if ip.is_ipv6() {
                    table.any_v6.set(algorithm, index);
                } else {
                    table.any_v4.set(algorithm, index);
                }
            }
            (None, Some(ip)) => {
                table.addresses.entry(ip).or_default().set(algorithm, index);
            }
            (None, None) => {}
        }
    }
    Ok(Snapshot {
        identities,
        ports,
        bindings: rows.len(),
    })
}
