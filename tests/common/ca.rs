//! A test certificate authority built with the real OpenSSL CLI (`openssl`, 3.0 or later).
//!
//! All key material lives in memory as PEM; every operation writes what it needs into a fresh
//! temporary directory, runs `openssl`, and reads the result back, so a `TestCa` can be kept
//! in a `static OnceLock` without leaving files behind.
//!
//! ```ignore
//! let ca = ca::shared();                        // RSA root + RSA intermediate, SHA-256
//! let leaf_pem = ca.sign_server(&csr_pem, &["www.example.com"], &[]);
//! let bundle = format!("{leaf_pem}{}", ca.chain_pem());
//! ```
//!
//! Each test binary makes its CAs once: [`shared`] (root and intermediate) and [`root_only`]
//! (the store's tests, which bundle a leaf with its issuer); tests that need another kind
//! (ECDSA, RSA-PSS, SHA-384, a twin with the same name) build one with
//! [`TestCa::with_options`].

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::openssl::{X509Req, openssl_in as openssl};

/// The CA of most tests: an RSA root and an RSA intermediate that signs the leaves, made
/// once per test binary.
pub fn shared() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(TestCa::new)
}

/// A root alone (`CN=Test Root CA Store`), signing leaves valid 30 days, made once per test
/// binary: a leaf's chain is the leaf and [`TestCa::root_pem`].
pub fn root_only() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| {
        TestCa::with_options(CaOptions {
            tag: "Store".into(),
            intermediate: false,
            leaf_days: 30,
            ..CaOptions::default()
        })
    })
}

/// The extension lines of a TLS server certificate for these DNS names and IP addresses.
pub fn server_extensions(dns: &[&str], ips: &[&str]) -> Vec<String> {
    let san: Vec<String> = dns
        .iter()
        .map(|d| format!("DNS:{d}"))
        .chain(ips.iter().map(|i| format!("IP:{i}")))
        .collect();
    vec![
        format!("subjectAltName={}", san.join(",")),
        "extendedKeyUsage=serverAuth".into(),
        "keyUsage=critical,digitalSignature,keyEncipherment".into(),
        "basicConstraints=critical,CA:FALSE".into(),
    ]
}

/// The issuing key type of a test CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaKey {
    /// RSA 2048.
    Rsa2048,
    /// ECDSA on NIST P-256.
    EcP256,
    /// ECDSA on NIST P-384.
    EcP384,
}

impl CaKey {
    fn newkey_args(self) -> Vec<&'static str> {
        match self {
            CaKey::Rsa2048 => vec!["-newkey", "rsa:2048"],
            CaKey::EcP256 => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            CaKey::EcP384 => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
        }
    }
}

/// How to build a [`TestCa`].
#[derive(Debug, Clone)]
pub struct CaOptions {
    /// A word put in the CA names, so that several CAs in one test have distinct names.
    pub tag: String,
    /// The root's key type.
    pub root_key: CaKey,
    /// Whether the root issues an (RSA) intermediate that signs the leaves.
    pub intermediate: bool,
    /// The digest for every signature (`sha256`, `sha384`, ...).
    pub digest: &'static str,
    /// Sign with RSA-PSS instead of PKCS#1 v1.5 (RSA issuers only).
    pub pss: bool,
    /// How long the leaves it signs are valid, in days.
    pub leaf_days: u32,
}

impl Default for CaOptions {
    fn default() -> Self {
        Self {
            tag: "RSA".into(),
            root_key: CaKey::Rsa2048,
            intermediate: true,
            digest: "sha256",
            pss: false,
            leaf_days: 365,
        }
    }
}

/// A root CA, optionally an intermediate, that sign requests with `openssl x509 -req`.
#[derive(Debug, Clone)]
pub struct TestCa {
    options: CaOptions,
    root_key_pem: String,
    root_pem: String,
    intermediate: Option<(String, String)>, // (key PEM, certificate PEM)
}

const CA_EXTENSIONS: &str = "basicConstraints = critical,CA:TRUE\n\
keyUsage = critical,keyCertSign,cRLSign\n\
subjectKeyIdentifier = hash\n\
authorityKeyIdentifier = keyid:always\n";

static SERIAL: AtomicU64 = AtomicU64::new(0x1000);

impl TestCa {
    /// An RSA root and an RSA intermediate, SHA-256 with PKCS#1 v1.5.
    pub fn new() -> Self {
        Self::with_options(CaOptions::default())
    }

