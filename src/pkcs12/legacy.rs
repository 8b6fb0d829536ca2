//! Files encrypted with RC4 (`pbeWithSHAAnd128BitRC4`, `pbeWithSHAAnd40BitRC4`), read only
//! with [`Pkcs12ReadOptions::allow_legacy`](super::Pkcs12ReadOptions::allow_legacy).
//!
//! `p12-keystore` cannot decrypt RC4, so such a file (its checks passed) is opened here:
//!
//! 1. the MAC is computed over the original bytes (HMAC keyed by the PKCS#12 key derivation of
//!    [RFC 7292 appendix B], `pkcs12::kdf`);
//! 2. every RC4-encrypted part is decrypted ([RFC 7292 appendix C]: the key from the same
//!    derivation with SHA-1, no IV; the cipher from the `rc4` crate): an `EncryptedData`
//!    becomes a `Data` content, a `pkcs8ShroudedKeyBag` a `keyBag`, in a copy of the file
//!    without its MAC;
//! 3. `p12-keystore` reads that copy (decrypting its other parts as usual).
//!
//! A MAC that does not verify is told apart as for every file: if the password decrypts the
//! contents anyway, the file was altered ([`Pkcs12Error::BadMac`]), otherwise the password is
//! wrong ([`Pkcs12Error::WrongPassword`]). RC4 has no padding: a wrong password shows as
//! plaintext that is not DER. Key derivations found inside the RC4 parts decrypted here go
//! through the same checks and iteration budget as the visible ones, before they run. (Key
//! bags inside a 3DES or AES part are decrypted by `p12-keystore`, each bounded by
//! [`MAX_ITERATIONS`] but not counted in the budget; reaching them takes the password.)
//!
//! The plaintext copy is built in buffers zeroized on drop; `p12-keystore` then copies it into
//! its own (see the [module documentation](super)).
//!
//! [RFC 7292 appendix B]: https://datatracker.ietf.org/doc/html/rfc7292#appendix-B
//! [RFC 7292 appendix C]: https://datatracker.ietf.org/doc/html/rfc7292#appendix-C

use cms::content_info::ContentInfo;
use cms::encrypted_data::EncryptedData;
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912, rfc7292};
use der::asn1::{AnyRef, ContextSpecific};
use der::{Decode, Encode, Header, Length, Reader, Tag, TagNumber};
use hmac::digest::block_api::BlockSizeUser;
use hmac::digest::{Digest, FixedOutputReset, KeyInit};
use hmac::{EagerHash, Hmac, Mac};
use p12_keystore::Pkcs12Archive;
use pkcs12::kdf::{self, Pkcs12KeyType};
use pkcs12::pbe_params::{EncryptedPrivateKeyInfo, Pkcs12PbeParams};
use pkcs12::pfx::{Pfx, Version};
use rc4::{Rc4, StreamCipher};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::MAX_ITERATIONS;
use super::inspect::{Pkcs12Inspection, decode_data, malformed};
use crate::error::{Pkcs12Error, Result};

/// Whether `oid` is one of the two RC4 PBEs of RFC 7292.
pub(super) fn is_rc4(oid: ObjectIdentifier) -> bool {
    oid == rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_4 || oid == rfc7292::PBE_WITH_SHA_AND_40_BIT_RC_4
}

/// Reads `bytes`, a file with RC4-encrypted parts that passed the checks (`seen`, which
/// counts the key derivations found inside the parts decrypted here), with `password`.
pub(super) fn open(
    bytes: &[u8],
    password: &str,
    seen: &mut Pkcs12Inspection,
) -> Result<Pkcs12Archive> {
    let pfx = Pfx::from_der(bytes).map_err(|e| malformed("PFX", &e))?;
    let Some(mac) = &pfx.mac_data else {
        return Err(Pkcs12Error::NoMac.into());
    };
    let mac_verifies = mac_verifies(mac, password, pfx.auth_safe.content.value())?;
    let opened = without_rc4(&pfx, password, seen).and_then(|plain| {
        Pkcs12Archive::from_pkcs12(&plain, password)
            .map_err(|e| super::classify(&e, &plain, password))
    });
    match (mac_verifies, opened) {
        (true, opened) => opened,
        (false, Ok(_)) => Err(Pkcs12Error::BadMac.into()),
        (false, Err(_)) => Err(Pkcs12Error::WrongPassword.into()),
    }
}

