//! [`StoreResolver`]: serves a [`KeyStore`]'s bindings to a rustls server (feature `rustls`).
//!
//! One resolver serves one listening socket (its local address and port). For each
//! handshake it picks the identity as [`KeyStore::resolve`] does: the SNI host binding, its
//! `*.` wildcard, the socket's `ip:port`, then the any-address `0.0.0.0:port` or `[::]:port`.
//!
//! rustls does not tell a resolver on which local address a connection arrived, so the
//! socket's own address is the one used. A socket bound to `0.0.0.0` or `[::]` therefore has
//! no address step: bindings to a specific address (`192.0.2.10:443`) are served only by a
//! resolver made for a socket bound to that address. And a dual-stack `[::]:443` socket
//! answers every IPv4 client with the `[::]:443` binding, never with `0.0.0.0:443`.
//!
//! **Servers that listen on `[::]` or on an any-address, and every tokio server, should use
//! [`TlsAcceptor`]** (feature `tokio`) instead: it resolves each connection with the
//! connection's own local address (an IPv4-mapped `[::ffff:192.0.2.10]` counts as IPv4) and
//! its ClientHello, through tokio-rustls's `LazyConfigAcceptor`. A synchronous server with
//! address bindings binds one socket per address (as `tls_server` binds `127.0.0.1`).
//!
//! # Hooks
//!
//! [`on_miss`](StoreResolverBuilder::on_miss) sees every refused handshake (its SNI and
//! local address); [`on_change`](StoreResolverBuilder::on_change) is called after each refresh
//! that changed what is served (old and new snapshot: generation, names, serials); the error
//! hook gets a [`TlsError::NothingBound`] warning when the store binds nothing on the
//! resolver's port. [`strict_sni`](StoreResolverBuilder::strict_sni) refuses a handshake whose
//! SNI no host binding names, instead of answering it with the address binding.
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
//! # Crypto provider
//!
//! This crate depends on rustls without its default features: it brings no crypto provider
//! of its own. Handshakes are signed with the process's installed rustls `CryptoProvider`
//! (its `key_provider` loads each identity's key), so a server that chose ring runs on ring
//! alone. When none is installed (`CryptoProvider::install_default`), the fallback is
//! aws-lc-rs in a build with feature `aws-lc-rs` or `acme`; without either, building a
//! resolver fails with [`TlsError::NoCryptoProvider`], which says what to call. A server should
//! install its provider at the start of `main`; rustls's own `ServerConfig::builder()` picks
//! one from rustls's crate features only when exactly one is on. `keymanager::rustls`
//! re-exports the rustls this crate is built on.
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
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::{Error, Result, TlsError};
use crate::key::KeyType;
use crate::store::{Identity, KeyStore, Slots, Snapshot, Watcher};

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

#[cfg(feature = "tokio")]
mod acceptor;
#[cfg(feature = "acme")]
pub(crate) mod acme;
#[cfg(feature = "tokio")]
pub use acceptor::TlsAcceptor;
#[cfg(feature = "acme")]
pub use acme::ACME_TLS_ALPN;

/// Called with each refresh error. The error never holds key material.
pub type ErrorHook = Arc<dyn Fn(&Error) + Send + Sync>;

/// Called with the SNI (if any) and the local address of each refused handshake.
pub type MissHook = Arc<dyn Fn(Option<&str>, SocketAddr) + Send + Sync>;

/// Called with the old and the new snapshot after a refresh that changed what is served.
pub type ChangeHook = Arc<dyn Fn(&Snapshot, &Snapshot) + Send + Sync>;

/// A `rustls` certificate resolver for one listening socket, serving a [`KeyStore`]'s
/// bindings from memory and picking up committed changes (see the
/// [module documentation](self)).
///
/// It resolves with the socket's own address, as rustls tells it nothing else: for a socket
/// bound to `[::]` (which answers IPv4 clients too) or to an any-address, and for tokio
/// servers, use `TlsAcceptor` (feature `tokio`), which resolves each connection with its own
/// local address.
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
    on_miss: Option<MissHook>,
    on_change: Option<ChangeHook>,
    strict_sni: bool,
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
    on_miss: Option<MissHook>,
    on_change: Option<ChangeHook>,
    strict_sni: bool,
}

