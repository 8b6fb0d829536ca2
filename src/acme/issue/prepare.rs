//! Preparing an issuance: the pending entry (made now, or left by an earlier attempt) and the
//! order's record, committed before the CA is contacted.

use super::Prepared;
use crate::acme::challenge::ChallengeKind;
use crate::acme::{Identifier, IssueRequest, OrderState};
use crate::error::{AcmeError, Result, StoreError};
use crate::name::DistinguishedName;
use crate::request::CertificateRequest;
use crate::store::KeyStore;

/// The open order of `request.name` if there is one; else its pending entry (made now, or
/// left by an earlier attempt) and a new order record, committed together.
pub(super) fn prepare_issue(
    store: &KeyStore,
    directory: &str,
    request: &IssueRequest,
    kind: ChallengeKind,
) -> Result<Prepared> {
    if let Some(open) = store.acme_open_order(&request.name)? {
        return prepare_resume(store, directory, open);
    }
    let existing = store.acme_pending_request(&request.name)?;
    let mut tx = store.begin()?;
    let csr = match existing {
        Some(csr) => {
            let wanted = texts(&request.identifiers);
            let have = texts(&identifiers_of(&csr));
            if !same_set(&wanted, &have) {
                return Err(AcmeError::InvalidOptions {
                    reason: format!(
                        "the pending entry `{}` requests {} but this call asks for {}: remove the \
                         pending entry or ask for its names",
                        request.name,
                        have.join(", "),
                        wanted.join(", ")
                    ),
                }
                .into());
            }
            csr
        }
        None => {
            tx.create_pending_of_type(&request.name, &builder_for(request)?, request.key_type)?
        }
    };
    let identifiers = identifiers_of(&csr);
    let order_id = tx.acme_insert_order(
        directory,
        &request.name,
        &texts(&identifiers),
        kind.as_str(),
    )?;
    tx.commit()?;
    Ok(Prepared {
        order_id,
        entry: request.name.clone(),
        url: None,
        request_der: csr.to_der(),
        identifiers,
        resumed: false,
    })
}

/// The recorded open order `open`, with its pending entry's request.
pub(in crate::acme) fn prepare_resume(
    store: &KeyStore,
    directory: &str,
    open: crate::store::acme::AcmeOrderRow,
) -> Result<Prepared> {
    if open.directory != directory {
        return Err(AcmeError::InvalidOptions {
            reason: format!(
                "entry `{}` has an open order at another CA ({}): use that directory, or cancel \
                 the order first",
                open.entry, open.directory
            ),
        }
        .into());
    }
    let Some(csr) = store.acme_pending_request(&open.entry)? else {
        // The pending entry was removed: the order can serve nothing.
        let mut tx = store.begin()?;
        let note = "its pending entry was removed";
        tx.acme_close_order(open.id, OrderState::Cancelled.as_str(), Some(note))?;
        tx.commit()?;
        return Err(StoreError::NotFound { name: open.entry }.into());
    };
    Ok(Prepared {
        order_id: open.id,
        entry: open.entry,
        url: open.url,
        request_der: csr.to_der(),
        identifiers: identifiers_of(&csr),
        resumed: true,
    })
}

/// The request's builder: the first DNS name as the common name, every identifier in the
/// subjectAltName.
fn builder_for(request: &IssueRequest) -> Result<crate::request::CertificateRequestBuilder> {
    let first_dns = request.identifiers.iter().find_map(|i| match i {
        Identifier::Dns(d) => Some(d.clone()),
        Identifier::Ip(_) => None,
    });
    let dn = match &first_dns {
        Some(cn) if !cn.starts_with("*.") => DistinguishedName::builder()
            .common_name(cn.clone())
            .build()?,
        _ => DistinguishedName::builder()
            .organization("ACME certificate")
            .build()?,
    };
    let mut builder = CertificateRequest::builder(dn);
    for identifier in &request.identifiers {
        builder = match identifier {
            Identifier::Dns(d) => builder.dns_name(d.clone()),
            Identifier::Ip(ip) => builder.ip_address(*ip),
        };
    }
    Ok(builder)
}

/// The identifiers a request asks for: its DNS names, then its addresses.
pub(in crate::acme) fn identifiers_of(csr: &CertificateRequest) -> Vec<Identifier> {
    let mut out: Vec<Identifier> = csr.dns_names().into_iter().map(Identifier::Dns).collect();
    out.extend(csr.ip_addresses().into_iter().map(Identifier::Ip));
    out
}

pub(super) fn texts(identifiers: &[Identifier]) -> Vec<String> {
    identifiers.iter().map(ToString::to_string).collect()
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_ascii_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}
