//! Model-based test of `KeyStore` transactions (in the style of redb's `fuzz_redb`).
//!
//! The input is a list of operations, run against a fresh `KeyStore::open_in_memory_with` (low
//! Argon2 cost, zero busy timeout) and against a model: a `BTreeMap` from entry name to the
//! pre-made key it holds, one map for what is committed and one for the open transaction.
//!
//! The model covers pending entries (there is no CA here, so nothing gets installed): adding,
//! removing, and every binding / renewal / install operation, which must fail the same way in
//! both. After every operation the transaction's `entries()` must equal the model's transaction
//! state and `store.entries()` must equal the committed state; every error must be of the kind
//! the model predicts.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use keymanager::error::{EndpointError, InstallError, StoreError};
use keymanager::{
    CertificateRequest, DistinguishedName, Endpoint, EntryState, Error, Fingerprint, KdfParams,
    KeyStore, PrivateKey, StoreOptions, Transaction,
};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Entry names the operations pick from; the last two are invalid.
const NAMES: [&str; 6] = ["www", "api", "mail", "www (renewal)", "", " padded"];
/// Endpoints the operations pick from.
const ENDPOINTS: [&str; 4] = [
    "0.0.0.0:443",
    "www.example.com:443",
    "[2001:db8::1]:8443",
    "192.0.2.10:443",
];
/// How many keys (and their requests) are made once per process.
const KEYS: usize = 4;

#[derive(Debug, Arbitrary)]
enum Op {
    Begin,
    Commit,
    Rollback,
    Drop,
    /// `add_pending(NAMES[name], key KEYS[key], request of KEYS[request])`.
    AddPending { name: u8, key: u8, request: u8 },
    Bind { endpoint: u8, name: u8 },
    Unbind { endpoint: u8 },
    Remove { name: u8 },
    RemoveWithBindings { name: u8 },
    Renew { name: u8 },
    /// Installs the request of a key as if it were a certificate.
    InstallRequest { key: u8 },
    Resolve { endpoint: u8 },
}

/// What an operation gives, as far as the model can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    InvalidName,
    RequestKeyMismatch,
    NameTaken,
    DuplicateKey,
    NotFound,
    NotInstalled,
    NotBound,
    WrongState,
    IsRequest,
    Busy,
    /// Any other error, with its message, for the panic text.
    Other(String),
}

fuzz_target!(|ops: Vec<Op>| {
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
            Op::Resolve { endpoint } => {
                // Nothing is ever installed, so nothing resolves.
                let ep = endpoint_at(*endpoint);
                let ip = ep.ip().unwrap_or("192.0.2.10".parse().expect("an address"));
                let got = store
                    .resolve(ip, ep.port(), ep.host_name())
                    .expect("resolve");
                assert!(got.is_none(), "{op:?} resolved to {got:?}");
            }
            _ => {
                let (Some(t), Some(state)) = (tx.as_mut(), model.open.as_mut()) else {
                    continue;
                };
                let got = outcome(apply(t, op, fixtures));
                let expected = predict(state, op);
                assert_eq!(got, expected, "{op:?}");
            }
        }
        if let (Some(t), Some(state)) = (tx.as_ref(), model.open.as_ref()) {
            check(&t.entries().expect("tx entries"), state, fixtures, "transaction");
        }
        check(&store.entries().expect("entries"), &model.committed, fixtures, "committed");
    }
});

/// Entry name → index of its key in the fixtures.
type State = BTreeMap<String, usize>;

#[derive(Default)]
struct Model {
    committed: State,
    open: Option<State>,
}

/// Runs a write operation on the store.
fn apply(tx: &mut Transaction, op: &Op, fixtures: &[Fixture]) -> keymanager::Result<()> {
    match op {
        Op::AddPending { name, key, request } => {
            let key = fixtures[usize::from(*key) % KEYS].key.try_clone()?;
            let request = &fixtures[usize::from(*request) % KEYS].request;
            tx.add_pending(name_at(*name), key, request)
        }
        Op::Bind { endpoint, name } => tx.bind(endpoint_at(*endpoint), name_at(*name)),
        Op::Unbind { endpoint } => tx.unbind(&endpoint_at(*endpoint)),
        Op::Remove { name } => tx.remove(name_at(*name)),
        Op::RemoveWithBindings { name } => tx.remove_with_bindings(name_at(*name)),
        Op::Renew { name } => tx.renew(name_at(*name), 2048).map(|_| ()),
        Op::InstallRequest { key } => tx
            .install_certificate(fixtures[usize::from(*key) % KEYS].request.to_pem().as_bytes())
            .map(|_| ()),
        Op::Begin | Op::Commit | Op::Rollback | Op::Drop | Op::Resolve { .. } => Ok(()),
    }
}

