#![doc = include_str!("../README.md")]
//!
//! # Blocking and async
//!
//! Every call of this crate is synchronous. Most return in microseconds; these block the
//! calling thread for longer, which on an async runtime's worker thread stalls every task
//! scheduled on it (times measured on a 2-vCPU machine, release build; a debug build of the
//! `argon2`, `rsa` and `crypto-bigint` crates is about ten times slower, see the README's tip
//! on `[profile.dev.package]`):
//!
//! | Call | Blocks for | Why |
//! |---|---|---|
//! | `KeyStore::open`, `create`, `change_passphrase` | 25–80 ms (the Argon2id cost the store names; O(entries) on top) | key derivation by design, and the whole-state check |
//! | `KeyStore::begin` | up to the busy timeout (5 s by default) while another writer, in any process, holds the store | SQLite's write lock |
//! | `Transaction::create_pending`, `renew` | ~50 ms at 2048 bits, seconds at 4096 | RSA key generation (spread is wide) |
//! | `Transaction::commit` | one or two fsyncs: milliseconds on an SSD, more on a busy disk | durability |
//! | `KeyStore::snapshot`, `Watcher::snapshot` | O(bindings): one decryption and check per served entry | reading the whole set |
//! | `KeyStore::resolve`, `entries`, `check` | ~0.2 ms per entry read | one read transaction, MACs, decryption |
//! | `tls::StoreResolver` handshakes, `Snapshot::resolve` | never: memory only | |
//!
//! What to do in async code:
//!
//! - open the store and build the resolver once, before serving (or with
//!   `KeyStore::open_async`, feature `tokio`);
//! - take write transactions with `KeyStore::try_begin` (never waits: `StoreError::Busy` at
//!   once) or `begin_timeout`, or with feature `tokio` `KeyStore::begin_async`,
//!   `Transaction::create_pending_async` and `Transaction::commit_async`, which run the same
//!   calls on tokio's blocking pool (`spawn_blocking`);
//! - never hold a `Transaction` across an `.await`: it holds the store's write lock, and every
//!   other writer waits (its documentation gives the `clippy.toml` setting that catches it);
//! - serve handshakes from `tls::StoreResolver` or, for tokio servers, `tls::TlsAcceptor`
//!   (feature `tokio`): their refresh runs on a thread of their own.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "acme")]
#[cfg_attr(docsrs, doc(cfg(feature = "acme")))]
pub mod acme;
pub mod certificate;
pub mod chain;
mod encoding;
pub mod endpoint;
pub mod error;
pub mod fingerprint;
mod hostname;
pub mod key;
pub mod name;
mod oid;
pub mod pkcs12;
pub mod request;
pub mod store;
#[cfg(test)]
mod testing;
mod time;
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub mod tls;
pub mod usage;
mod verify;

/// The rustls this crate's resolver is built on (0.23), for servers to use the same version.
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub use rustls;
/// The tokio-rustls this crate's acceptor is built on (0.26).
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use tokio_rustls;

pub use certificate::Certificate;
pub use chain::Chain;
pub use const_oid::ObjectIdentifier;
pub use endpoint::Endpoint;
pub use error::{Error, Result};
pub use fingerprint::Fingerprint;
pub use key::{
    KeyAlgorithm, KeyEncryption, KeyPolicy, KeySizePolicy, KeyType, PrivateKey, SignatureHash,
};
pub use name::{DistinguishedName, DistinguishedNameBuilder};
pub use pkcs12::{Pkcs12ExportOptions, Pkcs12Select};
pub use request::{CertificateRequest, CertificateRequestBuilder};
pub use store::{
    Entry, EntryState, Export, HealthOptions, HealthProblem, HealthReport, Identity,
    InstallOptions, KdfParams, KeyStore, Snapshot, StoreOptions, Transaction, Watcher,
};
pub use store::{Pkcs12Import, Pkcs12ImportOptions};
pub use usage::{ExtendedKeyUsage, KeyUsage, KeyUsages};
