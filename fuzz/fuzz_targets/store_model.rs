//! Model-based test of `KeyStore` transactions (in the style of redb's `fuzz_redb`).
//!
//! The input is a list of operations, run against a fresh `KeyStore::open_in_memory_with` (low
//! Argon2 cost, zero busy timeout) and against a model: a `BTreeMap` from entry name to what it
//! holds (its key, whether a certificate is installed, its bindings), one map for what is
//! committed and one for the open transaction.
//!
//! The operations create pending entries, install certificates (good, expired, without
//! serverAuth, dropping a requested name; issued in-process by the demo CA of
//! `support/ca.rs`), bind and unbind endpoints (address, any-address, host and wildcard),
//! remove, renew, commit, roll back, drop the transaction, and resolve connections. After every
//! operation the transaction's `entries()` must equal the model's transaction state and
//! `store.entries()` the committed state (names, states, keys, subjects, names, bindings); every
//! error must be of the kind the model predicts; `resolve` must pick the entry the model's
//! resolution order picks, with the right key and certificate.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use keymanager::error::{CertificateError, EndpointError, InstallError, KeyError, StoreError};
use keymanager::{
    Certificate, CertificateRequest, DistinguishedName, Endpoint, EntryState, Error, KdfParams,
    KeyStore, PrivateKey, StoreOptions, Transaction,
};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[path = "support/ca.rs"]
mod ca;

use ca::{Ca, Leaf};

/// Entry names the operations pick from; the last two are invalid.
const NAMES: [&str; 6] = ["www", "api", "mail", "www (renewal)", "", " padded"];
/// Endpoints the operations bind, in canonical form (`Display`).
const ENDPOINTS: [&str; 8] = [
    "0.0.0.0:443",
    "[::]:443",
    "192.0.2.10:443",
    "[2001:db8::1]:8443",
    "host0.example.com:443",
    "host1.example.com:8443",
    "*.example.com:443",
    "host3.example.com:443",
];
/// Local addresses of resolved connections: (address, canonical form, IPv6).
const LOCAL: [(&str, &str, bool); 4] = [
    ("192.0.2.10", "192.0.2.10", false),
    ("::ffff:192.0.2.10", "192.0.2.10", false),
    ("2001:db8::1", "[2001:db8::1]", true),
    ("198.51.100.7", "198.51.100.7", false),
];
/// SNI values of resolved connections; the last two never match a host binding.
const SNI: [Option<&str>; 6] = [
    None,
    Some("host0.example.com"),
    Some("HOST1.Example.com"),
    Some("other.example.com"),
    Some("bad name!"),
    Some("*.example.com"),
];
const PORTS: [u16; 2] = [443, 8443];
/// How many keys (with their requests and certificates) are made once per process.
const KEYS: usize = 4;
/// The certificate kinds each key has.
const KINDS: [Cert; 4] = [
    Cert::Good,
    Cert::Expired,
    Cert::NoServerAuth,
    Cert::DropsName,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cert {
    Good,
    Expired,
    NoServerAuth,
    /// Certifies `elsewhere.example.net` only: drops the requested `host<k>.example.com`.
    DropsName,
}

/// One operation. Decoded from the input by [`decode`]: a tag byte (modulo the 13 kinds, in
/// this order) then one byte per field.
#[derive(Debug)]
enum Op {
    Begin,
    Commit,
    Rollback,
    Drop,
    /// `add_pending(NAMES[name], key KEYS[key], request of KEYS[request])`.
    AddPending {
        name: u8,
        key: u8,
        request: u8,
    },
    /// Installs certificate `KINDS[kind]` of key `key`, with the CA certificate.
    Install {
        key: u8,
        kind: u8,
    },
    Bind {
        endpoint: u8,
        name: u8,
    },
    Unbind {
        endpoint: u8,
    },
    Remove {
        name: u8,
    },
    RemoveWithBindings {
        name: u8,
    },
    /// Renews with a refused key size (1000 bits), so that no key is generated in the loop.
    Renew {
        name: u8,
    },
    /// Installs the request of a key as if it were a certificate.
    InstallRequest {
        key: u8,
    },
    Resolve {
        local: u8,
        port: u8,
        sni: u8,
    },
}

/// What an operation gives, as far as the model can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// An install that worked, with the entry's name.
    Installed(String),
    InvalidName,
    RequestKeyMismatch,
    NameTaken,
    DuplicateKey,
    NotFound,
    StillBound,
    NotInstalled,
    NotBound,
    Taken,
    HostNotCovered,
    WrongState,
    SizeNotAllowed,
    IsRequest,
    NoMatchingKey,
    AlreadyInstalled,
    InvalidDates,
    NoServerAuth,
    NamesDropped,
    Busy,
    /// Any other error, with its message, for the panic text.
    Other(String),
}

