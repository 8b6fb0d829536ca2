//! The `keymanager` binary end to end, with the OpenSSL CLI as the CA: every subcommand, its
//! exit codes, `--dry-run`, `--json`, and the passphrase from the environment and from a file
//! descriptor.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use crate::common::ca::shared as ca;
use crate::common::fixtures::PASSPHRASE;
use crate::common::km::{self, Km, bare, code, find, read, text};
use crate::common::openssl::openssl_with_files;

/// The CA's answer to the request in `csr`: the certificate for `names`, then its chain.
fn ca_answers(csr: &std::path::Path, names: &[&str]) -> String {
    format!(
        "{}{}",
        ca().sign_server(&read(csr), names, &[]),
        ca().chain_pem()
    )
}

/// The SHA-256 of a certificate's SubjectPublicKeyInfo, as OpenSSL computes it.
fn openssl_spki_sha256(cert_pem: &str) -> String {
    let (pubkey, _) = openssl_with_files(
        &[("c.pem", cert_pem.as_bytes())],
        &["x509", "-in", "c.pem", "-noout", "-pubkey"],
        None,
    );
    let (_, der) = openssl_with_files(
        &[("p.pem", pubkey.as_bytes())],
        &[
            "pkey", "-pubin", "-in", "p.pem", "-outform", "DER", "-out", "p.der",
        ],
        Some("p.der"),
    );
    let (digest, _) = openssl_with_files(
        &[("p.der", &der)],
        &["dgst", "-sha256", "-r", "p.der"],
        None,
    );
    digest.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn an_operators_session_from_new_to_remove() {
    let km = Km::new();
    let csr = km.path("www.csr");
    // new: a store is created, the request written to --out.
    let out = km.run(&[
        "new",
        "www",
        "--cn",
        "www.example.com",
        "--org",
        "Example",
        "--country",
        "US",
        "--dns",
        "example.com",
        "--out",
        csr.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("+ entry `www`: pending"), "{stderr}");
    let mode = std::fs::metadata(&km.store).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (verified, _) = openssl_with_files(
        &[("r.csr", read(&csr).as_bytes())],
        &["req", "-in", "r.csr", "-verify", "-noout", "-subject"],
        None,
    );
    assert!(verified.contains("CN = www.example.com"), "{verified}");

    let entries = km.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["state"], "pending");
    assert_eq!(entries[0]["subject"], "CN=www.example.com,O=Example,C=US");
    assert_eq!(
        entries[0]["dns_names"],
        serde_json::json!(["www.example.com", "example.com"])
    );

    // install: the CA's certificate and chain find their pending key.
    let bundle = km.path("www.pem");
    std::fs::write(
        &bundle,
        ca_answers(&csr, &["www.example.com", "example.com"]),
    )
    .unwrap();
    km.ok(&["install", bundle.to_str().unwrap()]);
    km.ok(&["bind", "0.0.0.0:443", "www"]);
    km.ok(&["bind", "WWW.example.com:443", "www"]);

    // list: the table and the JSON agree with OpenSSL about the certificate.
    let table = km.ok(&["list"]);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("NAME"));
    let row = lines.next().unwrap();
    for cell in ["www", "installed", "www.example.com,example.com", "2048"] {
        assert!(row.contains(cell), "{row}");
    }
    assert!(
        row.contains("0.0.0.0:443,www.example.com:443")
            || row.contains("www.example.com:443,0.0.0.0:443"),
        "{row}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&km.ok(&["show", "www", "--json"])).unwrap();
    assert_eq!(shown["state"], "installed");
    let leaf = read(&bundle);
    assert_eq!(shown["fingerprint"], openssl_spki_sha256(&leaf));
    assert!(shown["not_after"].as_str().unwrap().ends_with('Z'));
    let details = km.ok(&["show", "www"]);
    assert!(details.contains("fingerprint:"), "{details}");

    // check: healthy now; a 400-day window finds the 365-day certificate expiring.
    assert!(km.ok(&["check"]).starts_with("ok: 1 entries"));
    let out = km.run(&["check", "--expiring-days", "400", "--json"]);
    assert_eq!(code(&out), 8, "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["healthy"], false);
    assert_eq!(report["problems"][0]["kind"], "expiring");
    assert_eq!(report["problems"][0]["entry"], "www");

    // export: an encrypted PKCS#8 key (0600) OpenSSL opens, for the certificate's key.
    let key = km.path("www.key");
    let chain = km.path("chain.pem");
    let export = || {
        km.cmd(&[
            "export",
            "www",
            "--key-out",
            key.to_str().unwrap(),
            "--chain-out",
            chain.to_str().unwrap(),
        ])
        .env("KEYMANAGER_KEY_PASSWORD", "export password")
        .output()
        .unwrap()
    };
    let out = export();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(read(&key).starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert_eq!(read(&chain).matches("BEGIN CERTIFICATE").count(), 3);
    let (key_pub, _) = openssl_with_files(
        &[("k.pem", read(&key).as_bytes())],
        &[
            "pkey",
            "-in",
            "k.pem",
            "-passin",
            "pass:export password",
            "-pubout",
        ],
        None,
    );
    let (cert_pub, _) = openssl_with_files(
        &[("c.pem", read(&chain).as_bytes())],
        &["x509", "-in", "c.pem", "-noout", "-pubkey"],
        None,
    );
    assert_eq!(key_pub, cert_pub);
    // An existing key file is not overwritten.
    let out = export();
    assert_eq!(code(&out), 7, "{}", text(&out));

    // import: the exported key and chain into another store; a wrong password is exit 4.
    let other = Km::new();
    let import = |password: &str| {
        other
            .cmd(&[
                "import",
                "copy",
                "--key",
                key.to_str().unwrap(),
                "--cert",
                chain.to_str().unwrap(),
            ])
            .env("KEYMANAGER_KEY_PASSWORD", password)
            .output()
            .unwrap()
    };
    let out = import("wrong");
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(
        !other.store.exists(),
        "a failed first import leaves no store behind"
    );
    let out = import("export password");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let copied = other.entries();
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0]["state"], "installed");
    assert_eq!(copied[0]["fingerprint"], shown["fingerprint"]);
    // The same key twice is refused, and leaves the store as it was.
    let out = import("export password");
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert_eq!(other.entries(), copied);

    // renew: `www (renewal)` in state renewal, listed under `www`; its certificate takes over
    // `www` and its bindings.
    let renew_csr = km.path("renew.csr");
    km.ok(&["renew", "www", "--out", renew_csr.to_str().unwrap()]);
    let entries = km.entries();
    let renewal = find(&entries, "www (renewal)");
    assert_eq!(renewal["state"], "renewal");
    assert_eq!(renewal["renewal_of"], "www");
    assert_eq!(find(&entries, "www")["renewal_of"], serde_json::Value::Null);
    // `www !x` sorts between `www` and `www (renewal)` by name; the table keeps the renewal
    // under the entry it renews.
    km.ok(&[
        "new",
        "www !x",
        "--cn",
        "x.example.com",
        "--key-type",
        "ecdsa-p256",
    ]);
    let table = km.ok(&["list"]);
    let rows: Vec<(&str, &str)> = table
        .lines()
        .skip(1)
        .map(|l| {
            let mut cells = l.split("  ").map(str::trim).filter(|c| !c.is_empty());
            (cells.next().unwrap(), cells.next().unwrap())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("www", "installed"),
            ("www (renewal)", "renewal of www"),
            ("www !x", "pending")
        ],
        "{table}"
    );
    km.ok(&["remove", "www !x"]);
    let details = km.ok(&["show", "www"]);
    assert!(
        details.contains("\nrenewal:     www (renewal)\n"),
        "{details}"
    );
    let details = km.ok(&["show", "www (renewal)"]);
    assert!(
        details.contains("\nstate:       renewal of www\n"),
        "{details}"
    );
    let renewed = km.path("renewed.pem");
    std::fs::write(
        &renewed,
        ca_answers(&renew_csr, &["www.example.com", "example.com"]),
    )
    .unwrap();
    km.ok(&["install", renewed.to_str().unwrap()]);
    let entries = km.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["name"], "www");
    assert_eq!(
        entries[0]["fingerprint"],
        openssl_spki_sha256(&read(&renewed))
    );
    assert_ne!(entries[0]["fingerprint"], shown["fingerprint"]);
    assert_eq!(entries[0]["bindings"].as_array().unwrap().len(), 2);

    // unbind, remove: a bound entry is refused (exit 1) unless --with-bindings.
    km.ok(&["unbind", "www.example.com:443"]);
    km.fails(3, &["unbind", "www.example.com:443"]);
    let stderr = km.fails(1, &["remove", "www"]);
    assert!(stderr.contains("--with-bindings"), "{stderr}");
    km.ok(&["remove", "--with-bindings", "www"]);
    assert!(km.entries().is_empty());
    km.fails(3, &["remove", "www"]);
}

