//! What [`Acme::issue`](super::Acme::issue) gets a certificate for: [`IssueRequest`] and its
//! [`Identifier`]s.

use std::fmt;
use std::net::IpAddr;

use super::DEFAULT_BITS;
use crate::key::KeyType;

/// An identifier to certify: a DNS name, or an IP address (RFC 8738; not every CA offers
/// them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Identifier {
    /// A DNS name (`www.example.com`, `*.example.com` with dns-01).
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Dns(name) => f.write_str(name),
            Identifier::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// What [`Acme::issue`](super::Acme::issue) gets a certificate for: the store entry's name, the
/// identifiers and the key type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    pub(crate) name: String,
    pub(crate) identifiers: Vec<Identifier>,
    pub(crate) key_type: KeyType,
}

impl IssueRequest {
    /// A request for the entry `name` with the given DNS names (the first one is also the
    /// subject's common name) and an RSA key of [`DEFAULT_BITS`].
    pub fn new<S: Into<String>>(name: impl Into<String>, dns: impl IntoIterator<Item = S>) -> Self {
        Self {
            name: name.into(),
            identifiers: dns.into_iter().map(|d| Identifier::Dns(d.into())).collect(),
            key_type: KeyType::Rsa { bits: DEFAULT_BITS },
        }
    }

    /// Adds a DNS name.
    pub fn dns(mut self, name: impl Into<String>) -> Self {
        self.identifiers.push(Identifier::Dns(name.into()));
        self
    }

    /// Adds an IP address identifier (RFC 8738).
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.identifiers.push(Identifier::Ip(ip));
        self
    }

    /// An RSA key of this size (2048 by default).
    pub fn bits(mut self, bits: usize) -> Self {
        self.key_type = KeyType::Rsa { bits };
        self
    }

    /// The key type: RSA (2048 bits by default), or ECDSA P-256 or P-384 (which Let's Encrypt
    /// issues from its ECDSA intermediates). Renewals keep it.
    pub fn key_type(mut self, key_type: KeyType) -> Self {
        self.key_type = key_type;
        self
    }

    /// The key type asked for.
    pub fn requested_key_type(&self) -> KeyType {
        self.key_type
    }

    /// The entry's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The identifiers.
    pub fn identifiers(&self) -> &[Identifier] {
        &self.identifiers
    }
}
