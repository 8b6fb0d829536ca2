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