fuzz_target!(|data: &[u8]| {
    let ops = decode(data);
    let fixtures = fixtures();
    let options = StoreOptions::new()
        .kdf(KdfParams::new(8, 1, 1).expect("valid KDF parameters"))
        .busy_timeout(Duration::ZERO);
    let store = KeyStore::open_in_memory_with("fuzz", &options).expect("opening a temporary store");
    let mut model = Model::default();
    let mut tx: Option<Transaction> = None;

    for op in ops.iter().take(64) {
        match op {
            Op::Begin => {
                let got = store.begin();
                if tx.is_some() {
                    // The open transaction holds the write lock: a second writer is told so.
                    assert_eq!(outcome(got.map(|_| ())), Outcome::Busy, "{op:?}");
                } else {
                    tx = Some(got.expect("begin with no other writer"));
                    model.open = Some(model.committed.clone());
                }
            }
            Op::Commit => {
                if let Some(t) = tx.take() {
                    t.commit().expect("commit");
                    model.committed = model.open.take().expect("model transaction");
                }
            }
            Op::Rollback => {
                if let Some(t) = tx.take() {
                    t.rollback().expect("rollback");
                    model.open = None;
                }
            }
            Op::Drop => {
                if tx.take().is_some() {
                    model.open = None;
                }
            }
            Op::Resolve { local, port, sni } => {
                let (ip, canonical, ipv6) = LOCAL[usize::from(*local) % LOCAL.len()];
                let port = PORTS[usize::from(*port) % PORTS.len()];
                let sni = SNI[usize::from(*sni) % SNI.len()];
                let ip: IpAddr = ip.parse().expect("an address");
                let got = store
                    .resolve(sni, SocketAddr::new(ip, port))
                    .expect("resolve");
                let expected = model.committed.resolve(canonical, ipv6, port, sni);
                assert_eq!(
                    got.as_ref().map(|i| i.name()),
                    expected.as_deref(),
                    "{op:?}"
                );
                if let Some(identity) = got {
                    let entry = &model.committed.entries[identity.name()];
                    let fixture = &fixtures.keys[entry.key];
                    assert_eq!(
                        identity
                            .private_key()
                            .expect("a resolved key opens")
                            .fingerprint(),
                        fixture.key.fingerprint()
                    );
                    let leaf = identity.chain().first().expect("a chain");
                    assert_eq!(
                        leaf.to_der(),
                        fixture.certs[0].to_der(),
                        "{op:?}: another certificate"
                    );
                    assert!(leaf.matches(identity.private_key().expect("a resolved key opens")));
                }
            }
            _ => {
                let (Some(t), Some(state)) = (tx.as_mut(), model.open.as_mut()) else {
                    continue;
                };
                let got = apply(t, op, fixtures);
                let expected = state.apply(op);
                assert_eq!(got, expected, "{op:?}");
            }
        }
        if let (Some(t), Some(state)) = (tx.as_ref(), model.open.as_ref()) {
            check(
                &t.entries().expect("tx entries"),
                state,
                fixtures,
                "transaction",
            );
        }
        check(
            &store.entries().expect("entries"),
            &model.committed,
            fixtures,
            "committed",
        );
    }
});

