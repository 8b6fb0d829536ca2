//! Pins the public API shapes that issue 2 promises downstream users, at compile level: each
//! function is assigned to a typed `fn` pointer and each trait bound is asserted statically, so
//! a refactor that changes a signature (a parameter type, a by-value builder turned `&mut`, a
//! return type, a lost trait) fails to compile here instead of silently breaking users.
//!
//! The compile-time checks are `const _` items; the tests only exercise what cannot be pinned
//! by types alone (setters accepting both `&str` and `String`, `?` into boxed errors).

use std::error::Error as StdError;
use std::fmt::{Debug, Display};
use std::net::IpAddr;
use std::str::FromStr;

use keymanager::{
    CertificateRequest, CertificateRequestBuilder, DistinguishedName, DistinguishedNameBuilder,
    Error, Fingerprint, PrivateKey, Result,
};
use rand_chacha::ChaCha8Rng;

/// `Error: std::error::Error + Send + Sync + 'static`.
const fn assert_error<E: StdError + Send + Sync + 'static>() {}
const _: () = assert_error::<Error>();

/// `DistinguishedName: Clone + Eq + Debug + Display + FromStr<Err = Error>`.
const fn assert_name<T: Clone + Eq + Debug + Display + FromStr<Err = Error>>() {}
const _: () = assert_name::<DistinguishedName>();

/// Keys, names and requests can be moved to and shared between threads (a server keeps them
/// in shared state).
const fn assert_send_sync<T: Send + Sync + 'static>() {}
const _: () = assert_send_sync::<PrivateKey>();
const _: () = assert_send_sync::<DistinguishedName>();
const _: () = assert_send_sync::<DistinguishedNameBuilder>();
const _: () = assert_send_sync::<CertificateRequest>();
const _: () = assert_send_sync::<CertificateRequestBuilder>();

/// `PrivateKey` and `CertificateRequest` are `Debug` (they show no secrets; other tests check
/// that).
const fn assert_debug<T: Debug>() {}
const _: () = assert_debug::<PrivateKey>();
const _: () = assert_debug::<CertificateRequest>();
const _: () = assert_debug::<CertificateRequestBuilder>();
const _: () = assert_debug::<DistinguishedNameBuilder>();

/// `Result<T> = std::result::Result<T, Error>`: the two are the same type.
fn result_alias(r: std::result::Result<u8, Error>) -> Result<u8> {
    r
}

/// `PrivateKey`'s constructors and accessors.
const _: () = {
    let _: fn(usize) -> Result<PrivateKey> = PrivateKey::generate_rsa;
    let _: fn(&mut ChaCha8Rng, usize) -> Result<PrivateKey> = PrivateKey::generate_rsa_with_rng;
    let _: fn(&str) -> Result<PrivateKey> = PrivateKey::from_pem;
    let _: fn(&[u8]) -> Result<PrivateKey> = PrivateKey::from_der;
    let _: fn(&str, &str) -> Result<PrivateKey> = PrivateKey::from_encrypted_pem;
    let _: fn(&PrivateKey) -> usize = PrivateKey::bits;
    let _: fn(&PrivateKey) -> &[u8] = PrivateKey::public_key_der;
    let _: fn(&PrivateKey) -> Fingerprint = PrivateKey::fingerprint;
};

