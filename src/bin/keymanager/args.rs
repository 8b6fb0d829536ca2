//! The command line: global options and one subcommand per library operation.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use keymanager::KeyType;

/// Printed after `--help`: what a script can test, and where secrets come from.
const AFTER_HELP: &str = "\
Exit codes:
  0  success (check: no problem found)
  1  refused: invalid input or a conflict (the message says which)
  2  usage: bad arguments, no store given, no passphrase available
  3  not found: no such entry, nothing bound to the endpoint, no store file
  4  wrong store passphrase, or wrong key file password
  5  busy: another process held the store longer than --busy-timeout; retry
  6  the store is damaged, was tampered with, or is from a newer version
  7  a file could not be read or written, an address could not be listened on, or the
     database failed
  8  check: problems found (listed on stdout)
  9  acme: the CA refused (a rejected name, a failed validation, ...: the message says which)
 10  acme: the CA's rate limit was hit; retry after the time the message gives
 11  acme: the CA could not be reached, timed out or failed; run the same command again to
     resume the recorded order
On any failure the store is left exactly as it was (acme: apart from the order's record).

Secrets never come from a flag (flags show in `ps`):
  store passphrase      --passphrase-fd N, else KEYMANAGER_PASSPHRASE, else a prompt
  new passphrase        --new-passphrase-fd N, else KEYMANAGER_NEW_PASSPHRASE, else a prompt
  key file password     --key-password-fd N, else KEYMANAGER_KEY_PASSWORD, else a prompt
  acme EAB HMAC key     --eab-hmac-fd N, else KEYMANAGER_ACME_EAB_HMAC, else a prompt
A file descriptor gives its first line. Prompts need a terminal and do not echo.";

/// An operator's key manager: keys, certificate requests, certificates and endpoint bindings
/// in one encrypted store. Each command is one transaction: it commits when it succeeds and
/// changes nothing when it fails.
#[derive(Debug, Parser)]
#[command(name = "keymanager", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Options of every command.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command.
#[derive(Debug, Args)]
pub struct Global {
    /// The key store file (created by `init`, or by `new` or `import` when missing).
    #[arg(long, env = "KEYMANAGER_STORE", global = true, value_name = "PATH")]
    pub store: Option<PathBuf>,

    /// Read the store passphrase from this open file descriptor (its first line).
    #[arg(long, global = true, value_name = "N")]
    pub passphrase_fd: Option<u32>,

    /// Show what would change, then roll back: nothing is written.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// How long to wait for another writer (this tool or the server) before giving up, in
    /// milliseconds.
    #[arg(long, global = true, value_name = "MS", default_value_t = 5000)]
    pub busy_timeout: u64,
}

/// The subcommands, one per library operation.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, empty key store at --store (an existing file is refused). `new` and
    /// `import` also create a missing store, and say so.
    Init,
    /// Generate a key and its certificate request (PKCS#10); keep the key as a pending entry.
    New(Box<NewArgs>),
    /// Install a certificate (PEM, DER, or a PEM bundle with its chain) on the pending key it
    /// certifies.
    Install {
        /// The certificate file; `-` reads standard input.
        file: PathBuf,
        /// Install even if the certificate is expired or not yet valid.
        #[arg(long)]
        allow_invalid_dates: bool,
    },
    /// Bind an installed entry to an endpoint: 0.0.0.0:443, [::]:443, 192.0.2.10:443,
    /// [2001:db8::1]:443, www.example.com:443 or *.example.com:443 (SNI).
    Bind {
        /// The endpoint.
        endpoint: String,
        /// The entry.
        name: String,
    },
    /// Remove an endpoint's binding.
    Unbind {
        /// The endpoint.
        endpoint: String,
    },
    /// List the entries: name, state, subject, DNS names, end of validity, key size, bindings.
    List {
        /// JSON for scripts: an array of entries.
        #[arg(long)]
        json: bool,
    },
    /// Show one entry in full.
    Show {
        /// The entry.
        name: String,
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Start renewing an installed entry: a new key and request as the entry `NAME (renewal)`,
    /// listed in state `renewal of NAME`; installing its certificate takes over NAME and its
    /// bindings.
    Renew {
        /// The entry to renew.
        name: String,
        /// The new RSA key's size in bits (an ECDSA entry keeps its curve).
        #[arg(long, default_value_t = 2048)]
        bits: usize,
        /// Renew with a key of another type (`--bits` then sizes an RSA key).
        #[arg(long, value_enum)]
        key_type: Option<KeyTypeArg>,
        /// Write the request here instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Remove an entry and its key.
    Remove {
        /// The entry.
        name: String,
        /// Remove its bindings too (otherwise a bound entry is refused).
        #[arg(long)]
        with_bindings: bool,
    },
    /// Export an entry: its key as encrypted PKCS#8 PEM (under the key file password) and its
    /// certificate chain as PEM.
    Export {
        /// The entry.
        name: String,
        /// The key file to create (mode 0600; an existing file is not overwritten).
        #[arg(long, value_name = "FILE", required_unless_present = "pkcs12")]
        key_out: Option<PathBuf>,
        /// The chain file to write (replaced whole or not at all); standard output when not
        /// given.
        #[arg(long, value_name = "FILE")]
        chain_out: Option<PathBuf>,
        /// Where the key file password comes from.
        #[command(flatten)]
        password: KeyPassword,
        /// Write key and chain as one PKCS#12 file instead (.pfx/.p12, mode 0600, not
        /// overwritten): AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC, the entry's name as
        /// friendlyName.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["key_out", "chain_out"])]
        pkcs12: Option<PathBuf>,
        /// With --pkcs12: encrypt with PBE-SHA1-3DES and a SHA-1 MAC, for Windows Server 2016
        /// and older.
        #[arg(long, requires = "pkcs12")]
        legacy_3des: bool,
        /// Where the PKCS#12 password comes from.
        #[command(flatten)]
        pkcs12_password: Pkcs12Password,
    },
    /// Import a key and its certificate (with its chain) made elsewhere, as an installed entry.
    Import {
        /// The new entry's name.
        name: String,
        /// The private key: PEM or DER, PKCS#8, PKCS#1 or encrypted PKCS#8.
        #[arg(long, value_name = "FILE", required_unless_present = "pkcs12")]
        key: Option<PathBuf>,
        /// The certificate, or a PEM bundle with its chain.
        #[arg(long, value_name = "FILE", required_unless_present = "pkcs12")]
        cert: Option<PathBuf>,
        /// Import key, certificate and chain from one PKCS#12 file (.pfx/.p12) instead; it
        /// must hold one key.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["key", "cert"])]
        pkcs12: Option<PathBuf>,
        /// With --pkcs12: accept RC2-40 and RC4 encryption (`openssl pkcs12 -legacy`, old
        /// Windows).
        #[arg(long, requires = "pkcs12")]
        allow_legacy: bool,
        /// Where the PKCS#12 password comes from.
        #[command(flatten)]
        pkcs12_password: Pkcs12Password,
        /// Import even if the certificate is expired or not yet valid.
        #[arg(long)]
        allow_invalid_dates: bool,
        /// Where an encrypted key's password comes from.
        #[command(flatten)]
        password: KeyPassword,
    },
    /// Change the store passphrase: every key is re-sealed, in one transaction.
    Passwd {
        /// Read the new passphrase from this open file descriptor (its first line).
        #[arg(long, value_name = "N")]
        new_passphrase_fd: Option<u32>,
    },
    /// Check the store's health: expired or expiring certificates, stale pending requests,
    /// weak keys, unbound entries, host bindings the certificate does not name. Exit code 8
    /// when a problem is found.
    Check {
        /// Report certificates that end within this many days.
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        expiring_days: u64,
        /// Report pending requests older than this many days.
        #[arg(long, value_name = "DAYS", default_value_t = 14)]
        pending_days: u64,
        /// Report keys smaller than this.
        #[arg(long, value_name = "BITS", default_value_t = 2048)]
        min_bits: usize,
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Certificates from an ACME CA (Let's Encrypt, ...): register an account, issue, renew,
    /// list the orders in flight (feature `acme`).
    #[cfg(feature = "acme")]
    #[command(subcommand)]
    Acme(crate::acme::AcmeCommand),
}

/// `new`: the entry, its subject and names, its key size.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The entry's name, unique in the store (e.g. `www`).
    pub name: String,

    /// The whole subject as an RFC 4514 string, e.g. `CN=www.example.com,O=Example,C=US`.
    #[arg(long, value_name = "DN", conflicts_with_all = ["cn", "org", "ou", "locality", "state", "country", "email"])]
    pub subject: Option<String>,
    /// Common name: the server's host name.
    #[arg(long, value_name = "HOST", required_unless_present = "subject")]
    pub cn: Option<String>,
    /// Organization.
    #[arg(long)]
    pub org: Option<String>,
    /// Organizational unit (repeatable).
    #[arg(long)]
    pub ou: Vec<String>,
    /// Locality (city).
    #[arg(long)]
    pub locality: Option<String>,
    /// State or province.
    #[arg(long)]
    pub state: Option<String>,
    /// Country, two letters (ISO 3166-1).
    #[arg(long)]
    pub country: Option<String>,
    /// Email address.
    #[arg(long)]
    pub email: Option<String>,

    /// Another DNS name for the subjectAltName (repeatable); the common name is always there.
    #[arg(long, value_name = "NAME")]
    pub dns: Vec<String>,
    /// An IP address for the subjectAltName (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub ip: Vec<IpAddr>,
    /// The key type. The default is RSA (2048 bits) for now; a later release may make
    /// ecdsa-p256 the default, as Caddy and certbot have.
    #[arg(long, value_enum, default_value_t = KeyTypeArg::Rsa)]
    pub key_type: KeyTypeArg,
    /// The RSA key size in bits (default 2048); for RSA keys only.
    #[arg(long)]
    pub bits: Option<usize>,
    /// Write the request here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--key-type`: what key to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyTypeArg {
    /// RSA, `--bits` bits (2048 by default).
    Rsa,
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
}

impl KeyTypeArg {
    /// The key type, with `bits` for RSA; `--bits` with an ECDSA type is a usage error.
    pub fn with_bits(self, bits: Option<usize>) -> Result<KeyType, crate::failure::Failure> {
        match (self, bits) {
            (KeyTypeArg::Rsa, bits) => Ok(KeyType::Rsa {
                bits: bits.unwrap_or(2048),
            }),
            (_, Some(_)) => Err(crate::failure::Failure::Usage {
                message: "--bits is for RSA keys: an ECDSA key's size is its curve's".into(),
                hint: "drop --bits, or choose --key-type ecdsa-p384 for a larger ECDSA key".into(),
            }),
            (KeyTypeArg::EcdsaP256, None) => Ok(KeyType::EcdsaP256),
            (KeyTypeArg::EcdsaP384, None) => Ok(KeyType::EcdsaP384),
        }
    }
}

/// Where a key file's password comes from, besides KEYMANAGER_KEY_PASSWORD and a prompt.
#[derive(Debug, Args)]
pub struct KeyPassword {
    /// Read the key file password from this open file descriptor (its first line).
    #[arg(long, value_name = "N")]
    pub key_password_fd: Option<u32>,
}

/// Where a PKCS#12 file's password comes from, besides KEYMANAGER_PKCS12_PASSWORD and a prompt.
#[derive(Debug, Args)]
pub struct Pkcs12Password {
    /// Read the PKCS#12 password from this open file descriptor (its first line).
    #[arg(long, value_name = "N")]
    pub pkcs12_password_fd: Option<u32>,
}
