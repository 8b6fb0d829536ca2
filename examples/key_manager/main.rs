//! The whole life of a server key, narrated: what a web server's key manager does for its
//! administrator, done with `keymanager`.
//!
//! ```text
//! cargo run --example key_manager
//! ```
//!
//! It makes a fresh demo folder (printed first, kept afterwards so you can look at the files and
//! serve from the store) holding a key store protected by a demo passphrase, then:
//!
//! 1. creates the key and distinguished name for `www.example.test` and writes its PKCS#10
//!    request to a file;
//! 2. has a local demo CA (made on the fly with x509-cert's certificate builder, see
//!    `demo_ca.rs`) sign it;
//! 3. meets the first mistake newcomers make: installing a certificate issued for another key;
//! 4. installs the right certificate on the pending key, binds it to `0.0.0.0:8443` and commits;
//! 5. shows the store's listing and what `resolve` serves for a few connections;
//! 6. meets the second: quitting without commit, after which the change is gone.
//!
//! It needs nothing but this crate: no network, no `openssl` binary.

mod demo_ca;

use std::error::Error;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keymanager::error::InstallError;
use keymanager::{
    CertificateRequest, DistinguishedName, Endpoint, Entry, EntryState, KeyStore, KeyType,
    PrivateKey,
};

use demo_ca::DemoCa;

/// The demo store's passphrase. A real server reads its passphrase from a secret store or asks
/// the operator; it never ships one in its code.
const PASSPHRASE: &str = "demo passphrase: not a secret";
/// The server the key is for.
const HOST: &str = "www.example.test";
/// The endpoint the key is bound to: every local IPv4 address, port 8443.
const ENDPOINT: &str = "0.0.0.0:8443";

fn main() -> ExitCode {
    if std::env::args().len() > 1 {
        eprintln!(
            "key_manager takes no arguments: it runs the whole walkthrough in a fresh folder.\n\
             For an operator's command line, see the `keymanager` binary (feature `cli`)."
        );
        return ExitCode::from(2);
    }
    match walkthrough() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nkey_manager: {e}");
            ExitCode::FAILURE
        }
    }
}

fn walkthrough() -> Result<(), Box<dyn Error>> {
    let dir = demo_folder()?;
    let store_path = dir.join("keys.db");
    println!("keymanager walkthrough: the life of the key for {HOST}");
    println!("Demo folder: {}", dir.display());

    step(1, "open the key store");
    let store = KeyStore::create(&store_path, PASSPHRASE)?;
    println!(
        "  created {} (mode {})",
        store_path.display(),
        file_mode(&store_path)?
    );
    println!("  keys in it are sealed with a key derived from the passphrase (Argon2id)");
    println!("  passphrase for this demo: \"{PASSPHRASE}\"");

    step(2, "create the key and its certificate request");
    let request = create_pending(&store)?;
    let request_path = dir.join(format!("{HOST}.csr.pem"));
    write_file(&request_path, request.to_pem().as_bytes())?;
    println!("  pending entry `{HOST}`: RSA 2048 key, sealed in the store, not yet usable");
    println!(
        "  (the key type is a choice: KeyType::EcdsaP256 makes a smaller key that signs handshakes"
    );
    println!(
        "   faster; an endpoint may hold one RSA and one ECDSA entry, and each client gets the one"
    );
    println!("   it can verify. RSA 2048 is the default, which a later release may change.)");
    println!("  subject      {}", request.subject());
    println!("  names        {}", request.dns_names().join(", "));
    println!("  key          SHA-256 {}", request.fingerprint());
    println!(
        "  request      {}  (send this to the CA)",
        request_path.display()
    );

    step(3, "the CA signs it (a local demo CA)");
    let mut rng = rand::rng();
    let ca = DemoCa::new(&mut rng)?;
    let ca_pem = ca.certificate_pem()?;
    let ca_path = dir.join("demo-ca.pem");
    write_file(&ca_path, ca_pem.as_bytes())?;
    let certificate = ca.sign(&request, Duration::from_secs(90 * 86_400), &mut rng)?;
    let certificate_path = dir.join(format!("{HOST}.crt.pem"));
    write_file(&certificate_path, certificate.as_bytes())?;
    println!(
        "  demo CA      {}  ({})",
        ca_path.display(),
        DemoCa::SUBJECT
    );
    println!("  certificate  {}  (90 days)", certificate_path.display());

    step(4, "mistake one: a certificate issued for another key");
    wrong_certificate(&store, &ca, &mut rng)?;

    step(5, "install the certificate, bind it, commit");
    let bundle = format!("{certificate}{ca_pem}");
    let mut tx = store.begin()?;
    let name = tx.install_certificate(bundle.as_bytes())?;
    println!(
        "  installed on `{name}`: the one pending key whose public key the certificate carries"
    );
    tx.bind(ENDPOINT.parse()?, &name)?;
    println!("  bound {ENDPOINT} -> `{name}`");
    tx.commit()?;
    println!("  committed: the install and the binding are on disk, together");

    step(6, "the store's listing, and what it serves");
    print_entries(&store.entries()?);
    println!();
    for (ip, port, sni) in [
        ("127.0.0.1", 8443, Some(HOST)),
        ("192.0.2.7", 8443, None),
        ("127.0.0.1", 443, Some(HOST)),
    ] {
        let ip: IpAddr = ip.parse()?;
        let sni_text = sni.map_or("no SNI".to_string(), |h| format!("SNI {h}"));
        let served = match store.resolve(sni, SocketAddr::new(ip, port))? {
            Some(identity) => {
                let leaf = identity
                    .chain()
                    .first()
                    .ok_or("an installed entry has a certificate")?;
                format!(
                    "`{}`, key {}…, chain of {}",
                    identity.name(),
                    short(&leaf.fingerprint().to_hex()),
                    identity.chain().len()
                )
            }
            None => "nothing bound here: the handshake is refused".to_string(),
        };
        println!(
            "  {:<16} {:<22} -> {served}",
            format!("{ip}:{port}"),
            sni_text
        );
    }

    step(7, "mistake two: quitting without commit");
    quit_without_commit(&store, &store_path)?;

    println!("\nDone. Everything is in {}:", dir.display());
    println!(
        "  openssl x509 -in {} -noout -text",
        certificate_path.display()
    );
    println!(
        "  openssl verify -CAfile {} {}",
        ca_path.display(),
        certificate_path.display()
    );
    println!(
        "  KEYMANAGER_PASSPHRASE='{PASSPHRASE}' cargo run --features rustls --example tls_server -- 8443 {}",
        store_path.display()
    );
    println!(
        "  curl --cacert {} --resolve {HOST}:8443:127.0.0.1 https://{HOST}:8443/",
        ca_path.display()
    );
    Ok(())
}

