//! A key store workload whose state has an invariant that only holds between transactions,
//! for the crash and concurrency tests.
//!
//! Transaction `i` removes the pending entries `e{i-1}` and `f{i-1}` and the binding
//! `192.0.2.1:{port(i-1)}`, then adds `e{i}` and `f{i}` and binds `192.0.2.1:{port(i)}` to the
//! installed entry `srv`. Between transactions the store holds exactly `srv`, `e{j}`, `f{j}`
//! and one binding for port(j), for one `j`; any other state is a half-applied transaction.
//! Four keys rotate so that each transaction is fast (no key generation).

use std::path::Path;

use keymanager::{
    CertificateRequest, DistinguishedName, Endpoint, Entry, KeyStore, PrivateKey, Transaction,
};

use super::fixtures;

/// The rotating keys (PKCS#8 DER) and their requests.
pub struct Workload {
    keys: Vec<Vec<u8>>,
    requests: Vec<CertificateRequest>,
}

impl Workload {
    /// Takes the five keys (four rotating, one for `srv`) from the fixtures' pool.
    pub fn generate() -> Self {
        let keys = (0..5).map(|n| fixtures::key_der(n).to_vec()).collect();
        Self::from_keys(keys)
    }

    fn from_keys(keys: Vec<Vec<u8>>) -> Self {
        let requests = keys
            .iter()
            .enumerate()
            .map(|(i, der)| {
                let key = PrivateKey::from_der(der).unwrap();
                let cn = if i == 4 {
                    "srv.example.com".to_string()
                } else {
                    format!("k{i}.example.com")
                };
                let dn = DistinguishedName::builder()
                    .common_name(cn.as_str())
                    .build()
                    .unwrap();
                CertificateRequest::builder(dn)
                    .dns_name(cn)
                    .sign(&key)
                    .unwrap()
            })
            .collect();
        Self { keys, requests }
    }

    /// Writes the keys to `dir/keys.bin` (test data only).
    pub fn save(&self, dir: &Path) {
        let mut out = Vec::new();
        for k in &self.keys {
            out.extend_from_slice(&(k.len() as u32).to_be_bytes());
            out.extend_from_slice(k);
        }
        std::fs::write(dir.join("keys.bin"), out).unwrap();
    }

    /// Reads what [`save`](Self::save) wrote.
    pub fn load(dir: &Path) -> Self {
        let data = std::fs::read(dir.join("keys.bin")).unwrap();
        let mut keys = Vec::new();
        let mut rest = &data[..];
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            keys.push(rest[4..4 + len].to_vec());
            rest = &rest[4 + len..];
        }
        Self::from_keys(keys)
    }

    fn key(&self, i: usize) -> PrivateKey {
        PrivateKey::from_der(&self.keys[i]).unwrap()
    }

    /// The request of `srv`, to be signed by a CA and passed to [`setup`](Self::setup).
    pub fn srv_request_pem(&self) -> String {
        self.requests[4].to_pem()
    }

    /// Adds `srv` and installs its certificate.
    pub fn setup(&self, store: &KeyStore, srv_cert_pem: &str) {
        let mut tx = store.begin().unwrap();
        tx.add_pending("srv", self.key(4), &self.requests[4])
            .unwrap();
        tx.install_certificate(srv_cert_pem.as_bytes()).unwrap();
        tx.commit().unwrap();
    }

    /// Transaction `i` (see the module docs).
    pub fn step(&self, store: &KeyStore, i: u64) -> keymanager::Result<()> {
        let mut tx = store.begin()?;
        self.apply(&mut tx, i)?;
        tx.commit()
    }

    /// The changes of transaction `i`, inside `tx`.
    pub fn apply(&self, tx: &mut Transaction, i: u64) -> keymanager::Result<()> {
        if i > 0 {
            tx.remove(&format!("e{}", i - 1))?;
            tx.remove(&format!("f{}", i - 1))?;
            tx.unbind(endpoint(i - 1))?;
        }
        let a = (2 * (i % 2)) as usize;
        tx.add_pending(&format!("e{i}"), self.key(a), &self.requests[a])?;
        tx.add_pending(&format!("f{i}"), self.key(a + 1), &self.requests[a + 1])?;
        tx.bind(endpoint(i), "srv")
    }
}

/// The endpoint of transaction `i`.
pub fn endpoint(i: u64) -> Endpoint {
    Endpoint::address("192.0.2.1".parse().unwrap(), 1 + (i % 60000) as u16).unwrap()
}

/// Checks the invariant; returns the `j` of the last applied transaction (`None` before the
/// first one).
pub fn observe(entries: &[Entry]) -> Result<Option<u64>, String> {
    let mut srv = None;
    let mut e = None;
    let mut f = None;
    for entry in entries {
        let name = entry.name();
        if name == "srv" {
            srv = Some(entry);
        } else if let Some(n) = name.strip_prefix('e') {
            if e.replace(n.parse::<u64>().map_err(|x| x.to_string())?)
                .is_some()
            {
                return Err(format!("two e entries: {names:?}", names = names(entries)));
            }
        } else if let Some(n) = name.strip_prefix('f') {
            if f.replace(n.parse::<u64>().map_err(|x| x.to_string())?)
                .is_some()
            {
                return Err(format!("two f entries: {:?}", names(entries)));
            }
        } else {
            return Err(format!("unexpected entry {name}"));
        }
    }
    let srv = srv.ok_or("srv is missing")?;
    match (e, f) {
        (None, None) => {
            if !srv.bindings().is_empty() {
                return Err(format!(
                    "bindings before any transaction: {:?}",
                    srv.bindings()
                ));
            }
            Ok(None)
        }
        (Some(e), Some(f)) if e == f => {
            if srv.bindings() != [endpoint(e)] {
                return Err(format!(
                    "transaction {e}: srv is bound to {:?}, expected [{}]",
                    srv.bindings(),
                    endpoint(e)
                ));
            }
            Ok(Some(e))
        }
        _ => Err(format!("half-applied transaction: {:?}", names(entries))),
    }
}

fn names(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.name().to_owned()).collect()
}
