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
//! # Incremental refresh
//!
//! A [`Watcher`] keeps what it last read and, after a commit, re-reads only the entries the
//! store's change log names for the generations since (see [`refresh`](self::refresh)): the
//! identities of the others, and everything built from them, are shared with the new
//! snapshot. Keys stay sealed until first used ([`Identity::private_key`]).
//!
//! [`PRAGMA data_version`]: https://www.sqlite.org/pragma.html#pragma_data_version

mod refresh;
mod shared;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use rusqlite::Connection;

use super::entry::Certificates;
use super::schema::{self, db};
use super::slots::Slots;
use super::transaction::Session;
use super::{Identity, Kek, KeyStore, fill_busy};
use crate::endpoint::{Endpoint, canonical_ip};
use crate::error::Result;
use crate::hostname::{self, MAX_HOST_LEN};
use crate::key::KeyAlgorithm;
use refresh::Held;
use shared::{Chunked, Sharded};

impl KeyStore {
    /// Reads every binding and the identity it serves, in one read transaction: the store as
    /// it is now, held in memory. Every served entry is checked (MAC, certificate) as
    /// [`resolve`](Self::resolve) checks it; one that fails makes the whole snapshot fail,
    /// so that a holder keeps serving what it had rather than a partial store. Keys stay
    /// sealed until first used ([`Identity::private_key`]); [`Snapshot::preload`] opens them
    /// all now.
    ///
    /// To learn cheaply when to take the next one, use a [`Watcher`] instead.
    ///
    /// It also checks the whole state, as [`check`](Self::check) does: the store-level
    /// authenticator ([`StoreError::StateTampered`](crate::error::StoreError::StateTampered)) and the generation, which may not be
    /// older than one this handle has seen
    /// ([`StoreError::RolledBack`](crate::error::StoreError::RolledBack)).
    pub fn snapshot(&self) -> Result<Snapshot> {
        let kek = self.inner.kek();
        let (generation, (mut snapshot, _)) = self.read(|s| {
            let snapshot = read_snapshot(s, &kek, None, &mut Certificates::default())?;
            Ok((s.check_state()?, snapshot))
        })?;
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
            held: None,
        })
    }
}

/// A store's bindings and the identities they serve, as they were when it was read. Holds
/// sealed private keys, each opened the first time it is used and zeroized when its last
/// holder drops it; cheap to share behind an `Arc`.
pub struct Snapshot {
    /// Each identity with its entry and the endpoints bound to it; the bindings name them by
    /// index.
    entries: Chunked<(Arc<Identity>, Slot)>,
    ports: HashMap<u16, Arc<PortBindings>>,
    bindings: usize,
    /// [`identities`](Self::identities), made on its first call.
    all: OnceLock<Vec<Arc<Identity>>>,
    generation: u64,
}

/// Which entry an identity is, and what is bound to it.
#[derive(Clone)]
struct Slot {
    id: i64,
    /// The algorithm of its key: the slot its bindings fill on each endpoint.
    algorithm: KeyAlgorithm,
    endpoints: Arc<[Endpoint]>,
}