/// The operations `data` encodes: a tag byte, then the fields (missing ones are 0).
///
/// A compact encoding (2 to 4 bytes an operation) rather than `arbitrary`'s 4-byte enum tags,
/// so that short inputs (libFuzzer starts with a few bytes) already make whole scenarios, and
/// seeds (`fuzz/seeds/store_model/`) are easy to write.
fn decode(data: &[u8]) -> Vec<Op> {
    let mut bytes = data.iter().copied();
    let mut ops = Vec::new();
    while let Some(tag) = bytes.next() {
        let mut next = || bytes.next().unwrap_or(0);
        ops.push(match tag % 13 {
            0 => Op::Begin,
            1 => Op::Commit,
            2 => Op::Rollback,
            3 => Op::Drop,
            4 => Op::AddPending {
                name: next(),
                key: next(),
                request: next(),
            },
            5 => Op::Install {
                key: next(),
                kind: next(),
            },
            6 => Op::Bind {
                endpoint: next(),
                name: next(),
            },
            7 => Op::Unbind { endpoint: next() },
            8 => Op::Remove { name: next() },
            9 => Op::RemoveWithBindings { name: next() },
            10 => Op::Renew { name: next() },
            11 => Op::InstallRequest { key: next() },
            _ => Op::Resolve {
                local: next(),
                port: next(),
                sni: next(),
            },
        });
    }
    ops
}

#[derive(Default)]
struct Model {
    committed: State,
    open: Option<State>,
}

/// One entry of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelEntry {
    /// Index of its key in the fixtures.
    key: usize,
    installed: bool,
    /// Endpoints (canonical strings) bound to it.
    bindings: BTreeSet<String>,
}

#[derive(Debug, Clone, Default)]
struct State {
    entries: BTreeMap<String, ModelEntry>,
}