impl std::fmt::Debug for StoreResolverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreResolverBuilder")
            .field("local", &self.local)
            .field("interval", &self.interval)
            .field("background", &self.background)
            .field("preload", &self.preload)
            .field("strict_sni", &self.strict_sni)
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
            on_miss: None,
            on_change: None,
            strict_sni: false,
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
        self.key_for(&served, server_name, self.local, signature_schemes)
    }

    /// The entry whose key [`lookup_for`](Self::lookup_for) answers for the same arguments:
    /// which certificate a handshake is served, for a server's logs or replies (rustls does not
    /// say). Read from the snapshot served now: a refresh between this call and the handshake
    /// may change the answer. Nothing is decrypted.
    pub fn identity_for(
        &self,
        server_name: Option<&str>,
        signature_schemes: &[SignatureScheme],
    ) -> Option<Arc<Identity>> {
        let served = self.served.load();
        self.identity_in(&served, server_name, self.local, signature_schemes)
            .cloned()
    }

    /// The entries of the endpoint `served` answers a connection to `local` asking for `sni`
    /// from, under this resolver's SNI policy (strict: a host binding or nothing).
    fn pick(&self, served: &Served, sni: Option<&str>, local: SocketAddr) -> Slots<usize> {
        match sni {
            Some(name) if self.strict_sni => served.snapshot.host_index(name, local.port()),
            _ => served.snapshot.resolve_index(sni, local.ip(), local.port()),
        }
    }

    /// The identity `served` answers a connection to `local` asking for `sni` with, for a
    /// client that offered `schemes`: on an endpoint with an ECDSA and an RSA entry, the ECDSA
    /// one when the client takes it.
    fn identity_in<'s>(
        &self,
        served: &'s Served,
        sni: Option<&str>,
        local: SocketAddr,
        schemes: &[SignatureScheme],
    ) -> Option<&'s Arc<Identity>> {
        let snapshot = &served.snapshot;
        let i = self.pick(served, sni, local).choose(|ecdsa| {
            snapshot
                .identity(ecdsa)
                .is_some_and(|identity| takes(identity.key_type(), schemes))
        })?;
        snapshot.identity(i)
    }

    /// The key of [`identity_in`](Self::identity_in)'s identity, opened at its first use.
    fn key_for(
        &self,
        served: &Served,
        sni: Option<&str>,
        local: SocketAddr,
        schemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        served_key(
            self.identity_in(served, sni, local, schemes)?,
            &*self.on_error,
        )
    }

    /// Reports a refused handshake to the miss hook.
    fn missed(&self, sni: Option<&str>, local: SocketAddr) {
        if let Some(hook) = &self.on_miss {
            hook(sni, local);
        }
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
        let previous = self.served.load_full();
        let served = Arc::new(build_served(snapshot, self.preload, &*self.on_error));
        self.served.store(Arc::clone(&served));
        drop(watcher);
        // The watcher gives a new snapshot only when something it serves changed.
        if previous.snapshot.binds_port(self.local.port()) {
            warn_if_nothing_bound(&served.snapshot, self.local, &*self.on_error);
        }
        if let Some(hook) = &self.on_change {
            hook(&previous.snapshot, &served.snapshot);
        }
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
        let sni = client_hello.server_name();
        let key = self.lookup_for(sni, client_hello.signature_schemes());
        if key.is_none() {
            self.missed(sni, self.local);
        }
        key
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

    /// Where refresh errors, unusable entries and the [`TlsError::NothingBound`] warning are
    /// reported, instead of standard error.
    pub fn on_error(mut self, hook: impl Fn(&Error) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// Called with the SNI (`None` when the client sent none) and the connection's local
    /// address of every handshake refused because nothing is bound for it (or, with
    /// [`strict_sni`](Self::strict_sni), because no host binding names its SNI). Runs on the
    /// handshake's path: keep it short (count, or log).
    pub fn on_miss(
        mut self,
        hook: impl Fn(Option<&str>, SocketAddr) + Send + Sync + 'static,
    ) -> Self {
        self.on_miss = Some(Arc::new(hook));
        self
    }

    /// Called after each refresh that changed what is served (a binding, or an identity's
    /// name, key or chain), with the snapshot served before and the one served from now on:
    /// their [`generation`](Snapshot::generation)s and [`identities`](Snapshot::identities)
    /// (names, `chain()[0].serial_hex()`), for a "now serving serial X" log line. A commit that
    /// changed nothing served (a new pending key) does not call it. Runs on the refreshing
    /// thread, after the new set is served.
    pub fn on_change(
        mut self,
        hook: impl Fn(&Snapshot, &Snapshot) + Send + Sync + 'static,
    ) -> Self {
        self.on_change = Some(Arc::new(hook));
        self
    }

    /// Refuse a handshake whose SNI no host binding (`www.example.com:443`,
    /// `*.example.com:443`) names, instead of answering it with the address or any-address
    /// binding (`false` by default). For multi-tenant servers, which must not hand one
    /// tenant's certificate to a client that asked for a name nobody here serves. A
    /// handshake without SNI is still answered by the address bindings.
    pub fn strict_sni(mut self, strict: bool) -> Self {
        self.strict_sni = strict;
        self
    }

    /// Reads the first snapshot, builds the keys, and starts the refresh thread. Fails with
    /// [`TlsError::NoCryptoProvider`] when the process has no rustls crypto provider installed
    /// and this build has no fallback (see the module documentation).
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
        // Nothing could be signed without one: refused here, not at every handshake.
        provider()?;
        let on_error = self.on_error.unwrap_or_else(|| Arc::new(default_on_error));
        let mut watcher = self.store.watcher()?;
        // The first refresh of a watcher always reads a snapshot.
        let snapshot = match watcher.refresh()? {
            Some(snapshot) => snapshot,
            None => Arc::new(watcher.snapshot()?),
        };
        let served = build_served(snapshot, self.preload, &*on_error);
        warn_if_nothing_bound(&served.snapshot, self.local, &*on_error);
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
                on_miss: self.on_miss,
                on_change: self.on_change,
                strict_sni: self.strict_sni,
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

/// Reports [`TlsError::NothingBound`] when `snapshot` binds nothing on `local`'s port.
fn warn_if_nothing_bound(snapshot: &Snapshot, local: SocketAddr, on_error: &dyn Fn(&Error)) {
    if !snapshot.binds_port(local.port()) {
        on_error(
            &TlsError::NothingBound {
                local,
                bindings: snapshot.len(),
            }
            .into(),
        );
    }
}

/// The rustls crypto provider that signs handshakes and builds configs: the process's
/// default (`CryptoProvider::get_default`, what `install_default` installed), else aws-lc-rs
/// when built with feature `aws-lc-rs` or `acme`, else [`TlsError::NoCryptoProvider`].
pub(crate) fn provider() -> Result<Arc<CryptoProvider>> {
    if let Some(provider) = CryptoProvider::get_default() {
        return Ok(Arc::clone(provider));
    }
    #[cfg(any(feature = "aws-lc-rs", feature = "acme"))]
    {
        static FALLBACK: std::sync::OnceLock<Arc<CryptoProvider>> = std::sync::OnceLock::new();
        Ok(Arc::clone(FALLBACK.get_or_init(|| {
            Arc::new(rustls::crypto::aws_lc_rs::default_provider())
        })))
    }
    #[cfg(not(any(feature = "aws-lc-rs", feature = "acme")))]
    Err(TlsError::NoCryptoProvider.into())
}

/// A server config builder on the crypto [`provider`], with rustls's safe default protocol
/// versions.
#[cfg(feature = "tokio")]
pub(crate) fn server_config_builder()
-> Result<rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier>> {
    rustls::ServerConfig::builder_with_provider(provider()?)
        .with_safe_default_protocol_versions()
        .map_err(|e| {
            TlsError::InvalidOptions {
                reason: format!("the crypto provider refuses rustls's protocol versions: {e}"),
            }
            .into()
        })
}

/// The identity as rustls serves it: its chain and a signing key from the crypto
/// [`provider`]'s key provider, checked to match.
fn certified_key(identity: &Identity) -> Result<Arc<CertifiedKey>> {
    let unusable = |reason: String| -> Error {
        TlsError::Unusable {
            entry: identity.name().to_owned(),
            reason,
        }
        .into()
    };
    let der = identity.pkcs8_der()?;
    // rustls's key providers take the key by value (as `ServerConfig::with_single_cert` hands
    // it over): this copy is theirs to parse and drop; ours is zeroized. The key is not kept
    // by the identity: the provider parses it, and `keys_match` below checks it against the
    // certificate.
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.to_vec()));
    let signing = provider()?
        .key_provider
        .load_private_key(key)
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

/// The error hook when none is set: one line on standard error. A standard error that cannot
/// be written (a pipe nobody reads, a log file on a full disk) drops the line: `eprintln!`
/// would panic there, in a handshake or in the refresh thread.
fn default_on_error(e: &Error) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "keymanager: TLS identities: {e}");
}

// Built without a fallback provider (`.ci/run`'s second pass, `--features rustls`). With one,
// `tests/tls/providers.rs` and `tests/ring_provider.rs` check that the installed provider,
// aws-lc-rs's or ring's, signs.
#[cfg(all(test, not(any(feature = "aws-lc-rs", feature = "acme"))))]
mod tests {
    use super::*;
    use crate::StoreOptions;

    /// No provider installed (nothing in the unit tests installs one) and none built in: a
    /// typed error that says what to call, rather than a guess.
    #[test]
    fn no_installed_provider_and_no_fallback_is_a_typed_error() {
        assert!(CryptoProvider::get_default().is_none());
        let options = StoreOptions::fast_for_tests();
        let store = KeyStore::open_in_memory_with("passphrase", &options).unwrap();
        match StoreResolver::new(&store, "127.0.0.1:443".parse().unwrap()) {
            Err(Error::Tls(e @ TlsError::NoCryptoProvider)) => {
                assert!(e.to_string().contains("install_default"), "{e}")
            }
            other => panic!("expected NoCryptoProvider, got {other:?}"),
        }
    }
}
