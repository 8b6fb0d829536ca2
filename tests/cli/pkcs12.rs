//! `keymanager import NAME --pkcs12 FILE` and `keymanager export NAME --pkcs12 FILE`: a `.pfx`
//! made by OpenSSL moved in (legacy RC2-40 and RC4 files with `--allow-legacy`), out again,
//! read by OpenSSL, and into a second store.

use std::os::unix::fs::PermissionsExt;

use crate::common::ca;
use crate::common::fixtures::{self, csr_pem};
use crate::common::km::{Km, code, text};
use crate::common::openssl::{openssl_status, pkcs12_export};

#[test]
fn a_pfx_moves_in_and_out() {
    let km = Km::new();
    let d = km.dir.path();
    let key = fixtures::key(20);
    std::fs::write(d.join("key.pem"), key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let cert =
        ca::shared().sign_server(&csr_pem(&key, "pfx.example.com"), &["pfx.example.com"], &[]);
    std::fs::write(d.join("cert.pem"), cert).unwrap();
    std::fs::write(d.join("chain.pem"), ca::shared().chain_pem()).unwrap();
    let make = |extra: &[&str], out: &str| {
        pkcs12_export(d, "from windows", extra, out);
        d.join(out)
    };
    let legacy = make(&["-legacy"], "legacy.pfx");
    let modern = make(&[], "site.pfx");
    let import = |km: &Km, file: &std::path::Path, password: &str, extra: &[&str]| {
        let mut args = vec!["import", "www", "--pkcs12", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        km.cmd(&args)
            .env("KEYMANAGER_PKCS12_PASSWORD", password)
            .output()
            .unwrap()
    };

    // RC2-40 is refused without --allow-legacy, and says how to get past it.
    let out = import(&km, &legacy, "from windows", &[]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("--allow-legacy"), "{}", text(&out));
    // Refused before a password is asked for: without one it is still exit 1, not 2.
    let out = km.run(&["import", "www", "--pkcs12", legacy.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    // A wrong password is exit 4, as for the other secrets.
    let out = import(&km, &modern, "wrong", &[]);
    assert_eq!(code(&out), 4, "{}", text(&out));
    // Accepted with the option, with the warnings on standard error.
    let out = import(&km, &legacy, "from windows", &["--allow-legacy"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains("warning: the file is encrypted with RC2-40"),
        "{}",
        text(&out)
    );
    let entries = km.entries();
    assert_eq!(entries[0]["state"], "installed");
    assert_eq!(entries[0]["fingerprint"], key.fingerprint().to_hex());

    // RC4 (`-keypbe PBE-SHA1-RC4-128 -certpbe PBE-SHA1-RC4-40`, which the crate decrypts
    // itself), into a store of its own: refused without the option, saying why; a wrong
    // password is exit 4; accepted with it, the warning naming RC4.
    let rc4 = make(
        &[
            "-legacy",
            "-keypbe",
            "PBE-SHA1-RC4-128",
            "-certpbe",
            "PBE-SHA1-RC4-40",
        ],
        "rc4.pfx",
    );
    let old = Km::new();
    let out = import(&old, &rc4, "from windows", &[]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains("--allow-legacy") && text(&out).contains("RC4"),
        "{}",
        text(&out)
    );
    let out = import(&old, &rc4, "wrong", &["--allow-legacy"]);
    assert_eq!(code(&out), 4, "{}", text(&out));
    let out = import(&old, &rc4, "from windows", &["--allow-legacy"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains("warning: the file is encrypted with RC4"),
        "{}",
        text(&out)
    );
    assert_eq!(old.entries()[0]["state"], "installed");
    assert_eq!(old.entries()[0]["fingerprint"], key.fingerprint().to_hex());

    // Out again, 0600, not overwriting, read by OpenSSL; the password from a descriptor.
    let out_file = km.path("out.pfx");
    std::fs::write(km.path("pw"), "moving day\n").unwrap();
    let export = || {
        km.cmd(&[
            "export",
            "www",
            "--pkcs12",
            out_file.to_str().unwrap(),
            "--pkcs12-password-fd",
            "0",
        ])
        .stdin(std::fs::File::open(km.path("pw")).unwrap())
        .output()
        .unwrap()
    };
    let out = export();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let mode = std::fs::metadata(&out_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let out = export();
    assert_ne!(
        code(&out),
        0,
        "an existing file is not overwritten: {}",
        text(&out)
    );
    let (ok, said) = openssl_status(
        d,
        &[
            "pkcs12",
            "-in",
            "out.pfx",
            "-passin",
            "pass:moving day",
            "-info",
            "-noout",
        ],
    );
    assert!(ok, "{said}");

    // Into a second store.
    let other = Km::new();
    let out = other
        .cmd(&["import", "copy", "--pkcs12", out_file.to_str().unwrap()])
        .env("KEYMANAGER_PKCS12_PASSWORD", "moving day")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        other.entries()[0]["fingerprint"],
        key.fingerprint().to_hex()
    );
}
