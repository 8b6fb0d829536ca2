//! PKCS#12 in and out of the store: [`Transaction::import_pkcs12`] and
//! [`KeyStore::export_pkcs12`]. The file format and its checks are [`crate::pkcs12`]'s; an
//! imported key and chain go through the same insert path and checks as
//! [`Transaction::import`] (key policy, certificate-to-key match, chain order and links, dates,
//! serverAuth).

use super::rows::State;
use super::transaction::check_name;
use super::{InstallOptions, KeyStore, Transaction};
use crate::error::{Result, StoreError};
use crate::key::KeySizePolicy;
use crate::pkcs12::{self, Pkcs12ExportOptions, Pkcs12ReadOptions, Pkcs12Select, Pkcs12Warning};

/// How [`Transaction::import_pkcs12_with`] imports a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs12ImportOptions {
    select: Pkcs12Select,
    read: Pkcs12ReadOptions,
    install: InstallOptions,
}

impl Default for Pkcs12ImportOptions {
    fn default() -> Self {
        Self {
            select: Pkcs12Select::Only,
            read: Pkcs12ReadOptions::new(),
            install: InstallOptions::new(),
        }
    }
}

impl Pkcs12ImportOptions {
    /// The defaults: the file's only key, RC2-40 and RC4 refused, the standard key size
    /// policy, the certificate valid now.
    pub fn new() -> Self {
        Self::default()
    }

    /// Which key(s) of the file to import. With [`Pkcs12Select::Each`] and several keys, the
    /// entries are named `NAME-1`, `NAME-2`, ... in the file's order; a single key is `NAME`.
    pub fn select(mut self, select: Pkcs12Select) -> Self {
        self.select = select;
        self
    }

    /// Accept RC2-40 and RC4 encryption ([`Pkcs12ReadOptions::allow_legacy`]).
    pub fn allow_legacy(mut self, allow: bool) -> Self {
        self.read = self.read.allow_legacy(allow);
        self
    }

    /// The key size policy the keys must satisfy.
    pub fn key_policy(mut self, policy: KeySizePolicy) -> Self {
        self.read = self.read.key_policy(policy);
        self
    }

    /// The checks the certificates go through ([`InstallOptions`]).
    pub fn install(mut self, install: InstallOptions) -> Self {
        self.install = install;
        self
    }
}

/// What [`Transaction::import_pkcs12`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs12Import {
    names: Vec<String>,
    warnings: Vec<Pkcs12Warning>,
}

impl Pkcs12Import {
    /// The entries made, in the file's order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// What to tell the operator (3DES, RC2-40 or RC4 encryption, certificates left out).
    pub fn warnings(&self) -> &[Pkcs12Warning] {
        &self.warnings
    }
}

impl Transaction {
    /// Imports the key, certificate and chain of the PKCS#12 file `bytes` (DER, `.pfx` /
    /// `.p12`) protected by `password` as the installed entry `name`: the file's only key,
    /// RC2-40 and RC4 refused, the certificate valid now. See
    /// [`import_pkcs12_with`](Self::import_pkcs12_with).
    pub fn import_pkcs12(
        &mut self,
        name: &str,
        bytes: &[u8],
        password: &str,
    ) -> Result<Pkcs12Import> {
        self.import_pkcs12_with(name, bytes, password, &Pkcs12ImportOptions::new())
    }

    /// [`import_pkcs12`](Self::import_pkcs12) with options: which key(s), legacy encryption,
    /// key policy, install checks.
    ///
    /// The file is read by [`pkcs12::read`] (bounded work, refused algorithms, wrong password
    /// told from an altered file: [`Pkcs12Error`](crate::error::Pkcs12Error)); each chosen key
    /// and its chain then go through [`import`](Self::import)'s checks. Several keys are
    /// imported together or not at all.
    pub fn import_pkcs12_with(
        &mut self,
        name: &str,
        bytes: &[u8],
        password: &str,
        options: &Pkcs12ImportOptions,
    ) -> Result<Pkcs12Import> {
        check_name(name)?;
        let contents = pkcs12::read(bytes, password, &options.read)?;
        let chosen = contents.select(&options.select)?;
        let names: Vec<String> = if chosen.len() == 1 {
            vec![name.to_owned()]
        } else {
            (1..=chosen.len()).map(|i| format!("{name}-{i}")).collect()
        };
        for entry_name in &names {
            check_name(entry_name)?;
        }
        self.atomic(|session| {
            for (identity, entry_name) in chosen.iter().zip(&names) {
                session.import(
                    entry_name,
                    identity.key(),
                    identity.chain().to_pem().as_bytes(),
                    options.install,
                )?;
            }
            Ok(())
        })?;
        Ok(Pkcs12Import {
            names,
            warnings: contents.warnings().to_vec(),
        })
    }
}

impl KeyStore {
    /// The installed entry `name` as a PKCS#12 file (DER) protected by `password`: its key, its
    /// full chain (leaf first), its name as the key's `friendlyName`; AES-256-CBC with
    /// PBKDF2-HMAC-SHA256 and a SHA-256 MAC unless [`Pkcs12ExportOptions::legacy_3des`].
    ///
    /// The bytes hold the key encrypted under `password` only: write them to a file only the
    /// owner can read (the `keymanager` tool creates it 0600).
    pub fn export_pkcs12(
        &self,
        name: &str,
        password: &str,
        options: &Pkcs12ExportOptions,
    ) -> Result<Vec<u8>> {
        self.read(|session| {
            let row = session.row_by_name(name)?;
            if row.state != State::Installed {
                return Err(StoreError::WrongState {
                    name: name.to_owned(),
                    state: "pending".into(),
                    hint: "a PKCS#12 file needs its certificate; install it first".into(),
                }
                .into());
            }
            let identity = session.identity(row.id)?;
            pkcs12::write(
                name,
                identity.private_key()?,
                &identity
                    .chain
                    .iter()
                    .map(|c| crate::Certificate::clone(c))
                    .collect::<Vec<_>>(),
                password,
                options,
            )
        })
    }
}
