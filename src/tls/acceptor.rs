//! [`TlsAcceptor`]: a per-connection TLS acceptor for tokio servers (feature `tokio`), which
//! resolves each connection with its own local address and its ClientHello.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use rustls::ServerConfig;
use rustls::server::{Acceptor, ClientHello};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use super::StoreResolver;
use crate::error::Result;

/// Accepts TLS connections for a tokio server, choosing the identity per connection from its
/// **own local address** and its ClientHello (SNI), as [`KeyStore::resolve`] does.
///
/// Where [`StoreResolver`] alone only knows the listening socket's address, this reads the
/// ClientHello first (tokio-rustls's `LazyConfigAcceptor`), then resolves with the
/// connection's `local_addr()`. So one acceptor, on a dual-stack `[::]:443` listener, serves
/// an IPv4 client (`[::ffff:192.0.2.10]:443`, counted as IPv4) with the `0.0.0.0:443` or
/// `192.0.2.10:443` binding and an IPv6 client with `[::]:443`; and one acceptor serves
/// several listeners (`0.0.0.0:443` and `[::]:443`) alike.
///
/// Each identity gets its own `rustls::ServerConfig` (with this acceptor's ALPN protocols),
/// built at its first connection, cached, and replaced when the resolver's refresh swaps in a
/// new snapshot (an unchanged identity keeps its config, and with it its session cache). The
/// resolver's hooks and policy apply: [`on_miss`](super::StoreResolverBuilder::on_miss) sees
/// each refused connection with its real local address,
/// [`strict_sni`](super::StoreResolverBuilder::strict_sni) refuses unknown names,
/// [`on_change`](super::StoreResolverBuilder::on_change) reports reloads. A refused connection
/// gets a TLS alert (as from a `ServerConfig` with nothing to serve) and an error.
///
/// Signing uses the process's default rustls `CryptoProvider` (see the module documentation).
/// With feature `acme`, a handshake offering `acme-tls/1` gets the store's tls-alpn-01
/// challenge certificate, as with [`StoreResolver`].
///
/// ```no_run
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// use keymanager::KeyStore;
/// use keymanager::tls::{StoreResolver, TlsAcceptor};
///
/// let store = KeyStore::open_async("/var/lib/myserver/keys.db", "passphrase", &Default::default()).await?;
/// let listener = tokio::net::TcpListener::bind("[::]:443").await?;
/// let resolver = StoreResolver::builder(&store, listener.local_addr()?)
///     .on_miss(|sni, local| eprintln!("refused: SNI {sni:?} on {local}"))
///     .on_change(|_, new| eprintln!("serving generation {}", new.generation()))
///     .build()?;
/// let acceptor = TlsAcceptor::new(resolver).alpn_protocols([b"h2".to_vec(), b"http/1.1".to_vec()]);
/// loop {
///     let (tcp, _) = listener.accept().await?;
///     let acceptor = acceptor.clone();
///     tokio::spawn(async move {
///         if let Ok(tls) = acceptor.accept(tcp).await {
///             // serve HTTP on `tls` (hyper, axum, ...)
/// #           drop(tls);
///         }
///     });
/// }
/// # }
/// ```
///
/// [`KeyStore::resolve`]: crate::KeyStore::resolve
#[derive(Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub struct TlsAcceptor {
    inner: Arc<Inner>,
}

struct Inner {
    resolver: Arc<StoreResolver>,
    alpn: Vec<Vec<u8>>,
    configs: Mutex<Configs>,
    /// Answers a refused connection: it has nothing to serve, so the handshake ends with an
    /// alert.
    refusing: OnceLock<Arc<ServerConfig>>,
}

/// The config of each key served, made on first use, by the key's address. Each entry holds
/// a `Weak` to its key, which keeps that address from being reused while the entry exists; an
/// unchanged identity keeps its key across reloads, so its config (and session cache) too.
/// Entries of keys no longer served are pruned as the map grows.
#[derive(Default)]
struct Configs {
    by_key: HashMap<usize, (Weak<CertifiedKey>, Arc<ServerConfig>)>,
    /// The size at which dead entries are next pruned.
    prune_at: usize,
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("resolver", &self.inner.resolver)
            .finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    /// An acceptor serving what `resolver` serves (its snapshot, refresh, hooks and SNI
    /// policy), with no ALPN protocol.
    pub fn new(resolver: Arc<StoreResolver>) -> TlsAcceptor {
        TlsAcceptor {
            inner: Arc::new(Inner {
                resolver,
                alpn: Vec::new(),
                configs: Mutex::default(),
                refusing: OnceLock::new(),
            }),
        }
    }

