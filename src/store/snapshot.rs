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

use super::schema::{self, db};
use super::transaction::Session;
use super::{Identity, KeyStore, fill_busy};
use crate::endpoint::{Endpoint, canonical_ip};
use crate::error::{Result, StoreError};
use crate::hostname::{self, MAX_HOST_LEN};

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
        let (generation, mut snapshot) =
            self.read(|s| Ok((s.check_state()?, read_snapshot(s)?)))?;
        self.inner.observe(generation)?;
        snapshot.generation = generation;
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
    generation: u64,
}

/// The bindings on one port. Every key was parsed from a stored endpoint, so every host name
/// here is a valid one, in lower case.
#[derive(Default)]
struct PortBindings {
    hosts: HashMap<Box<str>, usize>,
    addresses: HashMap<IpAddr, usize>,
    any_v4: Option<usize>,
    any_v6: Option<usize>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("bindings", &self.bindings)
            .field("identities", &self.identities.len())
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// What to serve on a connection to `local` that asked for `host` (the TLS SNI): exactly
    /// what [`KeyStore::resolve`]`(host, local)` answered when the
    /// snapshot was read. The order is the host binding, the `*.` wildcard over the host's
    /// first label, the address binding, then the any-address of the address's family; an
    /// invalid SNI skips the two host steps.
    ///
    /// No allocation but the host-name check's, no lock, no I/O: hash lookups only.
    pub fn resolve(&self, host: Option<&str>, local: SocketAddr) -> Option<&Arc<Identity>> {
        self.resolve_index(host, local.ip(), local.port())
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

    /// The store's [generation](KeyStore::generation) the snapshot was read at.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether anything (a host, an address or an any-address) is bound on `port`.
    #[cfg(feature = "rustls")]
    pub(crate) fn binds_port(&self, port: u16) -> bool {
        self.ports.contains_key(&port)
    }

    /// The host step of [`resolve`](Self::resolve) alone: the identity bound to `host` or to
    /// `*.` its parent on `port`.
    #[cfg(feature = "rustls")]
    pub(crate) fn host_index(&self, host: &str, port: u16) -> Option<usize> {
        self.ports.get(&port)?.host(host)
    }

    /// Whether `other` answers every connection as this one does: the same endpoints bound
    /// to identities of the same name, key and chain (the generation aside).
    #[cfg(feature = "rustls")]
    pub(crate) fn serves_same_as(&self, other: &Snapshot) -> bool {
        let same = |a: Option<usize>, b: Option<usize>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => match (self.identities.get(a), other.identities.get(b)) {
                (Some(x), Some(y)) => {
                    x.name() == y.name()
                        && x.private_key().fingerprint() == y.private_key().fingerprint()
                        && x.same_chain(y)
                }
                _ => false,
            },
            _ => false,
        };
        self.bindings == other.bindings
            && self.ports.len() == other.ports.len()
            && self.ports.iter().all(|(port, a)| {
                other.ports.get(port).is_some_and(|b| {
                    same(a.any_v4, b.any_v4)
                        && same(a.any_v6, b.any_v6)
                        && a.hosts.len() == b.hosts.len()
                        && a.hosts
                            .iter()
                            .all(|(h, &i)| same(Some(i), b.hosts.get(h).copied()))
                        && a.addresses.len() == b.addresses.len()
                        && a.addresses
                            .iter()
                            .all(|(ip, &i)| same(Some(i), b.addresses.get(ip).copied()))
                })
            })
    }

    /// The index in [`identities`](Self::identities) of what [`resolve`](Self::resolve)
    /// answers.
    pub(crate) fn resolve_index(&self, host: Option<&str>, ip: IpAddr, port: u16) -> Option<usize> {
        let table = self.ports.get(&port)?;
        if let Some(sni) = host
            && !table.hosts.is_empty()
            && let Some(i) = table.host(sni)
        {
            return Some(i);
        }
        let ip = canonical_ip(ip);
        if !ip.is_unspecified()
            && let Some(&i) = table.addresses.get(&ip)
        {
            return Some(i);
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
    fn host(&self, sni: &str) -> Option<usize> {
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
        Ok(Snapshot {
            generation,
            ..snapshot
        })
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
    let rows: Vec<(String, i64)> = {
        let mut st = session
            .conn
            .prepare_cached("SELECT endpoint, entry_id FROM bindings")
            .map_err(db("reading bindings"))?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
            .map_err(db("reading bindings"))?
    };
    let mut by_entry: HashMap<i64, usize> = HashMap::new();
    let mut identities = Vec::new();
    let mut ports: HashMap<u16, PortBindings> = HashMap::new();
    for (text, entry_id) in &rows {
        let endpoint: Endpoint = text.parse().map_err(|_| StoreError::Corrupt {
            reason: format!("stored binding `{}` does not parse", text.escape_debug()),
        })?;
        let index = match by_entry.entry(*entry_id) {
            MapEntry::Occupied(o) => *o.get(),
            MapEntry::Vacant(v) => {
                identities.push(Arc::new(session.identity(*entry_id)?));
                *v.insert(identities.len() - 1)
            }
        };
        let table = ports.entry(endpoint.port()).or_default();
        match (endpoint.host_name(), endpoint.ip()) {
            (Some(host), _) => {
                table.hosts.insert(host.into(), index);
            }
            (None, Some(ip)) if endpoint.is_any_address() => {
                if ip.is_ipv6() {
                    table.any_v6 = Some(index);
                } else {
                    table.any_v4 = Some(index);
                }
            }
            (None, Some(ip)) => {
                table.addresses.insert(ip, index);
            }
            (None, None) => {}
        }
    }
    Ok(Snapshot {
        identities,
        ports,
        bindings: rows.len(),
        generation: 0,
    })
}
