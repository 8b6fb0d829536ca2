//! `keymanager export` onto a full disk (issue 13, "Disk full": export to a file; the library
//! has no file to write, the command line does): a real tmpfs, filled up (`common::faults`).
//! The export fails with exit 7 and a message that says to free space, leaves no file behind
//! (no partial key, PKCS#12 or chain file, no key file without its chain, an older chain file
//! as it was), and does not change the store; with space freed, the same command succeeds.

use std::path::PathBuf;

use keymanager::{HealthOptions, KeyStore};

use crate::common::ca::shared as ca;
use crate::common::faults::{Tmpfs, cannot_run, fill};
use crate::common::fixtures::{PASSPHRASE, fast_options, key, request};
use crate::common::km::{Km, code, read, text};

#[test]
fn an_export_onto_a_full_disk_fails_cleanly_and_leaves_no_file() {
    let tmpfs = match Tmpfs::mount("256k") {
        Ok(t) => t,
        Err(why) => return cannot_run("an_export_onto_a_full_disk_fails_cleanly", &why),
    };
    let full = |name: &str| tmpfs.path().join(name);
    // The store, on a disk with room: an installed entry, made with the library (cheap KDF).
    let km = Km::new();
    {
        let store = KeyStore::create_with(&km.store, PASSPHRASE, &fast_options()).unwrap();
        let req = request(&key(30), "www.example.com");
        let leaf = ca().sign_server(&req.to_pem(), &["www.example.com"], &[]);
        let mut tx = store.begin().unwrap();
        tx.add_pending("www", key(30), &req).unwrap();
        tx.install_certificate(format!("{leaf}{}", ca().chain_pem()).as_bytes())
            .unwrap();
        tx.commit().unwrap();
    }
    let store_state = || {
        let store = KeyStore::open_with(&km.store, PASSPHRASE, &fast_options()).unwrap();
        store.check(&HealthOptions::new()).unwrap();
        (km.entries(), store.generation().unwrap())
    };
    let before = store_state();
    // An older chain file, which a failed export must leave as it was (replacing it needs
    // room for the new one beside it).
    std::fs::write(full("old-chain.pem"), "an older chain\n").unwrap();
    let export = |args: &[&str]| {
        km.cmd(&[&["export", "www"][..], args].concat())
            .env("KEYMANAGER_KEY_PASSWORD", "export password")
            .env("KEYMANAGER_PKCS12_PASSWORD", "export password")
            .output()
            .unwrap()
    };
    let refused = |out: std::process::Output, what: &str| {
        assert_eq!(code(&out), 7, "{what}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("No space left on device")
                && stderr.contains("hint: free space on the disk holding it"),
            "{what}: {stderr}"
        );
    };
    let left_on_disk = || {
        let mut names: Vec<String> = std::fs::read_dir(tmpfs.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let path = |p: PathBuf| p.to_str().unwrap().to_owned();
    let (key_out, chain_out, old_chain, p12) = (
        path(full("www.key")),
        path(full("chain.pem")),
        path(full("old-chain.pem")),
        path(full("www.p12")),
    );
    let roomy_key = km.path("www.key");
    let roomy = path(roomy_key.clone());
    let to_full_disk = ["--key-out", &key_out, "--chain-out", &chain_out];

    let filler = fill(tmpfs.path());
    refused(export(&to_full_disk), "key and chain on the full disk");
    // The key file elsewhere, its chain on the full disk (a new file, then the older one):
    // the key file goes too.
    for chain in [&chain_out, &old_chain] {
        refused(
            export(&["--key-out", &roomy, "--chain-out", chain]),
            &format!("the chain to {chain}"),
        );
        assert!(!roomy_key.exists(), "a key file was left without its chain");
    }
    refused(export(&["--pkcs12", &p12]), "a PKCS#12 file");
    assert_eq!(
        left_on_disk(),
        ["filler", "old-chain.pem"],
        "a partial file was left"
    );
    assert_eq!(read(&full("old-chain.pem")), "an older chain\n");
    assert_eq!(store_state(), before, "a failed export changed the store");

    // Space back: the same exports go through.
    filler.set_len(0).unwrap();
    drop(filler);
    for args in [&to_full_disk[..], &["--pkcs12", &p12][..]] {
        let out = export(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", text(&out));
    }
    assert!(read(&full("www.key")).starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert_eq!(
        read(&full("chain.pem"))
            .matches("BEGIN CERTIFICATE")
            .count(),
        3
    );
    assert!(!std::fs::read(full("www.p12")).unwrap().is_empty());
    assert_eq!(store_state(), before);
}

/// `new NAME --out FILE` with the store on a full disk and FILE on a disk with room: the
/// commit fails (exit 7), and FILE keeps what it held (the new request was written beside it
/// and is removed, not left in place for a key the store does not have).
#[test]
fn a_failed_commit_leaves_the_request_file_as_it_was() {
    let tmpfs = match Tmpfs::mount("256k") {
        Ok(t) => t,
        Err(why) => return cannot_run("a_failed_commit_leaves_the_request_file_as_it_was", &why),
    };
    let km = Km {
        dir: tempfile::tempdir().unwrap(),
        store: tmpfs.path().join("keys.db"),
    };
    // Held open for the whole test: the store's -wal and -shm files stay, so the command
    // opens the store on the full disk and fails at its commit.
    let _holder = KeyStore::create_with(&km.store, PASSPHRASE, &fast_options()).unwrap();
    let out_file = km.path("www.csr");
    std::fs::write(&out_file, "an older request\n").unwrap();
    let new = || {
        km.run(&[
            "new",
            "www",
            "--cn",
            "www.example.com",
            "--out",
            out_file.to_str().unwrap(),
        ])
    };

    let filler = fill(tmpfs.path());
    let out = new();
    assert_eq!(code(&out), 7, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the disk holding the key store is full (while committing)"),
        "{stderr}"
    );
    assert_eq!(read(&out_file), "an older request\n");
    let left: Vec<_> = std::fs::read_dir(km.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["www.csr"], "the staged request was left behind");

    // Space back: the request replaces the old file, and its key is in the store.
    filler.set_len(0).unwrap();
    drop(filler);
    let out = new();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(read(&out_file).starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    assert_eq!(km.entries().len(), 1);
}