impl State {
    /// What the store should give for a write operation; applies it when it succeeds.
    fn apply(&mut self, op: &Op) -> Outcome {
        match op {
            Op::AddPending { name, key, request } => {
                let name = name_at(*name);
                let (key, request) = (usize::from(*key) % KEYS, usize::from(*request) % KEYS);
                if !valid_name(name) {
                    Outcome::InvalidName
                } else if key != request {
                    Outcome::RequestKeyMismatch
                } else if self.entries.contains_key(name) {
                    Outcome::NameTaken
                } else if self.entries.values().any(|e| e.key == key) {
                    Outcome::DuplicateKey
                } else {
                    let entry = ModelEntry {
                        key,
                        installed: false,
                        bindings: BTreeSet::new(),
                    };
                    self.entries.insert(name.to_owned(), entry);
                    Outcome::Ok
                }
            }
            Op::Install { key, kind } => {
                let key = usize::from(*key) % KEYS;
                let kind = KINDS[usize::from(*kind) % KINDS.len()];
                let Some((name, entry)) = self.entries.iter_mut().find(|(_, e)| e.key == key)
                else {
                    return Outcome::NoMatchingKey;
                };
                if entry.installed {
                    return Outcome::AlreadyInstalled;
                }
                match kind {
                    Cert::Expired => Outcome::InvalidDates,
                    Cert::NoServerAuth => Outcome::NoServerAuth,
                    Cert::DropsName => Outcome::NamesDropped,
                    Cert::Good => {
                        entry.installed = true;
                        Outcome::Installed(name.clone())
                    }
                }
            }
            Op::Bind { endpoint, name } => {
                let endpoint = ENDPOINTS[usize::from(*endpoint) % ENDPOINTS.len()];
                let name = name_at(*name);
                let Some(entry) = self.entries.get(name) else {
                    return Outcome::NotFound;
                };
                if !entry.installed {
                    return Outcome::NotInstalled;
                }
                if self.bound(endpoint).is_some() {
                    return Outcome::Taken;
                }
                if let Some((host, _)) = endpoint.rsplit_once(':')
                    && !host.starts_with('[')
                    && !host.starts_with(|c: char| c.is_ascii_digit())
                    && !covers(entry.key, host)
                {
                    return Outcome::HostNotCovered;
                }
                let entry = self.entries.get_mut(name).expect("checked above");
                entry.bindings.insert(endpoint.to_owned());
                Outcome::Ok
            }
            Op::Unbind { endpoint } => {
                let endpoint = ENDPOINTS[usize::from(*endpoint) % ENDPOINTS.len()];
                match self
                    .entries
                    .values_mut()
                    .find(|e| e.bindings.contains(endpoint))
                {
                    Some(entry) => {
                        entry.bindings.remove(endpoint);
                        Outcome::Ok
                    }
                    None => Outcome::NotBound,
                }
            }
            Op::Remove { name } => match self.entries.get(name_at(*name)) {
                None => Outcome::NotFound,
                Some(e) if !e.bindings.is_empty() => Outcome::StillBound,
                Some(_) => {
                    self.entries.remove(name_at(*name));
                    Outcome::Ok
                }
            },
            Op::RemoveWithBindings { name } => match self.entries.remove(name_at(*name)) {
                Some(_) => Outcome::Ok,
                None => Outcome::NotFound,
            },
            Op::Renew { name } => {
                let name = name_at(*name);
                match self.entries.get(name) {
                    None => Outcome::NotFound,
                    Some(e) if !e.installed => Outcome::WrongState,
                    // No renewal is ever started (the key size is refused), so the only
                    // obstacle left is a plain entry already called `<name> (renewal)`.
                    Some(_) if self.entries.contains_key(&format!("{name} (renewal)")) => {
                        Outcome::NameTaken
                    }
                    Some(_) => Outcome::SizeNotAllowed,
                }
            }
            Op::InstallRequest { .. } => Outcome::IsRequest,
            Op::Begin | Op::Commit | Op::Rollback | Op::Drop | Op::Resolve { .. } => Outcome::Ok,
        }
    }

    /// The entry bound to `endpoint`.
    fn bound(&self, endpoint: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, e)| e.bindings.contains(endpoint))
            .map(|(name, _)| name.as_str())
    }

    /// The README's resolution order: `host:port`, `*.parent:port`, `ip:port`, then the
    /// any-address of the family.
    fn resolve(
        &self,
        canonical_ip: &str,
        ipv6: bool,
        port: u16,
        sni: Option<&str>,
    ) -> Option<String> {
        let mut candidates = Vec::new();
        if let Some(sni) = sni.filter(|s| !s.contains(' ') && !s.contains('*')) {
            let host = sni.to_ascii_lowercase();
            if let Some((_, parent)) = host.split_once('.') {
                candidates.push(format!("{host}:{port}"));
                candidates.push(format!("*.{parent}:{port}"));
            }
        }
        candidates.push(format!("{canonical_ip}:{port}"));
        candidates.push(if ipv6 {
            format!("[::]:{port}")
        } else {
            format!("0.0.0.0:{port}")
        });
        candidates
            .iter()
            .find_map(|c| self.bound(c))
            .map(str::to_owned)
    }
}

/// Whether key `key`'s good certificate covers the host-name binding `host`: its own
/// `host<k>.example.com`, and for key 3 (certified for `*.example.com` too) the wildcard
/// binding and every host one label under `example.com`.
fn covers(key: usize, host: &str) -> bool {
    host == format!("host{key}.example.com")
        || (key == 3
            && host
                .strip_suffix(".example.com")
                .is_some_and(|l| !l.contains('.')))
}

