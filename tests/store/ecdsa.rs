//! ECDSA entries in the store beside RSA ones: pending keys of every type whose requests the
//! OpenSSL CA signs, each certificate installed on its own key; listing, export, import and
//! health per algorithm; and an endpoint serving an ECDSA and an RSA entry, chosen per client.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use keymanager::error::{EndpointError, StoreError};
use keymanager::{
    CertificateRequest, DistinguishedName, Endpoint, Error, HealthOptions, HealthProblem,
    InstallOptions, KeyAlgorithm, KeyStore, KeyType, PrivateKey,
};

use crate::common::ca::shared as ca;
use crate::common::fixtures::{ec_key, key, memory_store, store_in};

fn builder(cn: &str) -> keymanager::CertificateRequestBuilder {
    let dn: DistinguishedName = format!("CN={cn},O=Example").parse().unwrap();
    CertificateRequest::builder(dn)
}

/// Signs `request` for `cn` with the OpenSSL CA; the leaf and its chain, PEM.
fn certify(request: &CertificateRequest, cn: &str) -> String {
    let leaf = ca().sign_server(&request.to_pem(), &[cn], &[]);
    format!("{leaf}{}", ca().chain_pem())
}

const ANY: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// Installs entries `rsa` (RSA, pool key 7) and `ec` (P-256, made by the store) for
/// the same site, both bound to `0.0.0.0:443`.
fn dual(store: &KeyStore) {
    let mut tx = store.begin().unwrap();
    let rsa_key = key(7);
    let rsa_request = builder("www.example.com").sign(&rsa_key).unwrap();
    tx.add_pending("rsa", rsa_key, &rsa_request).unwrap();
    let ec_request = tx
        .create_pending_of_type("ec", &builder("www.example.com"), KeyType::EcdsaP256)
        .unwrap();
    for request in [&ec_request, &rsa_request] {
        tx.install_certificate(certify(request, "www.example.com").as_bytes())
            .unwrap();
    }
    let endpoint: Endpoint = "0.0.0.0:443".parse().unwrap();
    tx.bind(endpoint.clone(), "rsa").unwrap();
    tx.bind(endpoint, "ec").unwrap();
    tx.commit().unwrap();
}

