//! [`StoreResolver`]: serves a [`KeyStore`]'s bindings to a rustls server (feature `rustls`).
//!
//! One resolver serves one listening socket (its local address and port). For each
//! handshake it picks the identity as [`KeyStore::resolve`] does: the SNI host binding, its
//! `*.` wildcard, the socket's `ip:port`, then the any-address `0.0.0.0:port` or `[::]:port`.
//!
//! rustls does not tell a resolver on which local address a connection arrived, so the
//! socket's own address is the one used. A socket bound to `0.0.0.0` or `[::]` therefore has
//! no address step: bindings to a specific address (`192.0.2.10:443`) are served only by a
//! resolver made for a socket bound to that address. A server with address bindings binds one
//! socket per address (as `tls_server` binds `127.0.0.1`), or checks
//! `TcpStream::local_addr()` per connection and hands it to a `ServerConfig` whose resolver
//! was made for that address.
//!
//! # The handshake path
//!
//! Handshakes are answered from an in-memory [`Snapshot`] and an `Arc<CertifiedKey>` per
//! identity, behind an [`ArcSwap`]: a handshake does one atomic load and a few hash lookups.
//! No database query, no lock. An identity's key is opened (decrypted, parsed, and made into
//! the key rustls signs with) by the first handshake that needs it, once; every later
//! handshake reuses it. So a store of 100,000 entries starts without decrypting 100,000 keys;
//! [`preload`](StoreResolverBuilder::preload) opens them all up front instead, for a server
//! that wants every unusable key reported at startup.
//!
//! # Refresh
//!
//! A background thread (one per resolver, named `keymanager-tls-refresh`) wakes every
//! [`check_every`](StoreResolverBuilder::check_every) (1 s by default) and asks the store's
//! [`Watcher`] whether anything was committed since the snapshot was read (SQLite's
//! `PRAGMA data_version`: a few microseconds, no table read), by this process or another
//! one. If so, it reads what changed ([`Watcher::refresh`]: only the entries the commits
//! touched) and swaps the new set in at once: a handshake sees either the old set or the new
//! one, never a mix and never nothing, so no handshake fails because of the switch. Every
//! identity the commits did not touch, and its `CertifiedKey`, is shared with the new set, not
//! rebuilt; a commit that touched nothing served (a new pending key) swaps nothing. A
//! committed change is served within one interval plus the time to read it.
//!
//! A resumed TLS session does not ask the resolver: it keeps the certificate of the session
//! it resumes, as any TLS server does. A server that must stop serving an old certificate at
//! once should bound its session lifetime (rustls's `ServerConfig::session_storage` and
//! `ticketer`).
//!
//! Refresh work never runs on a handshake: the thread does it, and
//! [`refresh`](StoreResolver::refresh) lets a caller do it now (for instance right after its
//! own commit). The thread ends within one interval after the last `Arc` of the resolver is
//! dropped (it holds only a weak reference). With
//! [`background(false)`](StoreResolverBuilder::background) no thread is started and the
//! caller calls `refresh` on its own schedule.
//!
//! # Errors
//!
//! A refresh that fails (a tampered entry, the passphrase changed by another process, a
//! disk error) keeps serving the previous set and goes to the error hook
//! ([`on_error`](StoreResolverBuilder::on_error); by default a line on standard error); it is
//! retried at the next interval. An entry whose key the TLS library refuses (an RSA key under
//! 2048 bits), or whose sealed key does not open, is reported to the hook (as
//! [`TlsError::Unusable`] or [`StoreError::Tampered`](crate::error::StoreError::Tampered)) by
//! the first handshake that resolves to it (at build or refresh with
//! [`preload`](StoreResolverBuilder::preload)); handshakes that resolve to it fail, the others
//! are served.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::thread::Thread;
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::SignatureScheme;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::{Error, Result, TlsError};
use crate::key::KeyType;
use crate::store::{Identity, KeyStore, Snapshot, Watcher};