/// Runs a write operation on the store.
fn apply(tx: &mut Transaction, op: &Op, fixtures: &Fixtures) -> Outcome {
    let result = match op {
        Op::AddPending { name, key, request } => {
            let key = fixtures.keys[usize::from(*key) % KEYS].key.clone();
            let request = &fixtures.keys[usize::from(*request) % KEYS].request;
            tx.add_pending(name_at(*name), key, request)
        }
        Op::Install { key, kind } => {
            let pem =
                &fixtures.keys[usize::from(*key) % KEYS].bundles[usize::from(*kind) % KINDS.len()];
            return match tx.install_certificate(pem.as_bytes()) {
                Ok(name) => Outcome::Installed(name),
                Err(e) => outcome(Err(e)),
            };
        }
        Op::Bind { endpoint, name } => tx.bind(endpoint_at(*endpoint), name_at(*name)),
        Op::Unbind { endpoint } => tx.unbind(endpoint_at(*endpoint)),
        Op::Remove { name } => tx.remove(name_at(*name)),
        Op::RemoveWithBindings { name } => tx.remove_with_bindings(name_at(*name)),
        Op::Renew { name } => tx.renew(name_at(*name), 1000).map(|_| ()),
        Op::InstallRequest { key } => tx
            .install_certificate(
                fixtures.keys[usize::from(*key) % KEYS]
                    .request
                    .to_pem()
                    .as_bytes(),
            )
            .map(|_| ()),
        Op::Begin | Op::Commit | Op::Rollback | Op::Drop | Op::Resolve { .. } => Ok(()),
    };
    outcome(result)
}

/// `entries` (from the store) must list exactly the model's entries.
fn check(entries: &[keymanager::Entry], state: &State, fixtures: &Fixtures, what: &str) {
    type Row = (
        String,
        EntryState,
        String,
        String,
        Vec<String>,
        usize,
        Vec<String>,
    );
    let got: Vec<Row> = entries
        .iter()
        .map(|e| {
            assert_eq!(e.renewal_of(), None, "{what}: {e:?}");
            assert_eq!(
                e.installed().is_some(),
                e.state() == EntryState::Installed,
                "{what}: {e:?}"
            );
            let mut bindings: Vec<String> = e.bindings().iter().map(ToString::to_string).collect();
            bindings.sort();
            (
                e.name().to_owned(),
                e.state(),
                e.fingerprint().to_hex(),
                e.subject().to_owned(),
                e.dns_names().to_vec(),
                e.key_bits(),
                bindings,
            )
        })
        .collect();
    let expected: Vec<Row> = state
        .entries
        .iter()
        .map(|(name, e)| {
            let f = &fixtures.keys[e.key];
            let (entry_state, subject, dns) = if e.installed {
                (
                    EntryState::Installed,
                    f.certs[0].subject(),
                    f.certs[0].dns_names(),
                )
            } else {
                (
                    EntryState::Pending,
                    f.request.subject(),
                    f.request.dns_names(),
                )
            };
            let bindings = e.bindings.iter().cloned().collect();
            (
                name.clone(),
                entry_state,
                f.key.fingerprint().to_hex(),
                subject,
                dns,
                2048,
                bindings,
            )
        })
        .collect();
    assert_eq!(got, expected, "{what} entries differ from the model");
}