    /// A CA built as `options` say.
    pub fn with_options(options: CaOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("ca.cnf"),
            format!(
                "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n\
                 [dn]\nCN = unused\n[v3_ca]\n{CA_EXTENSIONS}"
            ),
        )
        .unwrap();
        let subject = format!("/O=keymanager tests/CN=Test Root CA {}", options.tag);
        let digest = format!("-{}", options.digest);
        let mut args = vec!["req", "-x509", "-config", "ca.cnf", "-nodes"];
        args.extend(options.root_key.newkey_args());
        args.extend([
            "-keyout", "root.key", "-out", "root.pem", "-days", "3650", "-subj", &subject, &digest,
        ]);
        if options.pss && options.root_key == CaKey::Rsa2048 {
            args.extend(["-sigopt", "rsa_padding_mode:pss"]);
        }
        openssl(d, &args);
        let root_key_pem = read(d, "root.key");
        let root_pem = read(d, "root.pem");
        let mut ca = TestCa {
            options,
            root_key_pem,
            root_pem,
            intermediate: None,
        };
        if ca.options.intermediate {
            let subject = format!(
                "/O=keymanager tests/CN=Test Intermediate CA {}",
                ca.options.tag
            );
            openssl(
                d,
                &[
                    "req", "-new", "-config", "ca.cnf", "-nodes", "-newkey", "rsa:2048", "-keyout",
                    "int.key", "-out", "int.csr", "-subj", &subject,
                ],
            );
            let csr = read(d, "int.csr");
            let lines: Vec<&str> = CA_EXTENSIONS.lines().collect();
            let int_pem = ca.sign_with(&ca.root_key_pem, &ca.root_pem, &csr, &lines, &[]);
            ca.intermediate = Some((read(d, "int.key"), int_pem));
        }
        ca
    }

    /// Signs a PEM certificate request with the intermediate (or the root when there is
    /// none); `extensions` are `openssl x509 -extfile` lines, e.g.
    /// `subjectAltName = DNS:www.example.com`. Returns the certificate PEM.
    pub fn sign_request(&self, csr_pem: &str, extensions: &[&str]) -> String {
        self.sign_request_with(csr_pem, extensions, &[])
    }

    /// As [`sign_request`](Self::sign_request), with extra `openssl x509` arguments.
    pub fn sign_request_with(&self, csr_pem: &str, extensions: &[&str], extra: &[&str]) -> String {
        let (key, cert) = self.issuer();
        self.sign_with(key, cert, csr_pem, extensions, extra)
    }

    /// Signs a PEM certificate request as a TLS server certificate for these DNS names and IP
    /// addresses ([`server_extensions`]). Returns the certificate PEM.
    pub fn sign_server(&self, csr_pem: &str, dns: &[&str], ips: &[&str]) -> String {
        let ext = server_extensions(dns, ips);
        let ext: Vec<&str> = ext.iter().map(String::as_str).collect();
        self.sign_request(csr_pem, &ext)
    }

    /// The root certificate, PEM.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The intermediate certificate, PEM, when there is one.
    pub fn intermediate_pem(&self) -> Option<&str> {
        self.intermediate.as_ref().map(|(_, c)| c.as_str())
    }

    /// The issuer certificates, intermediate first, then the root, as one PEM bundle.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.intermediate_pem().unwrap_or(""), self.root_pem)
    }

    /// The PEM private key and certificate of whoever signs leaves.
    pub fn issuer(&self) -> (&str, &str) {
        match &self.intermediate {
            Some((k, c)) => (k, c),
            None => (&self.root_key_pem, &self.root_pem),
        }
    }

    /// Signs `data` with the leaf issuer's key (`openssl dgst -sign`, the CA's digest and
    /// padding), as a certificate signature is made.
    pub fn sign_bytes(&self, data: &[u8]) -> Vec<u8> {
        let (key, _) = self.issuer();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("key.pem"), key).unwrap();
        std::fs::write(d.join("data.bin"), data).unwrap();
        let digest = format!("-{}", self.options.digest);
        let mut args = vec!["dgst", &digest, "-sign", "key.pem", "-out", "sig.bin"];
        let rsa_issuer = self.intermediate.is_some() || self.options.root_key == CaKey::Rsa2048;
        if self.options.pss && rsa_issuer {
            args.extend([
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:digest",
            ]);
        }
        args.push("data.bin");
        openssl(d, &args);
        std::fs::read(d.join("sig.bin")).unwrap()
    }

    fn sign_with(
        &self,
        key_pem: &str,
        cert_pem: &str,
        csr_pem: &str,
        extensions: &[&str],
        extra: &[&str],
    ) -> String {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("ca.key"), key_pem).unwrap();
        std::fs::write(d.join("ca.pem"), cert_pem).unwrap();
        std::fs::write(d.join("req.csr"), csr_pem).unwrap();
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed).to_string();
        let digest = format!("-{}", self.options.digest);
        let days = self.options.leaf_days.to_string();
        let mut args = vec![digest.as_str()];
        if !extensions.is_empty() {
            std::fs::write(d.join("ext.cnf"), extensions.join("\n") + "\n").unwrap();
            args.extend(["-extfile", "ext.cnf"]);
        }
        let rsa_issuer = key_pem != self.root_key_pem || self.options.root_key == CaKey::Rsa2048;
        if self.options.pss && rsa_issuer {
            args.extend(["-sigopt", "rsa_padding_mode:pss"]);
        }
        args.extend(extra);
        X509Req {
            csr: "req.csr",
            ca: ("ca.pem", "ca.key"),
            serial: &serial,
            days: &days,
            out: "out.pem",
        }
        .run(d, &args);
        read(d, "out.pem")
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}
