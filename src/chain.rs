//! [`Chain`]: a server certificate and the CA certificates that issued it, in order, with every
//! link's signature checked.
//!
//! A CA sends its certificates in any order and any form (see
//! [`Certificate::parse_any`]); a TLS server must send them leaf first, each certificate
//! followed by its issuer ([RFC 8446 §4.4.2], [RFC 5246 §7.4.2]). [`Chain::build`] puts them in
//! that order and checks each link.
//!
//! This is not full path validation ([RFC 5280 §6]): it does not decide whether the chain ends
//! at a trusted root, nor check dates (see [`Chain::check_validity_at`]), name constraints or
//! policies. It makes sure the certificates a server will send belong together.
//!
//! [RFC 8446 §4.4.2]: https://datatracker.ietf.org/doc/html/rfc8446#section-4.4.2
//! [RFC 5246 §7.4.2]: https://datatracker.ietf.org/doc/html/rfc5246#section-7.4.2
//! [RFC 5280 §6]: https://datatracker.ietf.org/doc/html/rfc5280#section-6

use std::time::SystemTime;

use x509_cert::Version;

use crate::certificate::{self, Certificate, MAX_CERTIFICATES};
use crate::encoding;
use crate::error::{CertificateError, Result, SignatureError};
use crate::fingerprint::Fingerprint;

/// A leaf certificate followed by its issuers, issuer by issuer, each link verified.
///
/// ```text
/// certificates()[0]      the leaf: carries the server's public key
/// certificates()[1..]    intermediates, each the issuer of the one before
/// certificates().last()  possibly a self-signed root (see `root`)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Never empty: the leaf is always first.
    certs: Vec<Certificate>,
    /// Whether the last certificate is a self-signed root whose signature verified.
    has_root: bool,
}

impl Chain {
    /// Orders `certs` into the chain of the certificate whose key has fingerprint `leaf`, and
    /// verifies every link.
    ///
    /// - The leaf is the certificate whose [`Certificate::fingerprint`] is `leaf`
    ///   ([`CertificateError::NoLeaf`] if none, [`CertificateError::AmbiguousLeaf`] if several
    ///   different ones).
    /// - The issuer of a certificate is the one whose subject name is its issuer name and, when
    ///   both carry key identifiers, whose subjectKeyIdentifier is its
    ///   authorityKeyIdentifier ([RFC 5280 §4.2.1.1]). Its key must verify the certificate's
    ///   signature over the original to-be-signed bytes, and it must be allowed to sign
    ///   certificates (basicConstraints `cA` in a v3 certificate, keyCertSign when keyUsage is
    ///   present); otherwise [`CertificateError::BrokenLink`] names both, by subject and
    ///   serial number.
    /// - The chain ends at a self-signed certificate, whose signature must verify with its own
    ///   key, or at a certificate whose issuer was not passed (CAs often leave out the root).
    /// - Exact duplicates are ignored. A certificate that is not on the path is an error,
    ///   [`CertificateError::NotInChain`], naming it: a stray certificate usually means the
    ///   wrong intermediate was pasted. Use [`build_lenient`](Self::build_lenient) to drop
    ///   such certificates instead (e.g. a cross-signed alternative of the root).
    ///
    /// Validity dates are not checked here; see [`check_validity_at`](Self::check_validity_at).
    ///
    /// [RFC 5280 §4.2.1.1]: https://datatracker.ietf.org/doc/html/rfc5280#section-4.2.1.1
    pub fn build(certs: Vec<Certificate>, leaf: &Fingerprint) -> Result<Chain> {
        let (chain, unused) = Self::build_lenient(certs, leaf)?;
        if !unused.is_empty() {
            return Err(CertificateError::NotInChain {
                leaf: chain.leaf().subject_for_message(),
                subjects: unused
                    .iter()
                    .map(Certificate::subject_for_message)
                    .collect(),
            }
            .into());
        }
        Ok(chain)
    }