/// What the model says a write operation gives, applying it to `state` if it succeeds.
fn predict(state: &mut State, op: &Op) -> Outcome {
    match op {
        Op::AddPending { name, key, request } => {
            let name = name_at(*name);
            let (key, request) = (usize::from(*key) % KEYS, usize::from(*request) % KEYS);
            if !valid_name(name) {
                Outcome::InvalidName
            } else if key != request {
                Outcome::RequestKeyMismatch
            } else if state.contains_key(name) {
                Outcome::NameTaken
            } else if state.values().any(|&k| k == key) {
                Outcome::DuplicateKey
            } else {
                state.insert(name.to_owned(), key);
                Outcome::Ok
            }
        }
        // Every entry is pending: binding one fails, so nothing is ever bound.
        Op::Bind { name, .. } => match state.contains_key(name_at(*name)) {
            true => Outcome::NotInstalled,
            false => Outcome::NotFound,
        },
        Op::Unbind { .. } => Outcome::NotBound,
        Op::Remove { name } | Op::RemoveWithBindings { name } => {
            match state.remove(name_at(*name)) {
                Some(_) => Outcome::Ok,
                None => Outcome::NotFound,
            }
        }
        Op::Renew { name } => match state.contains_key(name_at(*name)) {
            true => Outcome::WrongState,
            false => Outcome::NotFound,
        },
        Op::InstallRequest { .. } => Outcome::IsRequest,
        Op::Begin | Op::Commit | Op::Rollback | Op::Drop | Op::Resolve { .. } => Outcome::Ok,
    }
}

/// `entries` (from the store) must list exactly the model's entries, all pending and unbound.
fn check(entries: &[keymanager::Entry], state: &State, fixtures: &[Fixture], what: &str) {
    let got: Vec<(&str, EntryState, Fingerprint, String, usize)> = entries
        .iter()
        .map(|e| {
            assert!(e.bindings().is_empty(), "{what}: {e:?} has bindings");
            assert_eq!(e.renewal_of(), None, "{what}: {e:?}");
            (e.name(), e.state(), e.fingerprint(), e.subject().to_owned(), e.key_bits())
        })
        .collect();
    let expected: Vec<(&str, EntryState, Fingerprint, String, usize)> = state
        .iter()
        .map(|(name, &k)| {
            let f = &fixtures[k];
            (name.as_str(), EntryState::Pending, f.key.fingerprint(), f.request.subject(), 2048)
        })
        .collect();
    assert_eq!(got, expected, "{what} entries differ from the model");
}

fn outcome(result: keymanager::Result<()>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(Error::Store(StoreError::InvalidName { .. })) => Outcome::InvalidName,
        Err(Error::Install(InstallError::RequestKeyMismatch { .. })) => {
            Outcome::RequestKeyMismatch
        }
        Err(Error::Store(StoreError::NameTaken { .. })) => Outcome::NameTaken,
        Err(Error::Store(StoreError::DuplicateKey { .. })) => Outcome::DuplicateKey,
        Err(Error::Store(StoreError::NotFound { .. })) => Outcome::NotFound,
        Err(Error::Endpoint(EndpointError::NotInstalled { .. })) => Outcome::NotInstalled,
        Err(Error::Endpoint(EndpointError::NotBound { .. })) => Outcome::NotBound,
        Err(Error::Store(StoreError::WrongState { .. })) => Outcome::WrongState,
        Err(Error::Install(InstallError::IsRequest)) => Outcome::IsRequest,
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

/// A pre-made key and its request.
struct Fixture {
    key: PrivateKey,
    request: CertificateRequest,
}

/// [`KEYS`] 2048-bit keys from seeded random sources, made once per process.
fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        (0..KEYS)
            .map(|i| {
                let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
                let key = PrivateKey::generate_rsa_with_rng(&mut rng, 2048).expect("key");
                let dn: DistinguishedName =
                    format!("CN=host{i}.example.com,O=Fuzz").parse().expect("name");
                let request = CertificateRequest::builder(dn).sign(&key).expect("request");
                Fixture { key, request }
            })
            .collect()
    })
}
