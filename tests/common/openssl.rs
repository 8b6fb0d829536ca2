//! Running the OpenSSL command-line tool (`openssl`, 3.0 or later): the one runner of every
//! interop test, and small builders for the commands several tests run (`genpkey`,
//! `x509 -req`, `req -verify`, `s_client`). [`TestCa`](super::ca::TestCa) is built on them.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `openssl args...` (in `dir`, or the current directory) and returns its output, whatever
/// the exit status.
pub fn try_openssl(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new("openssl");
    cmd.args(args).stdin(Stdio::null());
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.output()
        .expect("the openssl command-line tool must be installed (`apt-get install -y openssl`)")
}

/// Runs `openssl args...` (in `dir`, or the current directory) and returns its output; panics
/// with OpenSSL's stderr when it fails.
pub fn openssl(dir: Option<&Path>, args: &[&str]) -> Output {
    let out = try_openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `openssl args...` in `dir`; panics with its stderr on failure; returns stdout.
pub fn openssl_in(dir: &Path, args: &[&str]) -> String {
    String::from_utf8_lossy(&openssl(Some(dir), args).stdout).into_owned()
}

/// Runs `openssl args...` in `dir` and returns whether it succeeded, and its stdout+stderr.
pub fn openssl_status(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = try_openssl(Some(dir), args);
    (out.status.success(), said(&out))
}

/// Writes `files` into a fresh temporary directory, runs `openssl args...` there, and returns
/// stdout and the bytes of `output` (when given).
pub fn openssl_with_files(
    files: &[(&str, &[u8])],
    args: &[&str],
    output: Option<&str>,
) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in files {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    let stdout = openssl_in(dir.path(), args);
    let bytes = output
        .map(|o| std::fs::read(dir.path().join(o)).unwrap())
        .unwrap_or_default();
    (stdout, bytes)
}

/// Stdout then stderr, as text (OpenSSL prints some verdicts, such as `verify OK`, on stderr).
pub fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `openssl genpkey -algorithm ALGORITHM [-pkeyopt OPT]... -out OUT`: a new key, PKCS#8 PEM.
pub fn genpkey(out: &Path, algorithm: &str, pkeyopts: &[&str]) {
    let mut args = vec!["genpkey", "-algorithm", algorithm];
    for opt in pkeyopts {
        args.extend(["-pkeyopt", opt]);
    }
    args.extend(["-out", out.to_str().unwrap()]);
    openssl(None, &args);
}

/// OpenSSL's DER `SubjectPublicKeyInfo` for the key file at `path` (`openssl pkey -pubout`),
/// decrypted with `password` when given.
pub fn spki(path: &Path, password: Option<&str>) -> Vec<u8> {
    let pass = password.map(|p| format!("pass:{p}"));
    let mut args = vec![
        "pkey",
        "-in",
        path.to_str().unwrap(),
        "-pubout",
        "-outform",
        "DER",
    ];
    if let Some(pass) = &pass {
        args.extend(["-passin", pass]);
    }
    stdout(&args)
}

/// The SHA-256 of OpenSSL's SPKI for the key file at `path`, computed here: what
/// `... | sha256sum` prints, the key's fingerprint.
pub fn fingerprint(path: &Path, password: Option<&str>) -> keymanager::Fingerprint {
    use sha2::{Digest, Sha256};
    let digest: [u8; 32] = Sha256::digest(spki(path, password)).into();
    keymanager::Fingerprint::from(digest)
}

/// `openssl x509 -req`: a CA signs a request. File names are relative to the directory the
/// command runs in.
pub struct X509Req<'a> {
    /// The request (PEM).
    pub csr: &'a str,
    /// The issuer's certificate and private key (PEM).
    pub ca: (&'a str, &'a str),
    /// The new certificate's serial number, in decimal.
    pub serial: &'a str,
    /// How many days it is valid.
    pub days: &'a str,
    /// Where the certificate is written (PEM).
    pub out: &'a str,
}