    /// Like [`build`](Self::build), but certificates that are not on the leaf's path are
    /// returned beside the chain instead of being an error.
    pub fn build_lenient(
        certs: Vec<Certificate>,
        leaf: &Fingerprint,
    ) -> Result<(Chain, Vec<Certificate>)> {
        if certs.len() > MAX_CERTIFICATES {
            return Err(CertificateError::TooMany {
                count: certs.len(),
                limit: MAX_CERTIFICATES,
            }
            .into());
        }
        let mut pool: Vec<Certificate> = Vec::with_capacity(certs.len());
        for cert in certs {
            if !pool.contains(&cert) {
                pool.push(cert);
            }
        }
        let leaf_count = pool.iter().filter(|c| c.fingerprint() == *leaf).count();
        let leaf_index = match leaf_count {
            0 => {
                return Err(CertificateError::NoLeaf { fingerprint: *leaf }.into());
            }
            1 => pool.iter().position(|c| c.fingerprint() == *leaf),
            count => {
                return Err(CertificateError::AmbiguousLeaf {
                    fingerprint: *leaf,
                    count,
                    serials: pool
                        .iter()
                        .filter(|c| c.fingerprint() == *leaf)
                        .map(Certificate::serial_hex)
                        .collect(),
                }
                .into());
            }
        };
        let Some(leaf_index) = leaf_index else {
            // Unreachable: `leaf_count` is 1, so `position` found it.
            return Err(CertificateError::NoLeaf { fingerprint: *leaf }.into());
        };
        let mut chain = vec![pool.remove(leaf_index)];
        // Each candidate's subject in comparable form, computed once: names can be kilobytes,
        // and every link compares the issuer name with every remaining candidate.
        let mut subjects: Vec<String> = pool
            .iter()
            .map(|c| certificate::name_key(c.subject_name()))
            .collect();
        let mut has_root = false;
        while let Some(current) = chain.last() {
            match next_link(current, &pool, &subjects)? {
                Link::Root => {
                    has_root = true;
                    break;
                }
                Link::End => break,
                Link::Issuer(i) => {
                    subjects.remove(i);
                    chain.push(pool.remove(i));
                }
            }
        }
        Ok((
            Chain {
                certs: chain,
                has_root,
            },
            pool,
        ))
    }

    /// The leaf: the certificate carrying the server's key.
    pub fn leaf(&self) -> &Certificate {
        // `certs` is never empty: `build_lenient` always puts the leaf first.
        &self.certs[0]
    }

    /// The certificates between the leaf and the root (the root, when present, is not
    /// included: see [`root`](Self::root)).
    pub fn intermediates(&self) -> &[Certificate] {
        let end = self.certs.len() - usize::from(self.has_root);
        self.certs.get(1..end).unwrap_or_default()
    }

    /// The self-signed certificate the chain ends with, when one was passed (not when the leaf
    /// itself is self-signed).
    pub fn root(&self) -> Option<&Certificate> {
        if self.has_root && self.certs.len() > 1 {
            self.certs.last()
        } else {
            None
        }
    }

    /// All certificates, leaf first, then issuer by issuer.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certs
    }

    /// Checks every certificate's validity period at `t` (see
    /// [`Certificate::check_validity_at`]); the first failure is returned.
    pub fn check_validity_at(&self, t: SystemTime) -> Result<()> {
        self.certs.iter().try_for_each(|c| c.check_validity_at(t))
    }

    /// All certificates as a PEM bundle, leaf first, each block ending in `\n`.
    pub fn to_pem(&self) -> String {
        self.certs
            .iter()
            .map(|c| encoding::pem_encode("CERTIFICATE", c.to_der()))
            .collect()
    }
}

/// What follows a certificate in the chain.
enum Link {
    /// The certificate is self-signed and its signature verified: the chain ends here.
    Root,
    /// The issuer was not passed: the chain ends here.
    End,
    /// The issuer is at this index of the pool.
    Issuer(usize),
}