/// `DistinguishedName`'s builder, with by-value setters taking `&str` (and `String`, below).
const _: () = {
    let _: fn() -> DistinguishedNameBuilder = DistinguishedName::builder;
    let _: fn(DistinguishedNameBuilder) -> Result<DistinguishedName> =
        DistinguishedNameBuilder::build;
    // By-value setters, each taking `&str` ...
    let _: fn(DistinguishedNameBuilder, &'static str) -> DistinguishedNameBuilder =
        DistinguishedNameBuilder::common_name;
    let _: fn(DistinguishedNameBuilder, &'static str) -> DistinguishedNameBuilder =
        DistinguishedNameBuilder::organization;
    let _: fn(DistinguishedNameBuilder, &'static str) -> DistinguishedNameBuilder =
        DistinguishedNameBuilder::organizational_unit;
    let _: fn(DistinguishedNameBuilder, &'static str) -> DistinguishedNameBuilder =
        DistinguishedNameBuilder::locality;
    let _: fn(DistinguishedNameBuilder, &'static str) -> DistinguishedNameBuilder =
        DistinguishedNameBuilder::state;
    let _: fn(DistinguishedNameBuilder, &'static str) -> DistinguishedNameBuilder =
        DistinguishedNameBuilder::country;
    let _: fn(DistinguishedNameBuilder, &'static str) -> DistinguishedNameBuilder =
        DistinguishedNameBuilder::email;
};

#[test]
fn distinguished_name_shapes() {
    // The setters take `&str` (above) and `String`.
    let dn = DistinguishedName::builder()
        .common_name(String::from("www.example.com"))
        .organization("Example")
        .organizational_unit("Web")
        .organizational_unit(String::from("Ops"))
        .locality("Springfield")
        .state(String::from("Illinois"))
        .country("US")
        .email(String::from("hostmaster@example.com"))
        .build()
        .unwrap();
    let parsed: DistinguishedName = dn.to_string().parse().unwrap();
    assert_eq!(parsed, dn);
}

/// `CertificateRequest` and its builder.
const _: () = {
    let _: fn(DistinguishedName) -> CertificateRequestBuilder = CertificateRequest::builder;
    let _: fn(CertificateRequestBuilder, &'static str) -> CertificateRequestBuilder =
        CertificateRequestBuilder::dns_name;
    let _: fn(CertificateRequestBuilder, String) -> CertificateRequestBuilder =
        CertificateRequestBuilder::dns_name;
    let _: fn(CertificateRequestBuilder, IpAddr) -> CertificateRequestBuilder =
        CertificateRequestBuilder::ip_address;
    let _: fn(CertificateRequestBuilder, &PrivateKey) -> Result<CertificateRequest> =
        CertificateRequestBuilder::sign;
    let _: fn(&str) -> Result<CertificateRequest> = CertificateRequest::from_pem;
    let _: fn(&[u8]) -> Result<CertificateRequest> = CertificateRequest::from_der;
    let _: fn(&CertificateRequest) -> Result<()> = CertificateRequest::verify;
    let _: fn(&CertificateRequest) -> String = CertificateRequest::to_pem;
    let _: fn(&CertificateRequest) -> Vec<u8> = CertificateRequest::to_der;
};

/// `.ip_address("...".parse()?)` infers `IpAddr`, as users write it: type-checked, never run.
const _: fn() = || {
    let dn = DistinguishedName::builder()
        .common_name("www.example.com")
        .build()
        .unwrap();
    let _builder = CertificateRequest::builder(dn).ip_address("192.0.2.1".parse().unwrap());
};

#[test]
fn errors_convert_into_boxed_errors_and_the_result_alias_is_std_result() {
    fn parse(s: &str) -> std::result::Result<DistinguishedName, Box<dyn StdError + Send + Sync>> {
        Ok(s.parse::<DistinguishedName>()?)
    }
    let err = parse("CN=").unwrap_err();
    assert!(err.downcast_ref::<Error>().is_some(), "{err}");
    assert_eq!(result_alias(Ok(7)).unwrap(), 7);
}

/// PKCS#12 (issue 16): the names and shapes the issue fixes.
const _: fn(&mut keymanager::Transaction, &str, &[u8], &str) -> Result<keymanager::Pkcs12Import> =
    keymanager::Transaction::import_pkcs12;
const _: fn(
    &keymanager::KeyStore,
    &str,
    &str,
    &keymanager::Pkcs12ExportOptions,
) -> Result<Vec<u8>> = keymanager::KeyStore::export_pkcs12;
const _: () = assert_send_sync::<keymanager::pkcs12::Pkcs12Contents>();
const _: () = assert_send_sync::<keymanager::Pkcs12Import>();

/// Issue 14: `KeyStore::resolve` and `Snapshot::resolve` take the same arguments (SNI, then
/// the connection's local address); `bind` and `unbind` take the endpoint the same way (by
/// value); a listening socket's address converts into an endpoint.
const _: fn(
    &keymanager::KeyStore,
    Option<&str>,
    std::net::SocketAddr,
) -> Result<Option<keymanager::Identity>> = keymanager::KeyStore::resolve;
const _: for<'a> fn(
    &'a keymanager::Snapshot,
    Option<&str>,
    std::net::SocketAddr,
) -> Option<&'a std::sync::Arc<keymanager::Identity>> = keymanager::Snapshot::resolve;
const _: fn(&mut keymanager::Transaction, keymanager::Endpoint, &str) -> Result<()> =
    keymanager::Transaction::bind;
const _: fn(&mut keymanager::Transaction, keymanager::Endpoint) -> Result<()> =
    keymanager::Transaction::unbind;
const fn assert_from_socket<T: TryFrom<std::net::SocketAddr, Error = Error>>() {}
const _: () = assert_from_socket::<keymanager::Endpoint>();