impl X509Req<'_> {
    /// Runs `openssl x509 -req ... MORE...` in `dir` (`more`: `-extfile`, a digest, `-sigopt`).
    pub fn run(&self, dir: &Path, more: &[&str]) {
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            self.csr,
            "-CA",
            self.ca.0,
            "-CAkey",
            self.ca.1,
            "-set_serial",
            self.serial,
            "-days",
            self.days,
            "-out",
            self.out,
        ];
        args.extend(more);
        openssl(Some(dir), &args);
    }
}

/// `openssl req -verify -noout -in REQUEST`: panics unless OpenSSL says `verify OK`.
pub fn req_verify(request: &Path) {
    let out = openssl(
        None,
        &["req", "-verify", "-noout", "-in", request.to_str().unwrap()],
    );
    let said = said(&out);
    assert!(said.contains("verify OK"), "{said}");
}

/// `openssl s_client` to `127.0.0.1:port` with SNI `name`, verifying the chain against
/// `ca_file` and the host name (`-verify_hostname`, `-verify_return_error`); returns its output
/// (the served certificate is in stdout).
pub fn s_client(port: u16, name: &str, ca_file: &Path) -> Output {
    s_client_with(port, name, ca_file, &[])
}

/// [`s_client`] with more arguments (`-sigalgs ECDSA+SHA256`, ...).
pub fn s_client_with(port: u16, name: &str, ca_file: &Path, more: &[&str]) -> Output {
    let connect = format!("127.0.0.1:{port}");
    try_openssl(
        None,
        &s_client_args(&connect, &with_sni(more, name), ca_file),
    )
}

/// [`s_client_with`] that sends `input` once connected (`-quiet`: it ends when the server
/// closes, not at the end of its input); returns its output (the server's reply is in stdout).
pub fn s_client_sending(
    port: u16,
    name: &str,
    ca_file: &Path,
    more: &[&str],
    input: &[u8],
) -> Output {
    use std::io::Write;
    let connect = format!("127.0.0.1:{port}");
    let mut more = with_sni(more, name);
    more.push("-quiet");
    let mut child = Command::new("openssl")
        .args(s_client_args(&connect, &more, ca_file))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the openssl command-line tool must be installed (`apt-get install -y openssl`)");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// `openssl s_client -connect connect` with `more` options (`-4`, `-6`, `-noservername`,
/// `-verify_ip ADDR`, ...), verifying the chain against `ca_file` (`-verify_return_error`);
/// returns its output (the served certificate is in stdout).
pub fn s_client_to(connect: &str, more: &[&str], ca_file: &Path) -> Output {
    try_openssl(None, &s_client_args(connect, more, ca_file))
}

/// `more` and SNI `name`, which the chain's host name is verified against.
fn with_sni<'a>(more: &[&'a str], name: &'a str) -> Vec<&'a str> {
    let mut more = more.to_vec();
    more.extend(["-servername", name, "-verify_hostname", name]);
    more
}

/// The arguments of `openssl s_client -connect connect` with `more`, verifying the chain
/// against `ca_file`.
fn s_client_args<'a>(connect: &'a str, more: &[&'a str], ca_file: &'a Path) -> Vec<&'a str> {
    let mut args = vec!["s_client", "-connect", connect];
    args.extend_from_slice(more);
    args.extend(["-verify_return_error", "-CAfile", ca_file.to_str().unwrap()]);
    args
}

/// Runs `openssl args...` in the current directory and returns its stdout; panics with
/// OpenSSL's stderr when it fails.
pub fn stdout(args: &[&str]) -> Vec<u8> {
    openssl(None, args).stdout
}

/// `openssl pkcs12 -export` in `dir` of `key.pem` with `cert.pem` and the chain `chain.pem`
/// (files the caller wrote there), under `password`, with `extra` options; the file `out`'s
/// bytes.
pub fn pkcs12_export(dir: &Path, password: &str, extra: &[&str], out: &str) -> Vec<u8> {
    let pass = format!("pass:{password}");
    let mut args = vec![
        "pkcs12",
        "-export",
        "-inkey",
        "key.pem",
        "-in",
        "cert.pem",
        "-certfile",
        "chain.pem",
        "-passout",
        &pass,
        "-out",
        out,
    ];
    args.extend_from_slice(extra);
    openssl_in(dir, &args);
    std::fs::read(dir.join(out)).unwrap()
}