/// The link after `current`; `subjects[i]` is the [`certificate::name_key`] of `pool[i]`'s
/// subject.
fn next_link(current: &Certificate, pool: &[Certificate], subjects: &[String]) -> Result<Link> {
    let issuer = current.issuer_name();
    let issuer_key = certificate::name_key(issuer);
    let named: Vec<usize> = (0..pool.len())
        .filter(|i| {
            pool.get(*i).is_some_and(|c| {
                c.subject_name() == issuer || subjects.get(*i) == Some(&issuer_key)
            })
        })
        .collect();
    if claims_self_signed(current) {
        match current.verify_signed_by(current) {
            Ok(()) => return Ok(Link::Root),
            Err(err) if named.is_empty() => {
                return Err(broken(current, current, signature_reason(&err)));
            }
            Err(_) => {} // a key rollover certificate: look for the other key below
        }
    }
    let Some(first_named) = named.first().and_then(|i| pool.get(*i)) else {
        return Ok(Link::End);
    };
    let keyed: Vec<usize> = named
        .iter()
        .copied()
        .filter(|i| pool.get(*i).is_some_and(|c| key_ids_compatible(current, c)))
        .collect();
    let Some(first_keyed) = keyed.first().and_then(|i| pool.get(*i)) else {
        return Err(broken(
            current,
            first_named,
            format!(
                "its authorityKeyIdentifier {} is not the subjectKeyIdentifier {} of the \
                 certificate with that name: that is another key of the same CA (an older or \
                 newer CA certificate)",
                hex_or_none(current.authority_key_id()),
                hex_or_none(first_named.subject_key_id()),
            ),
        ));
    };
    let mut first_error = None;
    for i in keyed.iter().copied() {
        let Some(issuer) = pool.get(i) else { continue };
        match check_link(current, issuer) {
            Ok(()) => return Ok(Link::Issuer(i)),
            Err(reason) => {
                first_error.get_or_insert(reason);
            }
        }
    }
    Err(broken(
        current,
        first_keyed,
        first_error.unwrap_or_else(|| "no candidate issuer verified".into()),
    ))
}

fn check_link(child: &Certificate, issuer: &Certificate) -> std::result::Result<(), String> {
    let v3 = issuer.x509().tbs_certificate().version() == Version::V3;
    if v3 && !issuer.is_ca() {
        return Err(
            "the issuer is not a CA certificate (its basicConstraints does not set cA)".into(),
        );
    }
    if issuer.key_usage().is_some_and(|ku| !ku.key_cert_sign()) {
        return Err("the issuer's keyUsage does not allow keyCertSign".into());
    }
    child
        .verify_signed_by(issuer)
        .map_err(|e| signature_reason(&e))
}

fn signature_reason(err: &crate::Error) -> String {
    match err {
        crate::Error::Signature(SignatureError::Invalid) => {
            "the issuer's key does not verify the signature: the certificate was altered or \
             signed by another key"
                .into()
        }
        other => format!("the signature cannot be checked: {other}"),
    }
}

/// A self-issued certificate whose key identifiers (if any) say it signed itself.
fn claims_self_signed(cert: &Certificate) -> bool {
    cert.is_self_issued()
        && match (cert.authority_key_id(), cert.subject_key_id()) {
            (Some(aki), Some(ski)) => aki == ski,
            _ => true,
        }
}

fn key_ids_compatible(child: &Certificate, issuer: &Certificate) -> bool {
    match (child.authority_key_id(), issuer.subject_key_id()) {
        (Some(aki), Some(ski)) => aki == ski,
        _ => true,
    }
}

fn hex_or_none(id: Option<&[u8]>) -> String {
    id.map_or_else(|| "(none)".into(), hex::encode)
}

fn broken(child: &Certificate, issuer: &Certificate, reason: String) -> crate::Error {
    CertificateError::BrokenLink {
        child: child.subject_for_message(),
        child_serial: child.serial_hex().into(),
        issuer: issuer.subject_for_message(),
        issuer_serial: issuer.serial_hex().into(),
        reason,
    }
    .into()
}
