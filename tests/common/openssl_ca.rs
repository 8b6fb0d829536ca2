//! A test certificate authority driven by the OpenSSL CLI, for the key store's tests.
//!
//! Used with `#[path = "common/openssl_ca.rs"] mod openssl_ca;` so that it does not collide
//! with other helpers in `tests/common/`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA: its key and self-signed certificate in a temporary directory. Safe to share between
/// threads: every signing uses its own files.
pub struct OpensslCa {
    dir: tempfile::TempDir,
    counter: std::sync::atomic::AtomicU32,
}

impl OpensslCa {
    /// Makes a new 2048-bit CA with subject `CN=<cn>`.
    pub fn new(cn: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            ])
            .arg("-subj")
            .arg(format!("/CN={cn}"))
            .arg("-keyout")
            .arg(dir.path().join("ca.key"))
            .arg("-out")
            .arg(dir.path().join("ca.pem")));
        Self {
            dir,
            counter: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ca.pem")).unwrap()
    }

    /// Signs `request_pem` for `days` days, with these extension lines (e.g.
    /// `subjectAltName=DNS:www.example.com`, `extendedKeyUsage=serverAuth`); returns PEM.
    pub fn sign(&self, request_pem: &str, ext_lines: &[&str], days: u32) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let req = self.path(&format!("req{n}.pem"));
        let ext = self.path(&format!("ext{n}.cnf"));
        let out = self.path(&format!("cert{n}.pem"));
        std::fs::write(&req, request_pem).unwrap();
        std::fs::write(&ext, ext_lines.join("\n") + "\n").unwrap();
        run(Command::new("openssl")
            .args(["x509", "-req", "-sha256", "-days", &days.to_string()])
            .arg("-in")
            .arg(&req)
            .arg("-CA")
            .arg(self.path("ca.pem"))
            .arg("-CAkey")
            .arg(self.path("ca.key"))
            .arg("-set_serial")
            .arg((1000 + n).to_string())
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&out));
        std::fs::read_to_string(&out).unwrap()
    }

    /// A server certificate for `request_pem` naming `dns`, with serverAuth, valid 30 days.
    pub fn sign_server(&self, request_pem: &str, dns: &[&str]) -> String {
        let san = format!(
            "subjectAltName={}",
            dns.iter()
                .map(|d| format!("DNS:{d}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        self.sign(
            request_pem,
            &[
                &san,
                "extendedKeyUsage=serverAuth",
                "keyUsage=critical,digitalSignature,keyEncipherment",
                "basicConstraints=critical,CA:FALSE",
            ],
            30,
        )
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The directory holding the CA's files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("the openssl CLI must be installed");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