fn outcome(result: keymanager::Result<()>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(Error::Store(StoreError::InvalidName { .. })) => Outcome::InvalidName,
        Err(Error::Install(InstallError::RequestKeyMismatch { .. })) => Outcome::RequestKeyMismatch,
        Err(Error::Store(StoreError::NameTaken { .. })) => Outcome::NameTaken,
        Err(Error::Store(StoreError::DuplicateKey { .. })) => Outcome::DuplicateKey,
        Err(Error::Store(StoreError::NotFound { .. })) => Outcome::NotFound,
        Err(Error::Store(StoreError::StillBound { .. })) => Outcome::StillBound,
        Err(Error::Endpoint(EndpointError::NotInstalled { .. })) => Outcome::NotInstalled,
        Err(Error::Endpoint(EndpointError::NotBound { .. })) => Outcome::NotBound,
        Err(Error::Endpoint(EndpointError::Taken { .. })) => Outcome::Taken,
        Err(Error::Endpoint(EndpointError::HostNotCovered { .. })) => Outcome::HostNotCovered,
        Err(Error::Store(StoreError::WrongState { .. })) => Outcome::WrongState,
        Err(Error::Key(KeyError::SizeNotAllowed { .. })) => Outcome::SizeNotAllowed,
        Err(Error::Certificate(CertificateError::IsRequest)) => Outcome::IsRequest,
        Err(Error::Install(InstallError::NoMatchingKey { .. })) => Outcome::NoMatchingKey,
        Err(Error::Install(InstallError::AlreadyInstalled { .. })) => Outcome::AlreadyInstalled,
        Err(Error::Install(InstallError::InvalidDates { .. })) => Outcome::InvalidDates,
        Err(Error::Install(InstallError::NoServerAuth { .. })) => Outcome::NoServerAuth,
        Err(Error::Install(InstallError::NamesDropped { .. })) => Outcome::NamesDropped,
        Err(Error::Store(StoreError::Busy { .. })) => Outcome::Busy,
        Err(e) => Outcome::Other(e.to_string()),
    }
}

/// The store's name rules, for the names in [`NAMES`].
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.trim() == name
}

fn name_at(i: u8) -> &'static str {
    NAMES[usize::from(i) % NAMES.len()]
}

fn endpoint_at(i: u8) -> Endpoint {
    ENDPOINTS[usize::from(i) % ENDPOINTS.len()]
        .parse()
        .expect("a valid endpoint")
}

/// The keys, requests and certificates the operations use.
struct Fixtures {
    keys: Vec<KeyFixture>,
}

/// A pre-made key, its request, its certificates (one per [`KINDS`]) and their PEM bundles
/// with the CA certificate.
struct KeyFixture {
    key: PrivateKey,
    request: CertificateRequest,
    certs: Vec<Certificate>,
    bundles: Vec<String>,
}

/// [`KEYS`] 2048-bit keys and a CA key from seeded random sources, made once per process.
fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let ca_key = PrivateKey::generate_rsa_with_rng(&mut ChaCha8Rng::seed_from_u64(100), 2048)
            .expect("CA key");
        let ca = Ca::new(&ca_key, "Fuzz Test CA");
        let ca_pem = Certificate::from_der(&ca.cert_der)
            .expect("CA certificate")
            .to_pem();
        let keys = (0..KEYS)
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
                let key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048).expect("key");
                let host = format!("host{i}.example.com");
                let dn: DistinguishedName = format!("CN={host},O=Fuzz").parse().expect("name");
                let request = CertificateRequest::builder(dn.clone())
                    .sign(&key)
                    .expect("request");
                let subject = dn.to_der().expect("subject DER");
                let certs: Vec<Certificate> = KINDS
                    .iter()
                    .enumerate()
                    .map(|(k, kind)| {
                        let mut dns = vec![host.as_str()];
                        if i == 3 {
                            dns.push("*.example.com");
                        }
                        let leaf = match kind {
                            Cert::Good => Leaf::Good,
                            Cert::Expired => Leaf::Expired,
                            Cert::NoServerAuth => Leaf::NoServerAuth,
                            Cert::DropsName => {
                                dns = vec!["elsewhere.example.net"];
                                Leaf::Good
                            }
                        };
                        let serial = (10 * i + k + 2) as u32;
                        let der = ca.issue(key.public_key_der(), &subject, &dns, leaf, serial);
                        Certificate::from_der(&der).expect("leaf certificate")
                    })
                    .collect();
                let bundles = certs
                    .iter()
                    .map(|c| format!("{}{ca_pem}", c.to_pem()))
                    .collect();
                KeyFixture {
                    key,
                    request,
                    certs,
                    bundles,
                }
            })
            .collect();
        Fixtures { keys }
    })
}
