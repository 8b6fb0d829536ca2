//! What a web server's key manager does, end to end, narrated step by step.
//!
//! ```text
//! cargo run --example key_manager          # the whole flow, in a temporary directory
//! cargo run --example key_manager -- --cn shop.example.org --san example.org --bits 3072
//! cargo run --example key_manager -- --out-dir ./pending   # writes key.pem (0600) and request.pem
//! cargo run --example key_manager -- --help
//! ```
//!
//! With no arguments it runs the key manager's whole job against a key store file in a fresh
//! temporary directory: create the store (0600, passphrase-protected), make the pending key and
//! its certificate request, have a stand-in CA (the `openssl` command-line tool) sign it,
//! install the certificate with its chain, bind it to endpoints, resolve connections, show a
//! rollback, reopen with a wrong and then the right passphrase, and start a renewal. Without
//! `openssl` on the `PATH` it stops after the request and says how to go on by hand.
//!
//! With options it only makes a key and its request: it prints the key's fingerprint and size,
//! the request (PEM) and the public key (PEM). The private key is never printed; with
//! `--out-dir` it is written to `key.pem`, created with mode 0600 and never overwritten.

use std::error::Error;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{SystemTime, UNIX_EPOCH};

use keymanager::{
    CertificateRequest, DistinguishedName, Endpoint, Entry, EntryState, KeyStore, PrivateKey,
};

const USAGE: &str = "\
Usage: key_manager             run the whole key-manager flow in a temporary directory
       key_manager [OPTIONS]   only make a key and its request

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
    if std::env::args().len() == 1 {
        return match flow::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("key_manager: {e}");
                ExitCode::FAILURE
            }
        };
    }
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

/// The whole flow, as a server's key manager runs it.
mod flow {
    use super::*;

    /// The store's passphrase. A real program asks the operator or reads a secret store.
    const PASSPHRASE: &str = "correct horse battery staple";
    /// The entry's name in the store.
    const ENTRY: &str = "www";

    pub(super) fn run() -> Result<(), Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("keys.db");