/// Whether the file's MAC (`macData`) over `data` verifies with `password`.
fn mac_verifies(mac: &pkcs12::MacData, password: &str, data: &[u8]) -> Result<bool> {
    let salt = mac.mac_salt.as_bytes();
    let digest = mac.mac.digest.as_bytes();
    let n = mac.iterations;
    match mac.mac.algorithm.oid {
        oid if oid == rfc5912::ID_SHA_1 => {
            hmac_verifies::<sha1::Sha1>(password, salt, n, data, digest)
        }
        oid if oid == rfc5912::ID_SHA_224 => {
            hmac_verifies::<sha2::Sha224>(password, salt, n, data, digest)
        }
        oid if oid == rfc5912::ID_SHA_256 => {
            hmac_verifies::<sha2::Sha256>(password, salt, n, data, digest)
        }
        oid if oid == rfc5912::ID_SHA_384 => {
            hmac_verifies::<sha2::Sha384>(password, salt, n, data, digest)
        }
        oid if oid == rfc5912::ID_SHA_512 => {
            hmac_verifies::<sha2::Sha512>(password, salt, n, data, digest)
        }
        // The checks refused every other MAC.
        algorithm => Err(Pkcs12Error::UnsupportedAlgorithm {
            what: "MAC",
            algorithm,
        }
        .into()),
    }
}

/// HMAC-`D` keyed with the PKCS#12 derivation of `password`, compared with `expected`.
fn hmac_verifies<D>(
    password: &str,
    salt: &[u8],
    iterations: i32,
    data: &[u8],
    expected: &[u8],
) -> Result<bool>
where
    D: Digest + FixedOutputReset + BlockSizeUser + EagerHash,
{
    let key = derive::<D>(
        password,
        salt,
        Pkcs12KeyType::Mac,
        iterations,
        <D as Digest>::output_size(),
    )?;
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(&key).map_err(|_| {
        // HMAC takes keys of any length.
        unreadable("the MAC key has an invalid length")
    })?;
    mac.update(data);
    Ok(mac.verify_slice(expected).is_ok())
}