#[test]
fn failures_have_their_exit_codes_and_change_nothing() {
    let km = Km::new();
    // No store, no passphrase, a store that does not exist.
    let out = bare(&["list"]).output().unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out));
    let out = bare(&["--store", km.store.to_str().unwrap(), "list"])
        .env("KEYMANAGER_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keymanager init"),
        "{}",
        text(&out)
    );
    assert!(!km.store.exists(), "list must not create a store");
    let out = bare(&[
        "--store",
        km.store.to_str().unwrap(),
        "new",
        "www",
        "--cn",
        "www.example.com",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEYMANAGER_PASSPHRASE"));
    assert!(!km.store.exists());

    // Bad arguments: clap's usage errors; --help succeeds and lists the exit codes.
    let out = km.run(&["list", "--no-such-flag"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    let out = km.run(&["new", "www"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    let help = km.ok(&["--help"]);
    assert!(
        help.contains("Exit codes:") && help.contains("8  check"),
        "{help}"
    );

    // Invalid input: refused before anything is made.
    km.fails(
        1,
        &["new", "www", "--cn", "www.example.com", "--country", "USA"],
    );
    km.fails(1, &["new", "www", "--subject", "CN=www.example.com,XX=1"]);
    km.fails(
        1,
        &["new", "www", "--cn", "www.example.com", "--bits", "1024"],
    );
    assert!(
        !km.store.exists(),
        "a failed first command leaves no store behind"
    );

    // `init` makes the store, and refuses to touch an existing file (issue 14).
    km.ok(&["init"]);
    let made = std::fs::read(&km.store).unwrap();
    let out = km.run(&["init"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    assert_eq!(std::fs::read(&km.store).unwrap(), made);
    km.ok(&["list"]);

    let csr = km.path("www.csr");
    km.ok(&[
        "new",
        "www",
        "--cn",
        "www.example.com",
        "--out",
        csr.to_str().unwrap(),
    ]);
    let before = km.entries();
    assert_eq!(before.len(), 1);

    // A request written to a directory that does not exist: the key made is not kept.
    km.fails(
        7,
        &[
            "new",
            "web",
            "--cn",
            "web.example.com",
            "--out",
            "/nonexistent/dir/web.csr",
        ],
    );
    km.fails(1, &["new", "www", "--cn", "other.example.com"]);
    // Wrong passphrase.
    let out = km
        .cmd(&["list"])
        .env("KEYMANAGER_PASSPHRASE", "not it")
        .output()
        .unwrap();
    assert_eq!(code(&out), 4, "{}", text(&out));
    // Installing the request, a missing file, a certificate for a key nobody asked for.
    km.fails(1, &["install", csr.to_str().unwrap()]);
    km.fails(7, &["install", km.path("missing.pem").to_str().unwrap()]);
    let (stranger_csr, _) = openssl_with_files(
        &[],
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "k.pem",
            "-subj",
            "/CN=www.example.com",
        ],
        None,
    );
    let stranger = km.path("stranger.csr");
    std::fs::write(&stranger, stranger_csr).unwrap();
    let cert = km.path("stranger.pem");
    std::fs::write(&cert, ca_answers(&stranger, &["www.example.com"])).unwrap();
    let stderr = km.fails(1, &["install", cert.to_str().unwrap()]);
    assert!(stderr.contains("`www`"), "names the candidate: {stderr}");
    // A certificate that dropped the requested name.
    let dropped = km.path("dropped.pem");
    std::fs::write(&dropped, ca_answers(&csr, &["other.example.com"])).unwrap();
    let stderr = km.fails(1, &["install", dropped.to_str().unwrap()]);
    assert!(stderr.contains("www.example.com"), "{stderr}");
    // Importing a key with a certificate for another key.
    let (other_key, _) = openssl_with_files(
        &[],
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        None,
    );
    let other_key_file = km.path("other.key");
    std::fs::write(&other_key_file, other_key).unwrap();
    let stderr = km.fails(
        1,
        &[
            "import",
            "other",
            "--key",
            other_key_file.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
        ],
    );
    assert!(stderr.contains("is not for the given key"), "{stderr}");
    // Bindings: bad syntax, unknown entry, a pending entry.
    km.fails(1, &["bind", "0.0.0.0:0", "www"]);
    km.fails(3, &["bind", "0.0.0.0:443", "nope"]);
    let stderr = km.fails(1, &["bind", "0.0.0.0:443", "www"]);
    assert!(stderr.contains("keymanager install"), "{stderr}");
    km.fails(3, &["unbind", "0.0.0.0:443"]);
    km.fails(3, &["show", "nope"]);
    km.fails(1, &["renew", "www"]);
    km.fails(3, &["renew", "nope"]);
    let out = km
        .cmd(&[
            "export",
            "nope",
            "--key-out",
            km.path("k").to_str().unwrap(),
        ])
        .env("KEYMANAGER_KEY_PASSWORD", "pw")
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "{}", text(&out));

    assert_eq!(km.entries(), before, "no failure changed the store");

    // check: a pending entry is fresh, so healthy; with a 0-day window it is stale (exit 8).
    assert!(km.ok(&["check"]).starts_with("ok:"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = km.run(&["check", "--pending-days", "0"]);
    assert_eq!(code(&out), 8, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("stale-pending: `www`"), "{stdout}");
    let out = km.run(&["check", "--min-bits", "3072"]);
    assert_eq!(code(&out), 8, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("weak-key: `www`: its key has only 2048 bits")
    );
}

#[test]
fn dry_run_shows_the_change_and_makes_none() {
    let km = Km::new();
    // On a store that does not exist yet: no file is left behind.
    let out = km.run(&["--dry-run", "new", "www", "--cn", "www.example.com"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dry run, nothing was changed"), "{stderr}");
    assert!(
        stderr.contains("+ entry `www`: pending, CN=www.example.com"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "a dry run writes no request");
    assert!(!km.store.exists());

    let csr = km.path("www.csr");
    km.ok(&[
        "new",
        "www",
        "--cn",
        "www.example.com",
        "--out",
        csr.to_str().unwrap(),
    ]);
    let pending = km.entries();
    let bundle = km.path("www.pem");
    std::fs::write(&bundle, ca_answers(&csr, &["www.example.com"])).unwrap();

    // The certificate from standard input (`-`).
    let out = km
        .cmd(&["install", "-", "--dry-run"])
        .stdin(std::fs::File::open(&bundle).unwrap())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("~ entry `www`: pending -> installed"));
    assert_eq!(km.entries(), pending);

    km.ok(&["install", bundle.to_str().unwrap()]);
    let installed = km.entries();
    let out = km.run(&["--dry-run", "bind", "[::]:443", "www"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("+ binding [::]:443 -> `www`"));
    let out = km.run(&["--dry-run", "remove", "www"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("- entry `www`"));
    let out = km.run(&["--dry-run", "renew", "www"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("+ entry `www (renewal)`"));
    let out = km
        .cmd(&["--dry-run", "passwd"])
        .env("KEYMANAGER_NEW_PASSPHRASE", "new passphrase")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        km.entries(),
        installed,
        "the old passphrase still opens, nothing changed"
    );
    // A dry run that would fail fails the same way.
    km.fails(1, &["--dry-run", "bind", "other.example.com:443", "www"]);
}

#[test]
fn passphrases_come_from_a_file_descriptor() {
    let km = Km::new();
    km.ok(&["new", "www", "--cn", "www.example.com"]);
    // Standard input as descriptor 0, with the environment variable absent.
    let mut child = bare(&[
        "--store",
        km.store.to_str().unwrap(),
        "list",
        "--passphrase-fd",
        "0",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSPHRASE}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("www"));

    // Descriptor 3, opened by the shell on a file; the descriptor wins over the environment.
    let secret = km.path("passphrase");
    std::fs::write(&secret, format!("{PASSPHRASE}\n")).unwrap();
    let via_fd3 = |args: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exec \"$0\" {args} 3<\"$1\""))
            .arg(km::BIN)
            .arg(&secret)
            .env("KEYMANAGER_STORE", &km.store)
            .env("KEYMANAGER_PASSPHRASE", "not it")
            .env_remove("KEYMANAGER_NEW_PASSPHRASE")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = via_fd3("--passphrase-fd 3 show www");
    assert_eq!(code(&out), 0, "{}", text(&out));
    // A descriptor that is not open is a usage error.
    let out = via_fd3("--passphrase-fd 9 show www");
    assert_eq!(code(&out), 2, "{}", text(&out));

    // passwd: the new passphrase from descriptor 0; then only the new one opens the store.
    let mut child = km
        .cmd(&["passwd", "--new-passphrase-fd", "0"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a new passphrase\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    km.fails(4, &["list"]);
    let out = km
        .cmd(&["list", "--json"])
        .env("KEYMANAGER_PASSPHRASE", "a new passphrase")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entries[0]["name"], "www");
}

#[test]
fn the_readmes_operator_session_runs_as_written() {
    let readme = read(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"));
    let section = &readme[readme.find("## The command line: `keymanager`").unwrap()..];
    let block = section.split("```sh\n").nth(1).unwrap();
    let block = &block[..block.find("```").unwrap()];
    // The built binary stands for the installed one.
    let script: String = block
        .lines()
        .filter(|l| !l.starts_with("cargo install"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(script.contains("keymanager new") && script.contains("keymanager list"));
    let bin_dir = std::path::Path::new(km::BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("KEYMANAGER_STORE")
        .env_remove("KEYMANAGER_PASSPHRASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `read -rs KEYMANAGER_PASSPHRASE` reads it from standard input.
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a passphrase for the session\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("ok: 1 entries, no problem found"),
        "{stdout}"
    );
    let row = stdout.lines().find(|l| l.starts_with("www ")).unwrap();
    assert!(row.contains("installed"), "{row}");
    assert!(row.ends_with("0.0.0.0:443,www.example.com:443"), "{row}");
    // The README's sample row is what `list` printed, but for the date.
    let sample = readme
        .lines()
        .find(|l| l.starts_with("www   installed"))
        .unwrap();
    let date = |l: &str| {
        l.split_whitespace()
            .find(|t| t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-')
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        row.replace(&date(row), "DATE"),
        sample.replace(&date(sample), "DATE")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("+ binding [::]:443 -> `www`"));
    assert!(dir.path().join("keys.db").exists());
}

#[test]
fn on_a_terminal_it_prompts_without_echo_and_shows_a_spinner() {
    // `script` (util-linux) runs the binary on a pseudo-terminal and records what it shows;
    // the passphrase is typed (twice: a new store's passphrase is confirmed) once the prompt is
    // up, so that an echo would be recorded.
    let km = Km::new();
    let typed = "zebra-quartz-17";
    let command = format!(
        "{} new www --cn www.example.com --out {}",
        km::BIN,
        km.path("www.csr").display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("(sleep 2; printf '%s\\n' \"$1\"; sleep 1; printf '%s\\n' \"$1\") | script -qec \"$0\" /dev/null")
        .arg(&command)
        .arg(typed)
        .env("KEYMANAGER_STORE", &km.store)
        .env_remove("KEYMANAGER_PASSPHRASE")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("Store passphrase: "), "{screen}");
    assert!(screen.contains("Store passphrase again: "), "{screen}");
    assert!(
        !screen.contains(typed),
        "the passphrase was echoed: {screen}"
    );
    assert!(screen.contains("generating a 2048-bit RSA key"), "{screen}");
    // The typed passphrase is the store's.
    let out = km
        .cmd(&["list", "--json"])
        .env("KEYMANAGER_PASSPHRASE", typed)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));

    // Piped: no spinner, no prompt.
    let out = km
        .cmd(&[
            "new",
            "web",
            "--cn",
            "web.example.com",
            "--out",
            km.path("web.csr").to_str().unwrap(),
        ])
        .env("KEYMANAGER_PASSPHRASE", typed)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("generating"), "{stderr}");
    assert!(stderr.starts_with("+ entry `web`"), "{stderr}");
}

/// A request printed to standard output comes after the commit: when nobody reads it (the
/// pipe is closed), the command fails with the I/O exit code, and its message says that the
/// change is committed (not, as for a file it could not write, that nothing changed). A
/// listing into a closed pipe changed nothing, and says so.
#[test]
fn output_into_a_closed_pipe_says_whether_the_change_was_committed() {
    let km = Km::new();
    // Its standard error, after the reader went away before anything was printed (as
    // `keymanager ... | false`); exit 7.
    let into_a_closed_pipe = |args: &[&str]| {
        let mut child = km
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), 7, "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            stderr.contains("cannot write to standard output"),
            "{stderr}"
        );
        stderr
    };

    let stderr = into_a_closed_pipe(&["new", "www", "--cn", "www.example.com"]);
    assert!(
        stderr.contains("is committed") && !stderr.contains("was not changed"),
        "{stderr}"
    );
    let entries = km.entries();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["state"], "pending");

    let stderr = into_a_closed_pipe(&["list"]);
    assert!(stderr.contains("nothing was changed"), "{stderr}");
}

/// Messages to the operator go to standard error. When nobody reads it (its pipe is closed
/// before anything is written), they are dropped: the command still succeeds and its change
/// is committed. (`eprintln!` panicked there, after the commit: exit 101 for a change made.)
#[test]
fn a_closed_standard_error_drops_the_messages_not_the_change() {
    let km = Km::new();
    let dir = tempfile::tempdir().unwrap();
    let request = dir.path().join("www.csr");
    let mut child = km
        .cmd(&["new", "www", "--cn", "www.example.com", "--out"])
        .arg(&request)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before the child's first message, which comes after key generation.
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
    let entries = km.entries();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["state"], "pending");
    let pem = std::fs::read_to_string(&request).unwrap();
    assert!(
        pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{pem}"
    );
}