/// Every signature scheme rustls signs with: what [`StoreResolver::lookup`] assumes the client
/// offers.
const ALL_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP521_SHA512,
    SignatureScheme::ED25519,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
];

#[cfg(feature = "acme")]
pub(crate) mod acme;
#[cfg(feature = "acme")]
pub use acme::ACME_TLS_ALPN;

/// Called with each refresh error. The error never holds key material.
pub type ErrorHook = Arc<dyn Fn(&Error) + Send + Sync>;

/// A `rustls` certificate resolver for one listening socket, serving a [`KeyStore`]'s
/// bindings from memory and picking up committed changes (see the
/// [module documentation](self)).
///
/// ```no_run
/// # fn main() -> keymanager::Result<()> {
/// use std::sync::Arc;
/// use keymanager::{KeyStore, tls::StoreResolver};
///
/// let store = KeyStore::open("/etc/myserver/keys.db", "passphrase")?;
/// let resolver = StoreResolver::new(&store, "0.0.0.0:443".parse().unwrap())?;
/// let config = rustls::ServerConfig::builder()
///     .with_no_client_auth()
///     .with_cert_resolver(resolver);
/// # let _ = Arc::new(config);
/// # Ok(())
/// # }
/// ```
pub struct StoreResolver {
    local: SocketAddr,
    served: ArcSwap<Served>,
    refresher: Mutex<Watcher>,
    on_error: ErrorHook,
    preload: bool,
    thread: Option<Thread>,
}

/// What handshakes are answered from: a snapshot, whose identities each keep the key rustls
/// serves for them (see [`served_key`]).
struct Served {
    snapshot: Arc<Snapshot>,
}

/// How to build a [`StoreResolver`]: see [`StoreResolver::builder`].
pub struct StoreResolverBuilder {
    store: KeyStore,
    local: SocketAddr,
    interval: Duration,
    background: bool,
    preload: bool,
    on_error: Option<ErrorHook>,
}

impl std::fmt::Debug for StoreResolverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreResolverBuilder")
            .field("local", &self.local)
            .field("interval", &self.interval)
            .field("background", &self.background)
            .field("preload", &self.preload)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for StoreResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreResolver")
            .field("local", &self.local)
            .field("snapshot", &self.served.load().snapshot)
            .finish_non_exhaustive()
    }
}

/// Shortest refresh interval accepted.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

impl StoreResolver {
    /// A resolver for the socket listening on `local`, checking the store for changes every
    /// second in a background thread. Fails if the store's first snapshot cannot be read.
    pub fn new(store: &KeyStore, local: SocketAddr) -> Result<Arc<StoreResolver>> {
        Self::builder(store, local).build()
    }

    /// A builder, to set the refresh interval, the error hook, or no background thread.
    pub fn builder(store: &KeyStore, local: SocketAddr) -> StoreResolverBuilder {
        StoreResolverBuilder {
            store: store.clone(),
            local,
            interval: Duration::from_secs(1),
            background: true,
            preload: false,
            on_error: None,
        }
    }

    /// The key served to a handshake that asked for `server_name` (SNI) and offers every
    /// signature scheme: on an endpoint with an ECDSA and an RSA entry, the ECDSA one. `None`
    /// when nothing is bound (the handshake fails).
    ///
    /// The first handshake that resolves to an identity opens its key and builds what rustls
    /// signs with (see [`preload`](StoreResolverBuilder::preload)); the others reuse it.
    pub fn lookup(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        self.lookup_for(server_name, ALL_SCHEMES)
    }