/// The bindings on one port, each naming the indexes in [`Snapshot::identities`] of its
/// entries, at most one per key algorithm. Every key was parsed from a stored endpoint, so
/// every host name here is a valid one, in lower case.
#[derive(Default, Clone)]
struct PortBindings {
    hosts: Sharded<Arc<str>, Slots<usize>>,
    addresses: Sharded<IpAddr, Slots<usize>>,
    any_v4: Slots<usize>,
    any_v6: Slots<usize>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("bindings", &self.bindings)
            .field("identities", &self.entries.len())
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
            .and_then(|i| self.identity(i))
    }

    /// The number of bindings.
    pub fn len(&self) -> usize {
        self.bindings
    }

    /// Whether nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.bindings == 0
    }

    /// The distinct identities the bindings serve, in no particular order. The list is made
    /// at the first call (a snapshot does not hold one otherwise, so that a refresh shares
    /// its parts with the previous snapshot instead of copying them).
    pub fn identities(&self) -> &[Arc<Identity>] {
        self.all
            .get_or_init(|| self.entries.iter().map(|(i, _)| Arc::clone(i)).collect())
    }

    /// Opens every identity's key now (each at most once, as a handshake would), for a
    /// server that wants every failure at startup; returns the first one.
    pub fn preload(&self) -> Result<()> {
        for (identity, _) in self.entries.iter() {
            identity.private_key()?;
        }
        Ok(())
    }

    /// The identity at `index` (an index [`resolve_index`](Self::resolve_index) gave).
    pub(crate) fn identity(&self, index: usize) -> Option<&Arc<Identity>> {
        self.entries.get(index).map(|(identity, _)| identity)
    }

    /// Every identity, in the order of [`identities`](Self::identities).
    #[cfg(feature = "rustls")]
    pub(crate) fn each_identity(&self) -> impl Iterator<Item = &Arc<Identity>> {
        self.entries.iter().map(|(identity, _)| identity)
    }

    /// The store's [generation](KeyStore::generation) the snapshot was read at.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether anything (a host, an address or an any-address) is bound on `port`.
    #[cfg(feature = "rustls")]
    pub(crate) fn binds_port(&self, port: u16) -> bool {
        self.ports.get(&port).is_some_and(|table| !table.is_empty())
    }

    /// The host step of [`resolve`](Self::resolve) alone: the entries bound to `host` or to
    /// `*.` its parent on `port`.
    #[cfg(feature = "rustls")]
    pub(crate) fn host_index(&self, host: &str, port: u16) -> Slots<usize> {
        self.ports
            .get(&port)
            .and_then(|table| table.host(host))
            .unwrap_or_default()
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

impl Snapshot {
    fn empty() -> Snapshot {
        Snapshot {
            entries: Chunked::new(),
            ports: HashMap::new(),
            bindings: 0,
            all: OnceLock::new(),
            generation: 0,
        }
    }

    /// A copy sharing every part (no identity, chunk or shard is copied: a few hundred
    /// reference counts), to be changed by [`push`](Self::push) and [`remove`](Self::remove),
    /// which copy only the chunk and shards they change.
    fn duplicate(&self) -> Snapshot {
        Snapshot {
            entries: self.entries.clone(),
            ports: self.ports.clone(),
            bindings: self.bindings,
            all: OnceLock::new(),
            generation: self.generation,
        }
    }

    /// Adds entry `id`'s identity, served on `endpoints` (none of which is bound here in the
    /// slot of its key's algorithm); returns its index.
    fn push(&mut self, id: i64, identity: Arc<Identity>, endpoints: Vec<Endpoint>) -> usize {
        let index = self.entries.len();
        let algorithm = identity.key_type().algorithm();
        for endpoint in &endpoints {
            self.point(endpoint, algorithm, Some(index));
        }
        self.bindings += endpoints.len();
        let slot = Slot {
            id,
            algorithm,
            endpoints: endpoints.into(),
        };
        self.entries.push((identity, slot));
        index
    }

    /// Removes the identity at `index` and its bindings; the last identity takes its index.
    /// Returns the entry of the one that moved.
    fn remove(&mut self, index: usize) -> Option<i64> {
        let (_, slot) = self.entries.swap_remove(index)?;
        for endpoint in slot.endpoints.iter() {
            self.point(endpoint, slot.algorithm, None);
        }
        self.bindings = self.bindings.saturating_sub(slot.endpoints.len());
        let moved = self.entries.get(index).map(|(_, slot)| slot.clone())?;
        for endpoint in moved.endpoints.iter() {
            self.point(endpoint, moved.algorithm, Some(index));
        }
        Some(moved.id)
    }

    /// Points the `algorithm` slot of `endpoint` at identity `index`, or empties it.
    fn point(&mut self, endpoint: &Endpoint, algorithm: KeyAlgorithm, index: Option<usize>) {
        let table = Arc::make_mut(self.ports.entry(endpoint.port()).or_default());
        match (endpoint.host_name(), endpoint.ip()) {
            (Some(host), _) => {
                let mut slots = table.hosts.get(host).copied().unwrap_or_default();
                slots.put(algorithm, index);
                if slots.is_empty() {
                    table.hosts.remove(host);
                } else {
                    table.hosts.insert(host.into(), slots);
                }
            }
            (None, Some(ip)) if endpoint.is_any_address() => {
                if ip.is_ipv6() {
                    table.any_v6.put(algorithm, index);
                } else {
                    table.any_v4.put(algorithm, index);
                }
            }
            (None, Some(ip)) => {
                let mut slots = table.addresses.get(&ip).copied().unwrap_or_default();
                slots.put(algorithm, index);
                if slots.is_empty() {
                    table.addresses.remove(&ip);
                } else {
                    table.addresses.insert(ip, slots);
                }
            }
            (None, None) => {}
        }
    }
}

impl PortBindings {
    /// Whether nothing is bound here (a refresh leaves a port's table empty when it unbinds
    /// the last endpoint).
    #[cfg(feature = "rustls")]
    fn is_empty(&self) -> bool {
        self.hosts.is_empty()
            && self.addresses.is_empty()
            && self.any_v4.is_empty()
            && self.any_v6.is_empty()
    }

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
    /// What the last snapshot was read from: the base of the next, incremental one.
    held: Option<Held>,
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
    /// at for [`changed`](Self::changed). After the first one, only what changed since the
    /// last one is read ([`refresh`](Self::refresh)).
    pub fn snapshot(&mut self) -> Result<Snapshot> {
        self.update()?;
        Ok(self.held.as_ref().map_or_else(Snapshot::empty, |held| {
            let mut snapshot = held.snapshot.duplicate();
            snapshot.generation = held.generation();
            snapshot
        }))
    }

    /// Reads what was committed since the last snapshot, if anything: `Some` with the new
    /// snapshot when anything it serves changed (always for the first call), `None` when
    /// nothing did.
    ///
    /// Only what changed is read: the entries the store's change log names for the
    /// generations since the last snapshot, each checked against its MAC, and the store-level
    /// authenticator checked incrementally: the digest held for the last snapshot, with the
    /// old and new tokens of the changed entries exchanged, must equal the one now stored,
    /// which holds only if those are all the entries that changed (the log is not trusted;
    /// when it does not add up, or the file changed but not the record, everything is read
    /// and checked, as [`KeyStore::snapshot`] does). The identities of the other entries are
    /// the same `Arc`s in the new snapshot. A commit that changed nothing served (a new
    /// pending key) costs the state record, the log and that entry's MAC: no snapshot is
    /// built.
    pub fn refresh(&mut self) -> Result<Option<Arc<Snapshot>>> {
        if self.held.is_some() && !self.changed()? {
            return Ok(None);
        }
        let changed = self.update()?;
        Ok(changed
            .then(|| self.held.as_ref().map(|h| Arc::clone(&h.snapshot)))
            .flatten())
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

    /// Reads the store in one read transaction: incrementally from what is held when it can,
    /// else in full. Returns whether the snapshot changed.
    fn update(&mut self) -> Result<bool> {
        let kek = self.store.inner.kek();
        let conn = &self.conn;
        let held = self.held.as_mut();
        let result = (|| {
            conn.execute_batch("BEGIN DEFERRED")
                .map_err(db("beginning a read"))?;
            let read = (|| -> Result<(i64, refresh::Step)> {
                let version = data_version(conn)?;
                let session = Session { conn, kek: &kek };
                Ok((version, refresh::read(&session, &kek, held)?))
            })();
            let end = conn.execute_batch("COMMIT").map_err(db("ending a read"));
            let read = read?;
            end?;
            Ok(read)
        })();
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let (version, step) =
            result.map_err(|e| fill_busy(e, self.store.inner.options.busy_timeout))?;
        // A state older than one seen is refused: the holder keeps serving the newer one.
        self.store.inner.observe(step.generation())?;
        self.seen = Some(version);
        Ok(refresh::apply(&mut self.held, step))
    }
}

fn data_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(db("checking for changes"))
}

/// Reads every binding and builds the identity of each bound entry once, its key sealed
/// under `kek` (this session's keys). An entry whose token is the one `reuse` holds for it is
/// unchanged: its identity is shared, not rebuilt. Returns where each entry's identity is.
fn read_snapshot(
    session: &Session<'_>,
    kek: &Arc<Kek>,
    reuse: Option<(&Held, &HashMap<i64, [u8; 32]>)>,
    shared: &mut Certificates,
) -> Result<(Snapshot, HashMap<i64, usize>)> {
    let ids: Vec<i64> = {
        let mut st = session
            .conn
            .prepare_cached("SELECT DISTINCT entry_id FROM bindings")
            .map_err(db("reading bindings"))?;
        st.query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
            .map_err(db("reading bindings"))?
    };
    let mut snapshot = Snapshot::empty();
    let mut index_of = HashMap::with_capacity(ids.len());
    for id in ids {
        let stored = session.stored(id)?;
        let endpoints = super::rows::parse_bindings(&stored.bindings)?;
        let kept = reuse.and_then(|(held, tokens)| {
            let same = held.tokens.contains_key(&id) && held.tokens.get(&id) == tokens.get(&id);
            let index = *held.index_of.get(&id)?;
            same.then(|| held.snapshot.identity(index).cloned())
                .flatten()
        });
        let identity = match kept {
            Some(identity) => identity,
            None => Arc::new(session.sealed_identity(stored, kek, shared)?),
        };
        index_of.insert(id, snapshot.push(id, identity, endpoints));
    }
    Ok((snapshot, index_of))
}