/// The PKCS#12 key derivation of `password` (a BMPString, as RFC 7292 appendix B.1 says).
fn derive<D>(
    password: &str,
    salt: &[u8],
    id: Pkcs12KeyType,
    iterations: i32,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>>
where
    D: Digest + FixedOutputReset + BlockSizeUser,
{
    kdf::derive_key_utf8::<D>(password, salt, id, iterations, len)
        .map(Zeroizing::new)
        .map_err(|_| {
            unreadable(
                "the password has characters outside Unicode's Basic Multilingual Plane, which PKCS#12 cannot encode",
            )
        })
}

/// `pfx` without its MAC, its RC4-encrypted parts decrypted (DER).
fn without_rc4(
    pfx: &Pfx,
    password: &str,
    seen: &mut Pkcs12Inspection,
) -> Result<Zeroizing<Vec<u8>>> {
    let safes = decode_data(&pfx.auth_safe.content)?;
    let safes: Vec<ContentInfo> =
        Vec::from_der(&safes).map_err(|e| malformed("AuthenticatedSafe", &e))?;
    let mut parts = Vec::with_capacity(safes.len());
    for safe in &safes {
        let part = if safe.content_type == rfc5911::ID_DATA {
            data_content(&bags(&decode_data(&safe.content)?, password, None)?)?
        } else {
            let der = safe
                .content
                .to_der()
                .map_err(|e| malformed("EncryptedData", &e))?;
            let data = EncryptedData::from_der(&der).map_err(|e| malformed("EncryptedData", &e))?;
            let info = &data.enc_content_info;
            match &info.encrypted_content {
                Some(content) if is_rc4(info.content_enc_alg.oid) => {
                    let plain = decrypt(&info.content_enc_alg, content.as_bytes(), password)?;
                    data_content(&bags(&plain, password, Some(seen))?)?
                }
                // Not RC4 (or empty): p12-keystore reads it.
                _ => Zeroizing::new(safe.to_der().map_err(|e| malformed("ContentInfo", &e))?),
            }
        };
        parts.push(part);
    }
    let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    let auth_safe = tlv(Tag::Sequence, &parts)?;
    let version = Version::V3
        .to_der()
        .map_err(|e| malformed("PFX version", &e))?;
    tlv(Tag::Sequence, &[&version, &data_content(&auth_safe)?])
}

/// `SafeContents` (DER) with every RC4-shrouded key bag replaced by a plain `keyBag`. `seen`
/// is given for contents that were encrypted: their shrouded key bags were not visible to the
/// checks, and are checked now, all of them before any is decrypted.
fn bags(
    contents: &[u8],
    password: &str,
    mut seen: Option<&mut Pkcs12Inspection>,
) -> Result<Zeroizing<Vec<u8>>> {
    // Decrypted with a wrong password (the MAC, checked first, says which), RC4 gives noise.
    let not_der = |_: der::Error| Pkcs12Error::WrongPassword;
    let raw: Vec<AnyRef<'_>> = Vec::from_der(contents).map_err(not_der)?;
    let mut bags = Vec::with_capacity(raw.len());
    for raw in raw {
        let bag = Bag::new(raw).map_err(not_der)?;
        if let (Some(info), Some(seen)) = (&bag.shrouded, seen.as_deref_mut()) {
            // Inside an RC4 part, which legacy encryption being allowed let us open.
            seen.algorithm(&info.encryption_algorithm, true)?;
        }
        bags.push(bag);
    }
    let mut out = Vec::with_capacity(bags.len());
    for bag in bags {
        out.push(match &bag.shrouded {
            Some(info) if is_rc4(info.encryption_algorithm.oid) => {
                let key = decrypt(
                    &info.encryption_algorithm,
                    info.encrypted_data.as_bytes(),
                    password,
                )?;
                pkcs8::PrivateKeyInfoRef::try_from(key.as_slice())
                    .map_err(|_| Pkcs12Error::WrongPassword)?;
                key_bag(&key, bag.attributes)?
            }
            _ => Zeroizing::new(bag.raw.to_der().map_err(|e| malformed("SafeBag", &e))?),
        });
    }
    let out: Vec<&[u8]> = out.iter().map(|b| b.as_slice()).collect();
    tlv(Tag::Sequence, &out)
}

/// A `SafeBag`, borrowed from the contents (a plain key bag's value is the key: it is not
/// copied).
///
/// ```text
/// SafeBag ::= SEQUENCE {
///     bagId          BAG-TYPE.&id ({PKCS12BagSet}),
///     bagValue       [0] EXPLICIT BAG-TYPE.&Type({PKCS12BagSet}{@bagId}),
///     bagAttributes  SET OF PKCS12Attribute OPTIONAL
/// }
/// ```
struct Bag<'a> {
    raw: AnyRef<'a>,
    /// The encrypted key of a `pkcs8ShroudedKeyBag`.
    shrouded: Option<EncryptedPrivateKeyInfo>,
    attributes: Option<AnyRef<'a>>,
}

impl<'a> Bag<'a> {
    fn new(raw: AnyRef<'a>) -> der::Result<Self> {
        let (id, value, attributes) = raw.sequence(|r| {
            let id = ObjectIdentifier::decode(r)?;
            let value = AnyRef::decode(r)?;
            let attributes = if r.is_finished() {
                None
            } else {
                Some(AnyRef::decode(r)?)
            };
            Ok::<_, der::Error>((id, value, attributes))
        })?;
        let shrouded = if id == pkcs12::PKCS_12_PKCS8_KEY_BAG_OID {
            let info: ContextSpecific<EncryptedPrivateKeyInfo> =
                ContextSpecific::from_der(&value.to_der()?)?;
            Some(info.value)
        } else {
            None
        };
        Ok(Self {
            raw,
            shrouded,
            attributes,
        })
    }
}