    /// The key served to a handshake that asked for `server_name` and offered the
    /// `signature_schemes`: what [`ResolvesServerCert::resolve`] answers. On an endpoint with
    /// an ECDSA and an RSA entry, the ECDSA one when the ECDSA key can sign with one of the
    /// offered schemes (its curve's: `ecdsa_secp256r1_sha256` for P-256), else the RSA one,
    /// as nginx chooses.
    pub fn lookup_for(
        &self,
        server_name: Option<&str>,
        signature_schemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let served = self.served.load();
        let slots = served
            .snapshot
            .resolve_index(server_name, self.local.ip(), self.local.port());
        let snapshot = &served.snapshot;
        let i = slots.choose(|ecdsa| {
            snapshot
                .identity(ecdsa)
                .is_some_and(|identity| takes(identity.key_type(), signature_schemes))
        })?;
        served_key(snapshot.identity(i)?, &*self.on_error)
    }

    /// The snapshot handshakes are answered from now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.served.load().snapshot)
    }

    /// The socket this resolver serves.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Checks the store now, as the background thread does: if anything was committed since
    /// the snapshot was read, reads a new one and serves it. Returns whether it did. On error
    /// the previous set keeps being served (the error is returned, not sent to the hook).
    pub fn refresh(&self) -> Result<bool> {
        let mut watcher = self
            .refresher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(snapshot) = watcher.refresh()? else {
            return Ok(false);
        };
        // Still holding the watcher: two refreshes (the thread's and a caller's) store their
        // snapshots in the order they read them, so an older one never replaces a newer one.
        let served = build_served(snapshot, self.preload, &*self.on_error);
        self.served.store(Arc::new(served));
        drop(watcher);
        Ok(true)
    }

    /// The background thread's loop: until the resolver is gone, sleep, then refresh.
    fn run(weak: Weak<StoreResolver>, interval: Duration) {
        loop {
            std::thread::park_timeout(interval);
            let Some(resolver) = weak.upgrade() else {
                return;
            };
            if let Err(e) = resolver.refresh() {
                (resolver.on_error)(&e);
            }
        }
    }
}

impl Drop for StoreResolver {
    fn drop(&mut self) {
        // Wake the thread so that it sees the resolver is gone and ends now.
        if let Some(thread) = &self.thread {
            thread.unpark();
        }
    }
}

impl ResolvesServerCert for StoreResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // tls-alpn-01 (feature `acme`): the challenge certificate, for `acme-tls/1` only.
        #[cfg(feature = "acme")]
        if let Some(challenge) = self.acme_challenge(&client_hello) {
            return Some(challenge);
        }
        self.lookup_for(client_hello.server_name(), client_hello.signature_schemes())
    }
}

