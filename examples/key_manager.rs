//! What a web server's key manager does first: make the server's key and the certificate request
//! to send to a CA.
//!
//! ```text
//! cargo run --example key_manager                      # 2048-bit key, CN www.example.com
//! cargo run --example key_manager -- --cn shop.example.org --san example.org --bits 3072
//! cargo run --example key_manager -- --out-dir ./pending   # writes key.pem (0600) and request.pem
//! cargo run --example key_manager -- --help
//! ```
//!
//! It prints the key's fingerprint and size, the request (PEM) and the public key (PEM). The
//! private key is never printed; with `--out-dir` it is written to `key.pem`, created with mode
//! 0600 and never overwritten.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use keymanager::{CertificateRequest, DistinguishedName, PrivateKey};

const USAGE: &str = "\
Usage: key_manager [OPTIONS]

Generates an RSA key and a signed PKCS#10 certificate request for it, checks the request's
signature, and prints the key's fingerprint, the request and the public key.

Options:
  --cn NAME        common name, the server's host name        [default: www.example.com]
  --org NAME       organization (O)                           [default: Example Corp]
  --country CC     two-letter country code (C)                [default: US]
  --san NAME       subjectAltName DNS name or IP address; repeatable
                   [default: the common name and, for www.X, X]
  --bits N         RSA modulus size: 2048, 3072, 4096, ...    [default: 2048]
  --out-dir DIR    also write DIR/key.pem (mode 0600) and DIR/request.pem;
                   existing files are not overwritten
  -h, --help       print this help
";

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("key_manager: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("key_manager: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<(), String> {
    if let Some(dir) = &options.out_dir {
        output_paths(dir)?; // refuse before the slow part
    }
    eprintln!("Generating a {}-bit RSA key...", options.bits);
    let key = PrivateKey::generate_rsa(options.bits).map_err(|e| e.to_string())?;
    let subject = DistinguishedName::builder()
        .common_name(&options.cn)
        .organization(&options.org)
        .country(&options.country)
        .build()
        .map_err(|e| format!("invalid name: {e}"))?;

    let mut builder = CertificateRequest::builder(subject.clone());
    for san in &options.sans {
        builder = match san.parse::<IpAddr>() {
            Ok(ip) => builder.ip_address(ip),
            Err(_) => builder.dns_name(san.as_str()),
        };
    }
    let request = builder
        .sign(&key)
        .map_err(|e| format!("cannot make the request: {e}"))?;
    request
        .verify()
        .map_err(|e| format!("the request does not verify: {e}"))?;
    if request.fingerprint() != key.fingerprint() {
        return Err("the request does not carry the key's public key".into());
    }

    println!("Key:         RSA {} bits", key.bits());
    println!("Fingerprint: SHA-256 {}", key.fingerprint());
    println!("Subject:     {subject}");
    let ips = request.ip_addresses().into_iter().map(|ip| ip.to_string());
    let sans: Vec<String> = request.dns_names().into_iter().chain(ips).collect();
    println!("SANs:        {}", sans.join(", "));
    println!("Request:     signature verified (sha256WithRSAEncryption)");
    println!();
    print!("{}", request.to_pem());
    print!("{}", key.public_key_pem().map_err(|e| e.to_string())?);

    if let Some(dir) = &options.out_dir {
        write_files(dir, &key, &request)?;
    }
    Ok(())
}

/// Writes `dir/key.pem` (unencrypted PKCS#8, created 0600) and `dir/request.pem`.
fn write_files(dir: &Path, key: &PrivateKey, request: &CertificateRequest) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (key_path, request_path) = output_paths(dir)?;
    let pem = key.to_pkcs8_pem().map_err(|e| e.to_string())?;
    write_new(&key_path, pem.as_bytes(), 0o600)?;
    write_new(&request_path, request.to_pem().as_bytes(), 0o644)?;
    eprintln!(
        "Wrote {} (private key, mode 0600, unencrypted: keep it secret) and {}",
        key_path.display(),
        request_path.display()
    );
    Ok(())
}

/// `dir/key.pem` and `dir/request.pem`, neither of which may exist yet.
fn output_paths(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let key_path = dir.join("key.pem");
    let request_path = dir.join("request.pem");
    for path in [&key_path, &request_path] {
        if path.exists() {
            return Err(format!(
                "{} exists; not overwriting it (choose another --out-dir)",
                path.display()
            ));
        }
    }
    Ok((key_path, request_path))
}

/// Creates `path` with `mode` (never an existing file: no window where a key is world-readable)
/// and writes `contents`.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Command-line options.
struct Options {
    cn: String,
    org: String,
    country: String,
    sans: Vec<String>,
    bits: usize,
    out_dir: Option<PathBuf>,
}

impl Options {
    /// `Ok(None)` means `--help`.
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Self>, String> {
        let mut options = Self {
            cn: "www.example.com".into(),
            org: "Example Corp".into(),
            country: "US".into(),
            sans: Vec::new(),
            bits: 2048,
            out_dir: None,
        };
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "--cn" => options.cn = value()?,
                "--org" => options.org = value()?,
                "--country" => options.country = value()?,
                "--san" => options.sans.push(value()?),
                "--bits" => {
                    let v = value()?;
                    options.bits = v
                        .parse()
                        .map_err(|_| format!("--bits: `{v}` is not a number"))?;
                }
                "--out-dir" => options.out_dir = Some(PathBuf::from(value()?)),
                _ => return Err(format!("unknown argument `{arg}`")),
            }
        }
        if options.sans.is_empty() {
            options.sans.push(options.cn.clone());
            if let Some(parent) = options.cn.strip_prefix("www.") {
                options.sans.push(parent.to_owned());
            }
        }
        Ok(Some(options))
    }
}