/// `ciphertext` decrypted with `alg`, one of the RC4 PBEs, whose parameters the checks read.
fn decrypt(
    alg: &AlgorithmIdentifierOwned,
    ciphertext: &[u8],
    password: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let key_len = if alg.oid == rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_4 {
        16
    } else {
        5
    };
    let params = alg
        .parameters
        .as_ref()
        .map(|p| p.to_der())
        .transpose()
        .map_err(|e| malformed("algorithm parameters", &e))?
        .ok_or_else(|| unreadable("an RC4 algorithm has no parameters"))?;
    let params =
        Pkcs12PbeParams::from_der(&params).map_err(|e| malformed("PKCS#12 PBE parameters", &e))?;
    // Counted by the checks already; bounded here too, whoever calls.
    if !(1..=i64::from(MAX_ITERATIONS)).contains(&i64::from(params.iterations)) {
        return Err(Pkcs12Error::TooManyIterations {
            what: "PKCS#12 key derivation",
            iterations: i64::from(params.iterations),
            limit: MAX_ITERATIONS,
        }
        .into());
    }
    let key = derive::<sha1::Sha1>(
        password,
        params.salt.as_bytes(),
        Pkcs12KeyType::EncryptionKey,
        params.iterations,
        key_len,
    )?;
    // RC4 takes keys of 1 to 256 bytes.
    let mut cipher =
        Rc4::new_from_slice(&key).map_err(|_| unreadable("the RC4 key has an invalid length"))?;
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    cipher
        .try_apply_keystream(&mut plain)
        .map_err(|_| unreadable("RC4 stopped"))?;
    Ok(plain)
}

/// ```text
/// SafeBag ::= SEQUENCE { bagId keyBag, bagValue [0] EXPLICIT PrivateKeyInfo, bagAttributes }
/// ```
/// with the attributes of the shrouded bag it replaces.
fn key_bag(key: &[u8], attributes: Option<AnyRef<'_>>) -> Result<Zeroizing<Vec<u8>>> {
    let id = pkcs12::PKCS_12_KEY_BAG_OID
        .to_der()
        .map_err(|e| malformed("keyBag", &e))?;
    let attributes = match attributes {
        Some(attributes) => attributes
            .to_der()
            .map_err(|e| malformed("bag attributes", &e))?,
        None => Vec::new(),
    };
    let value = tlv(TagNumber(0).context_specific(true), &[key])?;
    tlv(Tag::Sequence, &[&id, &value, &attributes])
}

/// ```text
/// ContentInfo ::= SEQUENCE { contentType id-data, content [0] EXPLICIT OCTET STRING }
/// ```
fn data_content(content: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let id = rfc5911::ID_DATA
        .to_der()
        .map_err(|e| malformed("ContentInfo", &e))?;
    let octets = tlv(Tag::OctetString, &[content])?;
    let explicit = tlv(TagNumber(0).context_specific(true), &[&octets])?;
    tlv(Tag::Sequence, &[&id, &explicit])
}

/// The DER of `tag` around the concatenated `parts`, in a buffer zeroized on drop (allocated
/// once, so no unzeroized copy is left behind by growing it).
fn tlv(tag: Tag, parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let length = Length::try_from(len).map_err(|e| malformed("rewritten file", &e))?;
    let header = Header::new(tag, length)
        .to_der()
        .map_err(|e| malformed("rewritten file", &e))?;
    let mut out = Zeroizing::new(Vec::with_capacity(header.len() + len));
    out.extend_from_slice(&header);
    for part in parts {
        out.extend_from_slice(part);
    }
    Ok(out)
}