#[test]
fn certificates_go_to_their_own_keys_among_rsa_and_ecdsa_pending_keys() {
    let store = memory_store();
    let mut tx = store.begin().unwrap();
    let mut requests = Vec::new();
    for (name, key_type) in [
        ("p256", KeyType::EcdsaP256),
        ("p384", KeyType::EcdsaP384),
        ("p256-b", KeyType::EcdsaP256),
    ] {
        let request = tx
            .create_pending_of_type(name, &builder(&format!("{name}.example.com")), key_type)
            .unwrap();
        requests.push((name, request));
    }
    let rsa_key = key(3);
    let rsa_request = builder("rsa.example.com").sign(&rsa_key).unwrap();
    tx.add_pending("rsa", rsa_key, &rsa_request).unwrap();
    requests.push(("rsa", rsa_request));
    tx.commit().unwrap();

    // Installed in another order than made: each goes to the key it certifies.
    let mut tx = store.begin().unwrap();
    for (name, request) in requests.iter().rev() {
        let bundle = certify(request, &format!("{name}.example.com"));
        assert_eq!(tx.install_certificate(bundle.as_bytes()).unwrap(), *name);
    }
    tx.commit().unwrap();
    for (name, key_type, bits) in [
        ("p256", KeyType::EcdsaP256, 256),
        ("p384", KeyType::EcdsaP384, 384),
        ("rsa", KeyType::Rsa { bits: 2048 }, 2048),
    ] {
        let entry = store.entry(name).unwrap();
        assert_eq!(entry.key_type(), key_type, "{name}");
        assert_eq!(entry.key_bits(), bits, "{name}");
    }

    // Export: the key comes back as the same ECDSA key, and OpenSSL reads the chain's leaf
    // as an EC certificate for it.
    let export = store.export("p384", "export pw").unwrap();
    let key = PrivateKey::from_encrypted_pem(export.key_pem(), "export pw").unwrap();
    assert_eq!(key.key_type(), KeyType::EcdsaP384);
    assert_eq!(
        key.fingerprint(),
        store.entry("p384").unwrap().fingerprint()
    );

    // Health: P-256 and P-384 pass by default; a policy asking for 384 bits flags P-256 only.
    let report = store.check(&HealthOptions::new()).unwrap();
    assert!(
        !report.problems().iter().any(|p| p.kind() == "weak-key"),
        "{:?}",
        report.problems()
    );
    let strict = HealthOptions::new().min_ecdsa_bits(384);
    let weak: Vec<_> = store
        .check(&strict)
        .unwrap()
        .problems()
        .iter()
        .filter(|p| p.kind() == "weak-key")
        .cloned()
        .collect();
    assert_eq!(weak.len(), 2, "{weak:?}");
    for problem in &weak {
        match problem {
            HealthProblem::WeakKey { key_type, bits, .. } => {
                assert_eq!((*key_type, *bits), (KeyType::EcdsaP256, 256));
                assert!(problem.to_string().contains("(ECDSA P-256)"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_ecdsa_key_made_elsewhere_imports_with_its_certificate() {
    let store = memory_store();
    let key = ec_key(1, KeyType::EcdsaP256);
    let request = builder("import.example.com").sign(&key).unwrap();
    let bundle = certify(&request, "import.example.com");
    let mut tx = store.begin().unwrap();
    tx.import(
        "imported",
        &key,
        bundle.as_bytes(),
        InstallOptions::default(),
    )
    .unwrap();
    tx.bind("0.0.0.0:8443".parse().unwrap(), "imported")
        .unwrap();
    tx.commit().unwrap();
    let served = store
        .resolve(None, SocketAddr::new(ANY, 8443))
        .unwrap()
        .unwrap();
    assert_eq!(served.private_key().unwrap(), &key);
    assert_eq!(served.key_type(), KeyType::EcdsaP256);
    assert!(served.chain()[0].matches(&key));
}

#[test]
fn a_dual_binding_serves_ecdsa_to_clients_that_take_it_and_rsa_to_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    dual(&store);
    let served = |algorithms: &[KeyAlgorithm]| {
        store
            .resolve_for(
                Some("www.example.com"),
                SocketAddr::new(ANY, 443),
                algorithms,
            )
            .unwrap()
            .unwrap()
            .name()
            .to_owned()
    };
    assert_eq!(served(&[KeyAlgorithm::Ecdsa, KeyAlgorithm::Rsa]), "ec");
    assert_eq!(served(&[KeyAlgorithm::Ecdsa]), "ec");
    assert_eq!(served(&[KeyAlgorithm::Rsa]), "rsa");
    assert_eq!(
        store
            .resolve(None, SocketAddr::new(ANY, 443))
            .unwrap()
            .unwrap()
            .name(),
        "ec"
    );
    // The snapshot answers the same.
    let snapshot = store.snapshot().unwrap();
    assert_eq!(snapshot.len(), 2);
    let local = "127.0.0.1:443".parse().unwrap();
    let name = |algorithms: &[KeyAlgorithm]| {
        snapshot
            .resolve_for(Some("www.example.com"), local, algorithms)
            .unwrap()
            .name()
            .to_owned()
    };
    assert_eq!(name(&[KeyAlgorithm::Rsa]), "rsa");
    assert_eq!(name(&[KeyAlgorithm::Ecdsa, KeyAlgorithm::Rsa]), "ec");
    assert_eq!(snapshot.resolve(None, local).unwrap().name(), "ec");

    // A second entry of an algorithm already bound there is refused, naming the one bound.
    let mut tx = store.begin().unwrap();
    let request = tx
        .create_pending_of_type("ec2", &builder("www.example.com"), KeyType::EcdsaP384)
        .unwrap();
    tx.install_certificate(certify(&request, "www.example.com").as_bytes())
        .unwrap();
    match tx.bind("0.0.0.0:443".parse().unwrap(), "ec2") {
        Err(Error::Endpoint(EndpointError::Taken { entry, .. })) => assert_eq!(entry, "ec"),
        other => panic!("{other:?}"),
    }
    tx.rollback().unwrap();

    // The file as reopened serves the same; unbinding the endpoint removes both.
    drop(store);
    let store = store_in(dir.path());
    assert_eq!(
        store
            .resolve_for(None, SocketAddr::new(ANY, 443), &[KeyAlgorithm::Rsa])
            .unwrap()
            .unwrap()
            .name(),
        "rsa"
    );
    let mut tx = store.begin().unwrap();
    tx.unbind("0.0.0.0:443".parse().unwrap()).unwrap();
    tx.commit().unwrap();
    assert!(
        store
            .resolve(None, SocketAddr::new(ANY, 443))
            .unwrap()
            .is_none()
    );
    assert!(store.entry("ec").unwrap().bindings().is_empty());
    assert!(store.entry("rsa").unwrap().bindings().is_empty());
}

#[test]
fn a_binding_moved_to_the_other_algorithm_behind_the_stores_back_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    dual(&store);
    let conn = rusqlite::Connection::open(dir.path().join("keys.db")).unwrap();
    // The ECDSA entry filed as RSA (and the RSA binding out of the way): an RSA-only client
    // would be given an ECDSA certificate, and a second ECDSA entry could be bound.
    conn.execute_batch(
        "DELETE FROM bindings WHERE algorithm = 'rsa'; \
         UPDATE bindings SET algorithm = 'rsa';",
    )
    .unwrap();
    for result in [
        store.resolve(None, SocketAddr::new(ANY, 443)).map(|_| ()),
        store.snapshot().map(|_| ()),
    ] {
        match result {
            Err(Error::Store(StoreError::Tampered { entry, what })) => {
                assert_eq!(entry, "ec");
                assert!(what.contains("serves it as RSA"), "{what}");
                assert!(what.contains("ECDSA P-256"), "{what}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_ecdsa_entry_goes_out_and_back_in_through_pkcs12() {
    let store = memory_store();
    dual(&store);
    let bytes = store
        .export_pkcs12("ec", "p12 pw", &keymanager::Pkcs12ExportOptions::default())
        .unwrap();
    // OpenSSL reads it: the key is the entry's.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ec.p12");
    std::fs::write(&file, &bytes).unwrap();
    let pem = crate::common::openssl::stdout(&[
        "pkcs12",
        "-in",
        file.to_str().unwrap(),
        "-passin",
        "pass:p12 pw",
        "-nocerts",
        "-nodes",
    ]);
    let key = PrivateKey::from_pem(&String::from_utf8(pem).unwrap()).unwrap();
    assert_eq!(key.key_type(), KeyType::EcdsaP256);
    assert_eq!(key.fingerprint(), store.entry("ec").unwrap().fingerprint());
    // And it imports into another store as the same ECDSA entry.
    let other = memory_store();
    let mut tx = other.begin().unwrap();
    tx.import_pkcs12("ec", &bytes, "p12 pw").unwrap();
    tx.commit().unwrap();
    assert_eq!(other.entry("ec").unwrap().key_type(), KeyType::EcdsaP256);
    assert_eq!(
        other.entry("ec").unwrap().fingerprint(),
        store.entry("ec").unwrap().fingerprint()
    );
}

/// A store written by the release before ECDSA keys (schema version 3: `tests/data/store-v1.db`
/// opened with main's code at `d7a0013`, which migrated it, plus a pending entry `v3` it made;
/// passphrase `fuzz-password`) opens, migrates to the current version (5) with every entry RSA and every
/// binding RSA's, keeps its generation, and takes an ECDSA entry beside its RSA one.
#[test]
fn a_store_written_by_the_previous_release_migrates_and_takes_a_dual_binding() {
    let (_dir, path) = crate::common::fixtures::data_store("store-v3.db");
    let version = || crate::common::fixtures::schema_version(&path);
    assert_eq!(version(), 3);
    let options = crate::common::fixtures::fast_options();
    let store = KeyStore::open_with(&path, "fuzz-password", &options).unwrap();
    assert_eq!(version(), 5); // 4: key types; 5: the change log
    assert_eq!(store.generation().unwrap(), 1);
    store.check(&HealthOptions::new()).unwrap();
    for entry in store.entries().unwrap() {
        assert_eq!(
            entry.key_type(),
            KeyType::Rsa { bits: 2048 },
            "{}",
            entry.name()
        );
    }
    assert_eq!(
        store
            .resolve(None, SocketAddr::new(ANY, 443))
            .unwrap()
            .unwrap()
            .name(),
        "www"
    );

    let mut tx = store.begin().unwrap();
    let request = tx
        .create_pending_of_type("www-ec", &builder("www.example.com"), KeyType::EcdsaP256)
        .unwrap();
    tx.install_certificate(certify(&request, "www.example.com").as_bytes())
        .unwrap();
    tx.bind("0.0.0.0:443".parse().unwrap(), "www-ec").unwrap();
    tx.commit().unwrap();
    drop(store);
    let store = KeyStore::open_with(&path, "fuzz-password", &options).unwrap();
    let served = |algorithms: &[KeyAlgorithm]| {
        store
            .resolve_for(None, SocketAddr::new(ANY, 443), algorithms)
            .unwrap()
            .unwrap()
            .name()
            .to_owned()
    };
    assert_eq!(served(&[KeyAlgorithm::Rsa]), "www");
    assert_eq!(served(&[KeyAlgorithm::Ecdsa, KeyAlgorithm::Rsa]), "www-ec");
}
