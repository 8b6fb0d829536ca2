//! Object identifiers in messages.

use const_oid::ObjectIdentifier;

/// An OID for a message: its name and the dotted form, `id-ecPublicKey (1.2.840.10045.2.1)`,
/// or the dotted form alone when `const-oid`'s database does not know it.
pub(crate) fn describe(oid: &ObjectIdentifier) -> String {
    match const_oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

/// An elliptic curve's OID for a message: [`describe`], with the names of common curves that
/// `const-oid`'s database does not know.
pub(crate) fn describe_curve(oid: &ObjectIdentifier) -> String {
    const MORE: &[(&str, &str)] = &[
        ("1.3.132.0.10", "secp256k1"),
        ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1"),
        ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1"),
        ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1"),
        ("1.2.156.10197.1.301", "SM2"),
    ];
    let dotted = oid.to_string();
    match MORE.iter().find(|(o, _)| *o == dotted) {
        Some((_, name)) => format!("{name} ({dotted})"),
        None => describe(oid),
    }
}