fn unreadable(reason: &str) -> crate::Error {
    Pkcs12Error::Unreadable {
        reason: reason.to_owned(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use const_oid::db::rfc5912;
    use der::Any;
    use der::asn1::OctetString;
    use pkcs12::safe_bag::{Pkcs8Version, PrivateKeyInfo};

    use super::*;
    use crate::pkcs12::tests::{encrypted_part, pbe, pfx_of};
    use crate::pkcs12::{MAX_TOTAL_ITERATIONS, Pkcs12ReadOptions, Pkcs12Warning, inspect};

    const PASSWORD: &str = "hidden";
    const RC4_128: ObjectIdentifier = rfc7292::PBE_WITH_SHA_AND_128_BIT_RC_4;
    const RC4_40: ObjectIdentifier = rfc7292::PBE_WITH_SHA_AND_40_BIT_RC_4;

    /// RC4 is its own inverse: decrypting encrypts.
    fn seal(alg: &AlgorithmIdentifierOwned, plain: &[u8]) -> Vec<u8> {
        decrypt(alg, plain, PASSWORD).unwrap().to_vec()
    }

    /// A PKCS#8 structure (neither `p12-keystore` nor this module looks inside the key).
    fn key() -> Vec<u8> {
        PrivateKeyInfo {
            version: Pkcs8Version::V0,
            algorithm: AlgorithmIdentifierOwned {
                oid: rfc5912::RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            private_key: OctetString::new(&b"not really a key"[..]).unwrap(),
            attributes: None,
        }
        .to_der()
        .unwrap()
    }

    /// A `pkcs8ShroudedKeyBag` that says it uses `said`, its key encrypted with `used`.
    fn shrouded(said: ObjectIdentifier, iterations: i32, used: ObjectIdentifier) -> Vec<u8> {
        let info = EncryptedPrivateKeyInfo {
            encryption_algorithm: pbe(said, iterations),
            encrypted_data: OctetString::new(seal(&pbe(used, 1), &key())).unwrap(),
        }
        .to_der()
        .unwrap();
        let id = pkcs12::PKCS_12_PKCS8_KEY_BAG_OID.to_der().unwrap();
        let value = tlv(TagNumber(0).context_specific(true), &[&info]).unwrap();
        tlv(Tag::Sequence, &[&id, &value]).unwrap().to_vec()
    }

    /// A file whose one part holds `bags`, encrypted with RC4-40; its MAC made with
    /// `PASSWORD`.
    fn file(bags: &[Vec<u8>]) -> Vec<u8> {
        let bags: Vec<&[u8]> = bags.iter().map(Vec::as_slice).collect();
        let contents = tlv(Tag::Sequence, &bags).unwrap();
        let alg = pbe(RC4_40, 1);
        let part = encrypted_part(&alg, seal(&alg, &contents));
        pfx_of(&[part], 1, |auth_safe| {
            let key = derive::<sha2::Sha256>(PASSWORD, &[1; 8], Pkcs12KeyType::Mac, 1, 32);
            let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key.unwrap()).unwrap();
            mac.update(auth_safe);
            mac.finalize().into_bytes().to_vec()
        })
    }

    /// What `read` does for an RC4 file, with legacy encryption allowed.
    fn read(bytes: &[u8], password: &str) -> Result<(Pkcs12Archive, Vec<Pkcs12Warning>)> {
        let mut seen = inspect(bytes, &Pkcs12ReadOptions::new().allow_legacy(true))?;
        assert!(seen.uses_rc4());
        let archive = open(bytes, password, &mut seen)?;
        Ok((archive, seen.into_warnings()))
    }

    fn refused(bytes: &[u8], password: &str) -> Pkcs12Error {
        match read(bytes, password) {
            Err(crate::Error::Pkcs12(e)) => e,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// A key bag inside an encrypted part (OpenSSL puts keys in a plain part; other writers
    /// need not): not visible to the checks before decryption, so checked here.
    #[test]
    fn key_bags_inside_rc4_parts_are_checked_then_decrypted() {
        let bytes = file(&[shrouded(RC4_128, 1, RC4_128)]);
        let (archive, warnings) = read(&bytes, PASSWORD).unwrap();
        assert_eq!(warnings, [Pkcs12Warning::Rc4_40, Pkcs12Warning::Rc4_128]);
        assert_eq!(archive.keys.len(), 1);
        assert_eq!(archive.keys[0].key.as_der(), key());
        assert_eq!(refused(&bytes, "other"), Pkcs12Error::WrongPassword);

        // Each bag within the bound, too many together: refused by counting, before any of
        // them is derived (they are sealed with one iteration, whatever they say).
        let many = vec![shrouded(RC4_128, 1_000_000, RC4_128); 4];
        assert_eq!(
            refused(&file(&many), PASSWORD),
            Pkcs12Error::TooMuchWork {
                limit: MAX_TOTAL_ITERATIONS
            }
        );
        let over = [shrouded(RC4_40, 1_000_001, RC4_40)];
        assert!(matches!(
            refused(&file(&over), PASSWORD),
            Pkcs12Error::TooManyIterations { .. }
        ));
        // The decryption bounds its count on its own too.
        for bad in [0, -1, 1_000_001] {
            let result = decrypt(&pbe(RC4_128, bad), b"x", PASSWORD);
            assert!(
                matches!(
                    result,
                    Err(crate::Error::Pkcs12(Pkcs12Error::TooManyIterations { .. }))
                ),
                "{bad}"
            );
        }
        // An algorithm no option opens.
        let two_key = rfc7292::PBE_WITH_SHA_AND_2_KEY_TRIPLE_DES_CBC;
        let err = refused(&file(&[shrouded(two_key, 1, RC4_128)]), PASSWORD);
        assert!(
            matches!(err, Pkcs12Error::UnsupportedAlgorithm { algorithm, .. } if algorithm == two_key),
            "{err:?}"
        );
    }
}
