//! The command line's `keymanager acme ...` (features `cli` + `acme`) and the `tls_server`
//! example's `--acme`, as an operator runs them, against the real pebble of `crate::pebble`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::pebble::Pebble;

#[cfg(feature = "cli")]
use crate::common::km;

/// The end-to-end walk of issue 12: the example server starts with an empty store, gets its
/// certificate from pebble by tls-alpn-01 on its own listening port (its `StoreResolver`
/// answers pebble's validator while it serves), binds it, and serves it to `openssl s_client`,
/// whose verification against pebble's root (management `/roots/0`) succeeds.
#[test]
fn the_example_server_gets_its_certificate_by_tls_alpn_01_and_serves_it() {
    let pebble = Pebble::start();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("keys.db");
    let domain = "site.example.test";
    // pebble's validator connects to this port for tls-alpn-01: the server listens on it.
    let port = pebble.tls_port();
    let mut server = ExampleServer::start(&[
        &port.to_string(),
        store.to_str().unwrap(),
        "--acme",
        pebble.directory(),
        "--domain",
        domain,
        "--acme-root",
        pebble.api_root().to_str().unwrap(),
    ]);
    server.wait_for(&format!("listening on https://127.0.0.1:{port}"));
    let line = server.wait_for("serving the ACME certificate for site.example.test");
    assert!(line.contains(&format!("on {domain}:{port}")), "{line}");

    let root = dir.path().join("pebble-root.pem");
    std::fs::write(&root, pebble.root_pem()).unwrap();
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", domain, "-verify_hostname", domain])
        .args(["-verify_return_error", "-CAfile"])
        .arg(&root)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("Verify return code: 0 (ok)"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The certificate served is the one the store holds for the domain (read by another
    // process while the server has the store open).
    let served = first_pem(&stdout);
    let reader = keymanager::KeyStore::open(&store, "correct horse battery staple").unwrap();
    let export = reader.export(domain, "export-password").unwrap();
    let der = |pem: &str| {
        keymanager::Certificate::from_pem(pem)
            .unwrap()
            .to_der()
            .to_vec()
    };
    assert_eq!(der(served), der(first_pem(export.chain_pem())));
    assert_eq!(pebble.new_orders(), 1);
}

/// The first PEM certificate in `text`.
fn first_pem(text: &str) -> &str {
    const END: &str = "-----END CERTIFICATE-----";
    let start = text
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    let end = text[start..].find(END).expect("its end") + start + END.len();
    &text[start..end]
}

/// The example as a child process, its standard output read line by line; killed on drop.
struct ExampleServer {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl ExampleServer {
    fn start(args: &[&str]) -> ExampleServer {
        let mut child = Command::new(acme_example())
            .args(args)
            .env("KEYMANAGER_PASSPHRASE", "correct horse battery staple")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        ExampleServer {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to 90 s: issuance included) for a line starting with `prefix`.
    fn wait_for(&mut self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(90)) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(line) => self.seen.push(line),
                Err(e) => panic!(
                    "no line `{prefix}...` from the example ({e}): {:?}",
                    self.seen
                ),
            }
        }
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `tls_server` example built with this test's features (`acme` among them), so that a
/// binary left by a build without `acme` is not used; a no-op when `cargo test` built it.
fn acme_example() -> PathBuf {
    let mut features = vec!["acme"];
    if cfg!(feature = "cli") {
        features.push("cli");
    }
    if cfg!(feature = "aws-lc-rs") {
        features.push("aws-lc-rs");
    }
    let status = crate::common::cargo()
        .args(["build", "--quiet", "--example", "tls_server", "--features"])
        .arg(features.join(","))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "cannot build the tls_server example");
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    profile_dir.join("examples").join("tls_server")
}

#[cfg(feature = "cli")]
mod command_line {
    use super::km::{Km, code, find, text};
    use super::*;

    /// `keymanager acme ARGS` on `km`'s store, trusting pebble's API.
    fn acme(km: &Km, pebble: &Pebble, args: &[&str]) -> std::process::Output {
        km.cmd(&[&["acme"][..], args].concat())
            .env("KEYMANAGER_ACME_DIRECTORY", pebble.directory())
            .env("KEYMANAGER_ACME_CA_ROOT", pebble.api_root())
            .output()
            .unwrap()
    }

    fn ok(km: &Km, pebble: &Pebble, args: &[&str]) -> (String, String) {
        let out = acme(km, pebble, args);
        assert_eq!(code(&out), 0, "acme {args:?}: {}", text(&out));
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn json(text: &str) -> Vec<serde_json::Value> {
        serde_json::from_str::<serde_json::Value>(text)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// The operator's flow: account, issue by http-01 on --listen, `list --json` says ACME
    /// manages the entry, `acme orders`, `acme renew NAME`, `acme renew --all-due`.
    #[test]
    fn account_issue_list_orders_and_renew() {
        let pebble = Pebble::start();
        let km = Km::new();
        let listen = format!("127.0.0.1:{}", pebble.http_port());

        // The account: flags for the CA (the environment's are overridden), a new store.
        let out = km
            .cmd(&[
                "acme",
                "account",
                "--email",
                "admin@example.test",
                "--agree-tos",
            ])
            .args(["--directory", pebble.directory(), "--ca-root"])
            .arg(pebble.api_root())
            .env("KEYMANAGER_ACME_DIRECTORY", "https://unused.invalid/dir")
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("registered the ACME account"), "{stderr}");
        assert!(stderr.contains("created key store"), "{stderr}");
        // Again: the store's account is reused.
        let (_, stderr) = ok(&km, &pebble, &["account"]);
        assert!(
            stderr.contains("already holds the ACME account"),
            "{stderr}"
        );

        // Issue, answering http-01 where pebble's validator looks.
        let (_, stderr) = ok(
            &km,
            &pebble,
            &[
                "issue",
                "www",
                "--dns",
                "www.example.test",
                "--dns",
                "alt.example.test",
                "--challenge",
                "http-01",
                "--listen",
                &listen,
                "--key-type",
                "ecdsa-p384",
            ],
        );
        assert!(stderr.contains("issued `www`: valid until"), "{stderr}");
        assert!(stderr.contains("+ entry `www`: installed"), "{stderr}");

        // list --json: managed by ACME, from pebble's directory; others are not.
        let entries = km.entries();
        let www = find(&entries, "www");
        assert_eq!(www["state"], "installed");
        assert_eq!(www["key_type"], "ecdsa-p384");
        assert_eq!(www["dns_names"][1], "alt.example.test");
        assert_eq!(www["acme"]["directory"], pebble.directory());
        assert_eq!(www["acme"]["challenge"], "http-01");
        let first_key = www["fingerprint"].clone();
        let shown = km.ok(&["show", "www"]);
        let line = format!("acme:        {} (http-01)\n", pebble.directory());
        assert!(shown.contains(&line), "{shown}");
        let shown: serde_json::Value =
            serde_json::from_str(&km.ok(&["show", "www", "--json"])).unwrap();
        assert_eq!(shown["acme"]["directory"], pebble.directory());

        // Orders: none in flight; with --all, the installed one.
        let (stdout, _) = ok(&km, &pebble, &["orders", "--json"]);
        assert!(json(&stdout).is_empty(), "{stdout}");
        let (stdout, _) = ok(&km, &pebble, &["orders"]);
        assert_eq!(stdout, "no order in flight\n");
        let (stdout, _) = ok(&km, &pebble, &["orders", "--all", "--json"]);
        let orders = json(&stdout);
        assert_eq!(orders.len(), 1, "{stdout}");
        assert_eq!(orders[0]["entry"], "www");
        assert_eq!(orders[0]["state"], "installed");
        let url = orders[0]["url"].as_str().unwrap();
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");

        // Renew now, by tls-alpn-01 this time (the command's rustls listener, whose
        // StoreResolver answers acme-tls/1): a new key and certificate, still managed, the
        // name kept.
        let tls_listen = format!("127.0.0.1:{}", pebble.tls_port());
        let (_, stderr) = ok(
            &km,
            &pebble,
            &[
                "renew",
                "www",
                "--challenge",
                "tls-alpn-01",
                "--listen",
                &tls_listen,
            ],
        );
        assert!(stderr.contains("renewed `www`: valid until"), "{stderr}");
        let entries = km.entries();
        let www = find(&entries, "www");
        assert_eq!(www["state"], "installed");
        assert_ne!(www["fingerprint"], first_key);
        assert_eq!(www["acme"]["directory"], pebble.directory());
        assert_eq!(www["acme"]["challenge"], "tls-alpn-01");
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(pebble.new_orders(), 2);

        // Nothing is due (pebble's certificates last 5 years): no order placed.
        let (_, stderr) = ok(&km, &pebble, &["renew", "--all-due", "--no-listen"]);
        assert!(stderr.contains("nothing is due"), "{stderr}");
        assert_eq!(pebble.new_orders(), 2);
    }

    /// Refusals: each has its exit code, a message and a hint; nothing is installed.
    #[test]
    fn refused_identifiers_and_missing_steps_have_their_exit_codes() {
        let pebble = Pebble::start_with(crate::common::pebble::PebbleOptions {
            blocklist: vec!["blocked.test".into()],
            ..Default::default()
        });
        let km = Km::new();
        let listen = format!("127.0.0.1:{}", pebble.http_port());

        // No account yet: issue says to register (usage, 2), and leaves no store behind.
        let stderr = fails(
            &km,
            &pebble,
            2,
            &["issue", "www", "--dns", "www.example.test"],
        );
        assert!(stderr.contains("acme account"), "{stderr}");
        assert!(!km.store.exists());
        // Without --agree-tos: usage.
        let stderr = fails(&km, &pebble, 2, &["account"]);
        assert!(stderr.contains("--agree-tos"), "{stderr}");
        // No directory at all: usage.
        let out = km.run(&["acme", "account", "--agree-tos"]);
        assert_eq!(code(&out), 2, "{}", text(&out));
        ok(&km, &pebble, &["account", "--agree-tos"]);

        // A name the CA refuses: 9, the CA's reason; the key stays pending, nothing installed.
        let stderr = fails(
            &km,
            &pebble,
            9,
            &[
                "issue",
                "bad",
                "--dns",
                "www.blocked.test",
                "--listen",
                &listen,
            ],
        );
        assert!(stderr.contains("will not issue"), "{stderr}");
        let entries = km.entries();
        assert_eq!(find(&entries, "bad")["state"], "pending");
        assert_eq!(find(&entries, "bad")["acme"], serde_json::Value::Null);

        // A challenge nobody answers (--no-listen, and no server shares the store): 9, the
        // validation's failure named; nothing installed.
        let stderr = fails(
            &km,
            &pebble,
            9,
            &[
                "issue",
                "unreached",
                "--dns",
                "u.example.test",
                "--no-listen",
            ],
        );
        assert!(
            stderr.contains("could not reach the challenge answer")
                && stderr.contains("u.example.test"),
            "{stderr}"
        );
        assert_eq!(find(&km.entries(), "unreached")["state"], "pending");

        // dns-01 without a provider: usage, before anything is ordered.
        let stderr = fails(
            &km,
            &pebble,
            2,
            &[
                "issue",
                "dns",
                "--dns",
                "d.example.test",
                "--challenge",
                "dns-01",
            ],
        );
        assert!(stderr.contains("--dns-hook"), "{stderr}");
        // --dry-run is refused for what talks to the CA.
        let out = km.run(&["--dry-run", "acme", "renew", "--all-due"]);
        assert_eq!(code(&out), 2, "{}", text(&out));
    }

    /// dns-01 from the command line: the `--dns-hook` program (a bash script) sets and clears
    /// the TXT records through a relay in this test that calls challtestsrv's management API
    /// (pebble's DNS); a wildcard name, which only dns-01 can validate, is issued.
    #[test]
    fn dns01_through_a_hook_program() {
        use std::io::{BufRead, Write};
        use std::os::unix::fs::PermissionsExt;

        let pebble = Pebble::start();
        let km = Km::new();
        // The relay: one line `set RECORD VALUE` or `clear RECORD` per connection, answered
        // `ok` once challtestsrv has the change; every line kept for the assertions.
        let relay = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let relay_port = relay.local_addr().unwrap().port();
        let dns = pebble.dns();
        let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = std::sync::Arc::clone(&calls);
        std::thread::spawn(move || {
            for stream in relay.incoming().map_while(Result::ok) {
                let mut line = String::new();
                let mut reader = BufReader::new(&stream);
                let _ = reader.read_line(&mut line);
                let words: Vec<&str> = line.split_whitespace().collect();
                let status = match words.as_slice() {
                    ["set", record, value] => dns.set_txt(record, value),
                    ["clear", record] => dns.clear_txt(record),
                    _ => 0,
                };
                seen.lock().unwrap().push(words.join(" "));
                let answer = if status == 200 { "ok\n" } else { "failed\n" };
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        let hook = km.path("dns-hook");
        std::fs::write(
            &hook,
            format!(
                "#!/bin/bash\n\
                 # keymanager acme --dns-hook: `set RECORD VALUE` / `clear RECORD`.\n\
                 exec 3<>/dev/tcp/127.0.0.1/{relay_port}\n\
                 echo \"$*\" >&3\n\
                 read -r answer <&3\n\
                 [ \"$answer\" = ok ]\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o700)).unwrap();

        ok(&km, &pebble, &["account", "--agree-tos"]);
        let (_, stderr) = ok(
            &km,
            &pebble,
            &[
                "issue",
                "wild",
                "--dns",
                "wild.example.test",
                "--dns",
                "*.wild.example.test",
                "--challenge",
                "dns-01",
                "--dns-hook",
                hook.to_str().unwrap(),
            ],
        );
        assert!(stderr.contains("issued `wild`"), "{stderr}");
        let entries = km.entries();
        let wild = find(&entries, "wild");
        assert_eq!(wild["dns_names"][1], "*.wild.example.test");
        assert_eq!(wild["acme"]["challenge"], "dns-01");
        let calls = calls.lock().unwrap().join("\n");
        assert!(
            calls.contains("set _acme-challenge.wild.example.test ")
                && calls.contains("clear _acme-challenge.wild.example.test"),
            "{calls}"
        );
    }

    /// External account binding from the command line: refused without it (exit 9, the hint
    /// names the flags), registered with the HMAC key read from descriptor 3, never a flag.
    #[test]
    fn external_account_binding_with_the_hmac_key_from_a_descriptor() {
        let hmac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
        let pebble = Pebble::start_with(crate::common::pebble::PebbleOptions {
            eab_keys: vec![("kid-1".into(), hmac.into())],
            ..Default::default()
        });
        let km = Km::new();
        let stderr = fails(&km, &pebble, 9, &["account", "--agree-tos"]);
        assert!(stderr.contains("--eab-kid ID --eab-hmac-fd N"), "{stderr}");

        let secret = km.path("eab-hmac");
        std::fs::write(&secret, format!("{hmac}\n")).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg("exec \"$0\" acme account --agree-tos --eab-kid kid-1 --eab-hmac-fd 3 3<\"$1\"")
            .arg(km::BIN)
            .arg(&secret)
            .env("KEYMANAGER_STORE", &km.store)
            .env("KEYMANAGER_PASSPHRASE", crate::common::fixtures::PASSPHRASE)
            .env("KEYMANAGER_ACME_DIRECTORY", pebble.directory())
            .env("KEYMANAGER_ACME_CA_ROOT", pebble.api_root())
            .env("KEYMANAGER_ACME_EAB_HMAC", "not it: the descriptor wins")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("registered the ACME account"), "{stderr}");
    }

    /// Runs `acme ARGS`, asserts the exit code and the message + hint shape; returns stderr.
    fn fails(km: &Km, pebble: &Pebble, expected: i32, args: &[&str]) -> String {
        let out = acme(km, pebble, args);
        assert_eq!(code(&out), expected, "acme {args:?}: {}", text(&out));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("error: ") && stderr.contains("\nhint: "),
            "{stderr}"
        );
        stderr
    }
}