    /// The ALPN protocols to offer, in order of preference (`h2`, `http/1.1`, ...). Set it
    /// before the first connection and before cloning: a clone shares the setting it had.
    pub fn alpn_protocols(self, protocols: impl IntoIterator<Item = Vec<u8>>) -> TlsAcceptor {
        let inner = Inner {
            resolver: Arc::clone(&self.inner.resolver),
            alpn: protocols.into_iter().collect(),
            configs: Mutex::default(),
            refusing: OnceLock::new(),
        };
        TlsAcceptor {
            inner: Arc::new(inner),
        }
    }

    /// The resolver: its snapshot, [`refresh`](StoreResolver::refresh), its local address.
    pub fn resolver(&self) -> &Arc<StoreResolver> {
        &self.inner.resolver
    }

    /// Accepts a TLS connection on `stream`, resolved with `stream.local_addr()`.
    ///
    /// Bound the time a client may take with `tokio::time::timeout` around it. An error is
    /// an I/O error, a handshake the client broke off, or a refused one (nothing bound for
    /// it: `on_miss` was told).
    pub async fn accept(&self, stream: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        let local = stream.local_addr()?;
        self.accept_at(stream, local).await
    }

    /// [`accept`](Self::accept) on any stream, resolved as a connection to `local` (for a
    /// stream that is not a `TcpStream`, or behind a proxy that tells the original address).
    pub async fn accept_at<IO>(&self, io: IO, local: SocketAddr) -> io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let start = LazyConfigAcceptor::new(Acceptor::default(), io).await?;
        let config = self.config_for(&start.client_hello(), local);
        match config {
            Some(config) => start.into_stream(config).await,
            None => {
                let refusing = self.refusing()?;
                // The handshake fails (rustls sends the alert); if it somehow did not, the
                // connection is still refused.
                start.into_stream(refusing).await?;
                Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "nothing is bound for this connection",
                ))
            }
        }
    }

    /// The `ServerConfig` for a connection to `local` whose ClientHello is `hello`: what
    /// [`accept_at`](Self::accept_at) uses, for servers that drive `LazyConfigAcceptor`
    /// themselves. `None` when it is refused (and `on_miss` was told).
    pub fn config_for(
        &self,
        hello: &ClientHello<'_>,
        local: SocketAddr,
    ) -> Option<Arc<ServerConfig>> {
        let resolver = &self.inner.resolver;
        #[cfg(feature = "acme")]
        if let Some(challenge) = resolver.acme_challenge(hello) {
            let alpn = vec![super::ACME_TLS_ALPN.to_vec()];
            return self.build(challenge, alpn).ok();
        }
        let served = resolver.served.load();
        let sni = hello.server_name();
        let schemes = hello.signature_schemes();
        let Some(key) = resolver.key_for(&served, sni, local, schemes) else {
            resolver.missed(sni, local);
            return None;
        };
        if let Some(config) = self.cached(&key) {
            return Some(config);
        }
        match self.build(Arc::clone(&key), self.inner.alpn.clone()) {
            Ok(config) => Some(self.remember(&key, config)),
            Err(e) => {
                (resolver.on_error)(&e);
                resolver.missed(sni, local);
                None
            }
        }
    }

    /// The config made for `key`, if any.
    fn cached(&self, key: &Arc<CertifiedKey>) -> Option<Arc<ServerConfig>> {
        let configs = self
            .inner
            .configs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (_, config) = configs.by_key.get(&(Arc::as_ptr(key) as usize))?;
        Some(Arc::clone(config))
    }

    /// Keeps `config` for `key` (or the one another connection made first); returns it.
    fn remember(&self, key: &Arc<CertifiedKey>, config: Arc<ServerConfig>) -> Arc<ServerConfig> {
        let mut configs = self
            .inner
            .configs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if configs.by_key.len() >= configs.prune_at {
            configs.by_key.retain(|_, (key, _)| key.strong_count() > 0);
            configs.prune_at = (configs.by_key.len() * 2).max(64);
        }
        let (_, config) = configs
            .by_key
            .entry(Arc::as_ptr(key) as usize)
            .or_insert_with(|| (Arc::downgrade(key), config));
        Arc::clone(config)
    }

    /// A config serving `key` alone.
    fn build(&self, key: Arc<CertifiedKey>, alpn: Vec<Vec<u8>>) -> Result<Arc<ServerConfig>> {
        let mut config = super::server_config_builder()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(key)));
        config.alpn_protocols = alpn;
        Ok(Arc::new(config))
    }

    fn refusing(&self) -> io::Result<Arc<ServerConfig>> {
        if let Some(config) = self.inner.refusing.get() {
            return Ok(Arc::clone(config));
        }
        let config = super::server_config_builder()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Refuse));
        Ok(Arc::clone(
            self.inner.refusing.get_or_init(|| Arc::new(config)),
        ))
    }
}

/// Resolves nothing: the handshake is refused with an alert.
#[derive(Debug)]
struct Refuse;

impl rustls::server::ResolvesServerCert for Refuse {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        None
    }
}
