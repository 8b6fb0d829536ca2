//! tls-alpn-01 (RFC 8737) in [`StoreResolver`]: a handshake that offers ALPN `acme-tls/1` for
//! a name with a pending challenge in the store gets the challenge certificate (feature
//! `acme`).
//!
//! The challenge is read from the store at the handshake, not from the resolver's snapshot:
//! it is served as soon as [`Acme::issue`](crate::acme::Acme::issue) has committed it, by
//! every process sharing the store file, with no refresh to wait for. Only handshakes
//! offering `acme-tls/1` pay for the read (one indexed row and a P-256 key parse); the
//! others are untouched.
//!
//! How a server enables it: see [`ACME_TLS_ALPN`].

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::ClientHello;
use rustls::sign::CertifiedKey;

use super::StoreResolver;
use crate::error::Error;
use crate::store::KeyStore;

/// The ALPN protocol of tls-alpn-01 challenges (RFC 8737 §6.2). With feature `acme`,
/// [`StoreResolver`] answers a handshake offering it with the challenge certificate that
/// `keymanager::acme` committed for the handshake's SNI (read from the store at the handshake,
/// so it is served at once, by any process sharing the store file).
///
/// The server's `ServerConfig` must offer the protocol, or rustls refuses the CA's handshake
/// (no common ALPN protocol): add [`ACME_TLS_ALPN`] to `alpn_protocols`, and close any
/// connection that negotiated it right after the handshake (RFC 8737 §3: it carries no
/// application data).
///
/// ```no_run
/// # fn main() -> keymanager::Result<()> {
/// use keymanager::{KeyStore, tls::{ACME_TLS_ALPN, StoreResolver}};
///
/// let store = KeyStore::open("/etc/myserver/keys.db", "passphrase")?;
/// let resolver = StoreResolver::new(&store, "0.0.0.0:443".parse().unwrap())?;
/// let mut config = rustls::ServerConfig::builder()
///     .with_no_client_auth()
///     .with_cert_resolver(resolver);
/// config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
/// // After each handshake: if conn.alpn_protocol() == Some(ACME_TLS_ALPN), close it.
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "acme")))]
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

impl StoreResolver {
    /// The tls-alpn-01 challenge certificate for this handshake, when it offers
    /// `acme-tls/1` and the store holds a challenge for its SNI.
    pub(super) fn acme_challenge(&self, hello: &ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if !offers_acme_tls(hello) {
            return None;
        }
        let store = self
            .refresher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .store()
            .clone();
        challenge_key(&store, hello, &*self.on_error)
    }
}

/// Whether the handshake offers ALPN `acme-tls/1`.
pub(crate) fn offers_acme_tls(hello: &ClientHello<'_>) -> bool {
    hello
        .alpn()
        .is_some_and(|mut p| p.any(|p| p == ACME_TLS_ALPN))
}

/// The challenge certificate the store holds for the handshake's SNI, as rustls serves it;
/// a store error goes to `on_error` (and the handshake gets no challenge certificate).
pub(crate) fn challenge_key(
    store: &KeyStore,
    hello: &ClientHello<'_>,
    on_error: &dyn Fn(&Error),
) -> Option<Arc<CertifiedKey>> {
    let sni = hello.server_name()?.to_ascii_lowercase();
    let challenge = match store.acme_tls_alpn(&sni) {
        Ok(found) => found?,
        Err(e) => {
            on_error(&e);
            return None;
        }
    };
    // The key provider takes the key by value (see `certified_key`).
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(challenge.key_pkcs8.to_vec()));
    let signing = match super::provider().and_then(|p| {
        p.key_provider.load_private_key(key).map_err(|e| {
            crate::error::TlsError::Unusable {
                entry: format!("the tls-alpn-01 challenge for {sni}"),
                reason: e.to_string(),
            }
            .into()
        })
    }) {
        Ok(signing) => signing,
        Err(e) => {
            on_error(&e);
            return None;
        }
    };
    Some(Arc::new(CertifiedKey::new(
        vec![CertificateDer::from(challenge.certificate)],
        signing,
    )))
}