impl StoreResolverBuilder {
    /// How often the store is checked for changes: at most one `PRAGMA data_version` per
    /// interval. 1 s by default; at least 1 ms.
    pub fn check_every(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Whether to start the background refresh thread (`true` by default). Without it the
    /// resolver serves its first snapshot until [`StoreResolver::refresh`] is called.
    pub fn background(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// Whether to build every identity's key when a snapshot is read (at build and at each
    /// refresh, for the identities that changed), so that every unusable key is reported to
    /// the hook at once. `false` by default: a key is opened by the first handshake that
    /// needs it, so that a store of many entries starts without decrypting them all.
    pub fn preload(mut self, preload: bool) -> Self {
        self.preload = preload;
        self
    }

    /// Where refresh errors and unusable entries are reported, instead of standard error.
    pub fn on_error(mut self, hook: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// Reads the first snapshot, builds the keys, and starts the refresh thread.
    pub fn build(self) -> Result<Arc<StoreResolver>> {
        if self.interval < MIN_INTERVAL {
            return Err(TlsError::InvalidOptions {
                reason: format!(
                    "the refresh interval must be at least 1 ms, not {:?}",
                    self.interval
                ),
            }
            .into());
        }
        let on_error = self
            .on_error
            .unwrap_or_else(|| Arc::new(|e: &Error| eprintln!("keymanager: TLS identities: {e}")));
        let mut watcher = self.store.watcher()?;
        // The first refresh of a watcher always reads a snapshot.
        let snapshot = match watcher.refresh()? {
            Some(snapshot) => snapshot,
            None => Arc::new(watcher.snapshot()?),
        };
        let served = build_served(snapshot, self.preload, &*on_error);
        let interval = self.interval;
        let mut spawn_error = None;
        let resolver = Arc::new_cyclic(|weak: &Weak<StoreResolver>| {
            let thread = if self.background {
                let weak = weak.clone();
                match std::thread::Builder::new()
                    .name("keymanager-tls-refresh".into())
                    .spawn(move || StoreResolver::run(weak, interval))
                {
                    Ok(handle) => Some(handle.thread().clone()),
                    Err(e) => {
                        spawn_error = Some(e);
                        None
                    }
                }
            } else {
                None
            };
            StoreResolver {
                local: self.local,
                served: ArcSwap::from_pointee(served),
                refresher: Mutex::new(watcher),
                on_error,
                preload: self.preload,
                thread,
            }
        });
        if let Some(e) = spawn_error {
            return Err(TlsError::Thread {
                reason: e.to_string(),
            }
            .into());
        }
        Ok(resolver)
    }
}

/// What to serve from `snapshot`; with `preload`, every identity's key is built now (those
/// shared with the previous snapshot have theirs already).
fn build_served(snapshot: Arc<Snapshot>, preload: bool, on_error: &dyn Fn(&Error)) -> Served {
    if preload {
        for identity in snapshot.each_identity() {
            served_key(identity, on_error);
        }
    }
    Served { snapshot }
}

/// The identity's key as rustls serves it: built by the first handshake that needs it (or by
/// a preload) and kept with the identity, so built at most once, and shared by every snapshot
/// that shares the identity; `None` when it cannot be used (reported to `on_error` then).
fn served_key(identity: &Identity, on_error: &dyn Fn(&Error)) -> Option<Arc<CertifiedKey>> {
    let built = identity.attached.get_or_init(|| {
        let key = match certified_key(identity) {
            Ok(key) => Some(key),
            Err(e) => {
                on_error(&e);
                None
            }
        };
        Box::new(key)
    });
    // Only this module attaches anything to an identity, always this type.
    built
        .downcast_ref::<Option<Arc<CertifiedKey>>>()
        .cloned()
        .flatten()
}

/// Whether a client that offered `schemes` verifies the signatures of a `key`: for ECDSA,
/// whether it offered the scheme of the key's curve (what rustls's ECDSA signer would choose);
/// an RSA key signs with a scheme every TLS client takes.
fn takes(key: KeyType, schemes: &[SignatureScheme]) -> bool {
    let needed = match key {
        KeyType::EcdsaP256 => SignatureScheme::ECDSA_NISTP256_SHA256,
        KeyType::EcdsaP384 => SignatureScheme::ECDSA_NISTP384_SHA384,
        _ => return true,
    };
    schemes.contains(&needed)
}

/// The identity as rustls serves it: its chain and a signing key from the default
/// (aws-lc-rs) provider, checked to match.
fn certified_key(identity: &Identity) -> Result<Arc<CertifiedKey>> {
    let unusable = |reason: String| -> Error {
        TlsError::Unusable {
            entry: identity.name().to_owned(),
            reason,
        }
        .into()
    };
    // Borrowed from a zeroizing buffer: no copy of the key outlives this function. The key
    // is not parsed here (nor kept by the identity): rustls's provider parses it, and
    // `keys_match` below checks it against the certificate.
    let der = identity.pkcs8_der()?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.as_slice()));
    let signing = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|e| unusable(format!("its private key is refused ({e})")))?;
    let chain = identity
        .chain()
        .iter()
        .map(|c| CertificateDer::from(c.to_der().to_vec()))
        .collect();
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(e) => Err(unusable(format!(
            "its certificate and key do not match ({e})"
        ))),
    }
}