/// Step 2: a new key and request, as a pending entry named after the host.
fn create_pending(store: &KeyStore) -> Result<CertificateRequest, Box<dyn Error>> {
    let dn = DistinguishedName::builder()
        .common_name(HOST)
        .organization("Example Test Org")
        .country("US")
        .build()?;
    let builder = CertificateRequest::builder(dn).dns_name("example.test");
    let mut tx = store.begin()?;
    // RSA 2048, the type every client verifies; `KeyType::EcdsaP256` would do as well.
    let request = tx.create_pending_of_type(HOST, &builder, KeyType::Rsa { bits: 2048 })?;
    tx.commit()?;
    Ok(request)
}

/// Step 4: the CA signs a request made with a key the store does not hold; installing that
/// certificate is refused, with the candidates it was compared against.
fn wrong_certificate(
    store: &KeyStore,
    ca: &DemoCa,
    rng: &mut impl rand::CryptoRng,
) -> Result<(), Box<dyn Error>> {
    let stray = PrivateKey::generate_rsa(2048)?;
    let dn = DistinguishedName::builder().common_name(HOST).build()?;
    let stray_request = CertificateRequest::builder(dn).sign(&stray)?;
    let stray_certificate = ca.sign(&stray_request, Duration::from_secs(86_400), rng)?;
    println!(
        "  the CA answered a request made on another machine, with key {}…",
        short(&stray.fingerprint().to_hex())
    );
    let mut tx = store.begin()?;
    match tx.install_certificate(stray_certificate.as_bytes()) {
        Ok(name) => {
            return Err(format!("a certificate for another key was installed on `{name}`").into());
        }
        Err(keymanager::Error::Install(error @ InstallError::NoMatchingKey { .. })) => {
            println!("  install refused, with the library's diagnostic:");
            for part in error.to_string().split("; ") {
                println!("    {part}");
            }
        }
        Err(other) => return Err(other.into()),
    }
    tx.rollback()?;
    println!("  nothing changed: the pending key is still waiting for its own certificate");
    Ok(())
}

/// Step 7: a binding made in a transaction that is dropped instead of committed is gone, for
/// this process and for the next one that opens the file.
fn quit_without_commit(store: &KeyStore, path: &Path) -> Result<(), Box<dyn Error>> {
    let extra: Endpoint = format!("{HOST}:9443").parse()?;
    let mut tx = store.begin()?;
    tx.bind(extra.clone(), HOST)?;
    let seen = tx.entry(HOST)?.bindings().contains(&extra);
    println!("  in a transaction: bound {extra} -> `{HOST}` (the transaction sees it: {seen})");
    drop(tx); // quitting, an early `return`, a `?` or a panic all drop it
    println!("  quit without commit: the transaction is dropped, which rolls it back");
    let reopened = KeyStore::open(path, PASSPHRASE)?;
    let entry = reopened.entry(HOST)?;
    let bindings: Vec<String> = entry.bindings().iter().map(ToString::to_string).collect();
    println!(
        "  reopened from disk: `{HOST}` is bound to {} only",
        bindings.join(", ")
    );
    if entry.bindings().contains(&extra) {
        return Err("an uncommitted binding reached the disk".into());
    }
    Ok(())
}

/// A fresh folder under the system's temporary directory, kept after the run.
fn demo_folder() -> Result<PathBuf, Box<dyn Error>> {
    let dir = tempfile::Builder::new()
        .prefix("keymanager-demo-")
        .tempdir()?
        .keep();
    Ok(dir)
}

fn step(n: u32, title: &str) {
    println!("\n{n}. {title}");
}

fn print_entries(entries: &[Entry]) {
    println!(
        "  {:<18} {:<9} {:>4}  {:<10}  {:<30}  bindings",
        "name", "state", "bits", "not after", "names"
    );
    for e in entries {
        let state = match e.state() {
            EntryState::Pending => "pending",
            EntryState::Installed => "installed",
            EntryState::Renewal => "renewal",
            _ => "other",
        };
        let bindings: Vec<String> = e.bindings().iter().map(ToString::to_string).collect();
        println!(
            "  {:<18} {:<9} {:>4}  {:<10}  {:<30}  {}",
            e.name(),
            state,
            e.key_bits(),
            e.not_after().map_or("-".to_string(), date),
            e.dns_names().join(", "),
            if bindings.is_empty() {
                "-".to_string()
            } else {
                bindings.join(", ")
            }
        );
    }
}

/// Writes a new public file (a request or a certificate: nothing secret).
fn write_file(path: &Path, contents: &[u8]) -> Result<(), Box<dyn Error>> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(contents)?;
    Ok(())
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
