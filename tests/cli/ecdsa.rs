//! `keymanager new --key-type`: ECDSA entries made, certified by the OpenSSL CA, listed with
//! their key type, and bound beside an RSA entry on the same endpoint.

use crate::common::ca::shared as ca;
use crate::common::km::{Km, find, read};
use crate::common::openssl::openssl_with_files;

/// Makes entry `name` with `args`, has the CA certify it for `cn`, installs it.
fn issue(km: &Km, name: &str, cn: &str, args: &[&str]) {
    let csr = km.path(&format!("{name}.csr"));
    let mut all = vec!["new", name, "--cn", cn, "--out", csr.to_str().unwrap()];
    all.extend(args);
    km.ok(&all);
    let bundle = km.path(&format!("{name}.pem"));
    let leaf = ca().sign_server(&read(&csr), &[cn], &[]);
    std::fs::write(&bundle, format!("{leaf}{}", ca().chain_pem())).unwrap();
    km.ok(&["install", bundle.to_str().unwrap()]);
}

#[test]
fn ecdsa_entries_are_made_listed_and_bound_beside_rsa() {
    let km = Km::new();
    issue(&km, "ec", "www.example.com", &["--key-type", "ecdsa-p256"]);
    // The request is ECDSA with SHA-256 and OpenSSL verifies it.
    let (text, _) = openssl_with_files(
        &[("r.csr", read(&km.path("ec.csr")).as_bytes())],
        &["req", "-in", "r.csr", "-verify", "-noout", "-text"],
        None,
    );
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");
    assert!(text.contains("NIST CURVE: P-256"), "{text}");
    issue(&km, "rsa", "www.example.com", &[]);

    km.ok(&["bind", "0.0.0.0:443", "ec"]);
    km.ok(&["bind", "0.0.0.0:443", "rsa"]);
    let entries = km.entries();
    assert_eq!(find(&entries, "ec")["key_type"], "ecdsa-p256");
    assert_eq!(find(&entries, "ec")["key_bits"], 256);
    assert_eq!(find(&entries, "rsa")["key_type"], "rsa");
    for name in ["ec", "rsa"] {
        assert_eq!(
            find(&entries, name)["bindings"],
            serde_json::json!(["0.0.0.0:443"])
        );
    }
    let table = km.ok(&["list"]);
    assert!(table.lines().next().unwrap().contains("KEY"), "{table}");
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .to_owned()
    };
    assert!(row("ec").contains("ECDSA P-256"), "{table}");
    assert!(row("rsa").contains("RSA 2048"), "{table}");

    // A second ECDSA entry on the endpoint is refused, naming the one there.
    issue(
        &km,
        "ec384",
        "www.example.com",
        &["--key-type", "ecdsa-p384"],
    );
    let stderr = km.fails(1, &["bind", "0.0.0.0:443", "ec384"]);
    assert!(stderr.contains("`ec`"), "{stderr}");
    // --bits is for RSA keys.
    let stderr = km.fails(
        2,
        &[
            "new",
            "x",
            "--cn",
            "x.example.com",
            "--key-type",
            "ecdsa-p384",
            "--bits",
            "4096",
        ],
    );
    assert!(stderr.contains("--bits is for RSA keys"), "{stderr}");
}
