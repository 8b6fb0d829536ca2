#![doc = include_str!("../README.md")]
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
pub mod tls;
pub mod usage;
mod verify;

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