        let store = step1_open(&path)?;
        let request = step2_request(&store)?;
        let Some(bundle) = step3_ca_signs(dir.path(), &request)? else {
            return Ok(());
        };
        step4_install_and_bind(&store, &bundle)?;
        step5_show(&store)?;
        step6_rollback(&store)?;
        drop(store);
        let store = step7_reopen(&path)?;
        step8_renew(&store)?;
        println!(
            "\nDone. The temporary directory {} is deleted now.",
            dir.path().display()
        );
        Ok(())
    }

    fn step1_open(path: &Path) -> Result<KeyStore, Box<dyn Error>> {
        heading(1, "open (create) the key store");
        let store = KeyStore::open(path, PASSPHRASE)?;
        println!("Created {}", path.display());
        println!("  mode {}: only this user can read it", file_mode(path)?);
        println!("  keys inside are sealed with a key derived from the passphrase (Argon2id)");
        Ok(store)
    }

    fn step2_request(store: &KeyStore) -> Result<CertificateRequest, Box<dyn Error>> {
        heading(2, "make the pending key and its certificate request");
        let dn = DistinguishedName::builder()
            .common_name("www.example.com")
            .organization("Example Corp")
            .country("US")
            .build()?;
        let builder = CertificateRequest::builder(dn).dns_name("example.com");
        let mut tx = store.begin()?;
        let request = tx.create_pending_from(ENTRY, builder, 2048)?;
        tx.commit()?;
        println!(
            "Pending entry `{ENTRY}`: a new RSA 2048 key, sealed in the store, and its request:"
        );
        println!("  subject  {}", request.subject());
        println!("  SANs     {}", request.dns_names().join(", "));
        println!("  key      SHA-256 {}", request.fingerprint());
        println!();
        print!("{}", request.to_pem());
        println!();
        println!(
            "Send this request to the certificate authority (CA); it answers with a certificate."
        );
        Ok(request)
    }

    /// Signs `request` with a throw-away CA made by the `openssl` CLI; `None` (after saying how
    /// to go on) when `openssl` is not installed.
    fn step3_ca_signs(
        dir: &Path,
        request: &CertificateRequest,
    ) -> Result<Option<Vec<u8>>, Box<dyn Error>> {
        heading(
            3,
            "the CA signs the request (a stand-in CA: the openssl CLI)",
        );
        if !openssl_available() {
            println!("`openssl` is not on the PATH, so there is no stand-in CA: stopping here.");
            println!("To finish by hand: send the request above to a CA, then");
            println!("  let mut tx = store.begin()?;");
            println!("  let name = tx.install_certificate(&certificate_and_chain_pem)?;");
            println!("  tx.bind(\"0.0.0.0:443\".parse()?, &name)?;");
            println!("  tx.commit()?;");
            println!("(or install openssl, e.g. `apt-get install -y openssl`, and run this again)");
            return Ok(None);
        }
        let p = |file: &str| dir.join(file);
        fs::write(p("request.pem"), request.to_pem())?;
        let san: Vec<String> = request
            .dns_names()
            .iter()
            .map(|n| format!("DNS:{n}"))
            .collect();
        fs::write(
            p("server.ext"),
            format!(
                "subjectAltName={}\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
                 extendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n",
                san.join(",")
            ),
        )?;
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=Example Stand-in CA",
            "-days",
            "3650",
            "-keyout",
            path_str(&p("ca.key"))?,
            "-out",
            path_str(&p("ca.pem"))?,
        ])?;
        openssl(&[
            "x509",
            "-req",
            "-days",
            "90",
            "-set_serial",
            "0x1001",
            "-in",
            path_str(&p("request.pem"))?,
            "-CA",
            path_str(&p("ca.pem"))?,
            "-CAkey",
            path_str(&p("ca.key"))?,
            "-extfile",
            path_str(&p("server.ext"))?,
            "-out",
            path_str(&p("server.pem"))?,
        ])?;
        println!("The CA (CN=Example Stand-in CA) issued a 90-day server certificate with");
        println!(
            "  subjectAltName {}, keyUsage digitalSignature+keyEncipherment,",
            san.join(",")
        );
        println!("  extendedKeyUsage serverAuth. It sends back the certificate and its own.");
        let mut bundle = fs::read(p("server.pem"))?;
        bundle.extend(fs::read(p("ca.pem"))?);
        Ok(Some(bundle))
    }

    fn step4_install_and_bind(store: &KeyStore, bundle: &[u8]) -> Result<(), Box<dyn Error>> {
        heading(4, "install the certificate and bind it");
        let mut tx = store.begin()?;
        let name = tx.install_certificate(bundle)?;
        println!(
            "The certificate matches the key of pending entry `{name}` (by its public key): installed"
        );
        for endpoint in ["0.0.0.0:443", "www.example.com:443"] {
            tx.bind(endpoint.parse()?, &name)?;
            println!("  bound {endpoint} -> `{name}`");
        }
        tx.commit()?;
        println!("Committed: the install and both bindings are on disk, together.");
        Ok(())
    }

    fn step5_show(store: &KeyStore) -> Result<(), Box<dyn Error>> {
        heading(5, "list the entries and resolve connections");
        print_entries(&store.entries()?);
        println!();
        let ip: IpAddr = "192.0.2.10".parse()?;
        let cases = [
            ("SNI www.example.com", 443, Some("www.example.com")),
            ("no SNI", 443, None),
            ("no SNI, unbound port", 8443, None),
        ];
        for (what, port, sni) in cases {
            print!("  {ip}:{port:<5} {what:<22} -> ");
            match store.resolve(ip, port, sni)? {
                Some(identity) => {
                    let leaf = identity
                        .chain()
                        .first()
                        .ok_or("an installed entry has a certificate")?;
                    println!(
                        "`{}`: {} (key {}…, chain of {})",
                        identity.name(),
                        leaf.subject(),
                        short(&identity.private_key().fingerprint().to_hex()),
                        identity.chain().len()
                    );
                }
                None => println!("nothing bound: refuse the handshake"),
            }
        }
        Ok(())
    }

    fn step6_rollback(store: &KeyStore) -> Result<(), Box<dyn Error>> {
        heading(6, "a transaction that is not committed changes nothing");
        let endpoint: Endpoint = "192.0.2.10:8443".parse()?;
        let mut tx = store.begin()?;
        tx.bind(endpoint.clone(), ENTRY)?;
        let seen = tx.entry(ENTRY)?.bindings().contains(&endpoint);
        println!("Inside the transaction: bound {endpoint} -> `{ENTRY}` (visible to it: {seen})");
        drop(tx); // or tx.rollback()?; an error or a panic does the same
        let ip = endpoint.ip().ok_or("an address endpoint")?;
        let after = store.resolve(ip, endpoint.port(), None)?;
        println!(
            "Dropped without commit: {endpoint} resolves to {}",
            after.map_or("nothing".to_string(), |i| format!("`{}`", i.name()))
        );
        Ok(())
    }

    fn step7_reopen(path: &Path) -> Result<KeyStore, Box<dyn Error>> {
        heading(7, "reopen the store");
        match KeyStore::open(path, "wrong passphrase") {
            Ok(_) => return Err("the store opened with a wrong passphrase".into()),
            Err(e) => println!("With a wrong passphrase: error: {e}"),
        }
        let store = KeyStore::open(path, PASSPHRASE)?;
        let entries = store.entries()?;
        println!("With the right one: {} entry, as committed:", entries.len());
        print_entries(&entries);
        Ok(store)
    }

    fn step8_renew(store: &KeyStore) -> Result<(), Box<dyn Error>> {
        heading(
            8,
            "renew: a new key and request, while the old certificate keeps serving",
        );
        let mut tx = store.begin()?;
        let request = tx.renew(ENTRY, 2048)?;
        tx.commit()?;
        println!(
            "New pending key {}… with a request for {} ({}); send it to the CA.",
            short(&request.fingerprint().to_hex()),
            request.subject(),
            request.dns_names().join(", ")
        );
        println!("Installing its certificate moves `{ENTRY}`'s name and bindings to the new key.");
        print_entries(&store.entries()?);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Small helpers
    // -----------------------------------------------------------------------------------------

    fn heading(n: u32, title: &str) {
        println!("\n== {n}. {title}");
    }

    fn print_entries(entries: &[Entry]) {
        println!(
            "  {:<15} {:<9} {:<44} {:<10} {:>4}  bindings",
            "name", "state", "subject", "not after", "bits"
        );
        for e in entries {
            let state = match e.state() {
                EntryState::Pending => "pending",
                EntryState::Installed => "installed",
                _ => "other",
            };
            let bindings: Vec<String> = e.bindings().iter().map(ToString::to_string).collect();
            println!(
                "  {:<15} {:<9} {:<44} {:<10} {:>4}  {}",
                e.name(),
                state,
                e.subject(),
                e.not_after().map_or("-".to_string(), date),
                e.key_bits(),
                if bindings.is_empty() {
                    "-".to_string()
                } else {
                    bindings.join(", ")
                }
            );
        }
    }

    /// The first 16 hex digits of a fingerprint.
    fn short(hex: &str) -> &str {
        hex.get(..16).unwrap_or(hex)
    }

    /// `YYYY-MM-DD` (UTC) of a time after 1970.
    fn date(t: SystemTime) -> String {
        let days = t
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400) as i64;
        // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!("{year:04}-{month:02}-{day:02}")
    }

    #[cfg(unix)]
    fn file_mode(path: &Path) -> Result<String, Box<dyn Error>> {
        use std::os::unix::fs::PermissionsExt;
        Ok(format!(
            "{:04o}",
            fs::metadata(path)?.permissions().mode() & 0o777
        ))
    }

    #[cfg(not(unix))]
    fn file_mode(_: &Path) -> Result<String, Box<dyn Error>> {
        Ok("(not a Unix system)".into())
    }

    fn openssl_available() -> bool {
        Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|out| out.status.success())
    }

    /// Runs `openssl args...`; an error carries its stderr.
    fn openssl(args: &[&str]) -> Result<(), Box<dyn Error>> {
        let out = Command::new("openssl").args(args).output()?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!("openssl {} failed: {}", args.join(" "), stderr.trim()).into());
        }
        Ok(())
    }

    fn path_str(path: &Path) -> Result<&str, Box<dyn Error>> {
        path.to_str()
            .ok_or_else(|| format!("{} is not UTF-8", path.display()).into())
    }
}
