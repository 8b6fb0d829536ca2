//! Each subcommand as one library call in one transaction: commit on success, roll back on
//! failure or `--dry-run`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keymanager::error::{KeyError, StoreError};
use keymanager::pkcs12::Pkcs12ReadOptions;
use keymanager::{
    CertificateRequest, DistinguishedName, Endpoint, Entry, Error, HealthOptions, InstallOptions,
    KeyStore, KeyType, Pkcs12ExportOptions, Pkcs12ImportOptions, PrivateKey, StoreOptions,
    Transaction,
};
use zeroize::Zeroizing;

use crate::args::{Cli, Command, Global, NewArgs, Pkcs12Password};
use crate::failure::Failure;
use crate::files::{
    MAX_INPUT, print, read_input, read_into, stage_file, write_file, write_new_private,
};
use crate::output;
use crate::secret::Source;

/// Runs the command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let g = &cli.global;
    match cli.command {
        Command::Init => {
            if let Some(path) = g.store.as_ref().filter(|p| p.exists()) {
                let exists = StoreError::AlreadyExists { path: path.clone() };
                return Err(keymanager::Error::from(exists).into());
            }
            open_or_create(g, true)?.run(|_| Ok(()))
        }
        Command::New(args) => new(g, *args),
        Command::Install {
            file,
            allow_invalid_dates,
        } => {
            let bytes = read_input(&file)?;
            let (store, _) = open(g)?;
            let options = InstallOptions::new().allow_invalid_dates(allow_invalid_dates);
            let (tx, _) = change(&store, |tx| {
                Ok(tx.install_certificate_with(&bytes, options)?)
            })?;
            tx.finish(g.dry_run)
        }
        Command::Bind { endpoint, name } => {
            let endpoint: Endpoint = endpoint.parse()?;
            let (store, _) = open(g)?;
            let (tx, ()) = change(&store, |tx| Ok(tx.bind(endpoint, &name)?))?;
            tx.finish(g.dry_run)
        }
        Command::Unbind { endpoint } => {
            let endpoint: Endpoint = endpoint.parse()?;
            let (store, _) = open(g)?;
            let (tx, ()) = change(&store, |tx| Ok(tx.unbind(endpoint)?))?;
            tx.finish(g.dry_run)
        }
        Command::List { json } => {
            let (store, _) = open(g)?;
            let entries = store.entries()?;
            if json {
                #[allow(unused_mut)] // changed with feature `acme`
                let mut all: Vec<_> = entries.iter().map(output::entry_json).collect();
                #[cfg(feature = "acme")]
                crate::acme::annotate(&store, &mut all)?;
                print(&format!("{:#}\n", serde_json::Value::Array(all)))
            } else {
                print(&output::table(&entries))
            }
        }
        Command::Show { name, json } => {
            let (store, _) = open(g)?;
            let entry = store.entry(&name)?;
            if json {
                #[allow(unused_mut)] // changed with feature `acme`
                let mut one = [output::entry_json(&entry)];
                #[cfg(feature = "acme")]
                crate::acme::annotate(&store, &mut one)?;
                let [one] = one;
                print(&format!("{one:#}\n"))
            } else {
                let renewal = store.renewal_of(&name)?;
                #[allow(unused_mut)] // changed with feature `acme`
                let mut text = output::details(&entry, renewal.as_ref());
                #[cfg(feature = "acme")]
                text.push_str(&crate::acme::details(&store, entry.name())?);
                print(&text)
            }
        }
        Command::Renew {
            name,
            bits,
            key_type,
            out,
        } => {
            let (store, _) = open(g)?;
            let key_type = key_type.map(|t| t.with_bits(Some(bits))).transpose()?;
            let spinner = match (key_type, store.entry(&name)?.key_type()) {
                (Some(asked), _) => generating(asked),
                (None, KeyType::Rsa { .. }) => generating(KeyType::Rsa { bits }),
                (None, current) => generating(current),
            };
            let (tx, request) = change(&store, |tx| {
                output::with_spinner(&spinner, || match key_type {
                    Some(key_type) => Ok(tx.renew_as(&name, key_type)?),
                    None => Ok(tx.renew(&name, bits)?),
                })
            })?;
            commit_with_request(tx, &request, out.as_deref(), g.dry_run)
        }
        Command::Remove {
            name,
            with_bindings,
        } => {
            let (store, _) = open(g)?;
            let (tx, ()) = change(&store, |tx| {
                if with_bindings {
                    Ok(tx.remove_with_bindings(&name)?)
                } else {
                    Ok(tx.remove(&name)?)
                }
            })?;
            tx.finish(g.dry_run)
        }
        Command::Export {
            name,
            key_out,
            chain_out,
            password,
            pkcs12,
            legacy_3des,
            pkcs12_password,
        } => {
            if let Some(file) = pkcs12 {
                return export_pkcs12(g, &name, &file, legacy_3des, &pkcs12_password);
            }
            let key_out = key_out.ok_or_else(|| Failure::Usage {
                message: "no output file given".into(),
                hint: "pass --key-out FILE, or --pkcs12 FILE".into(),
            })?;
            let (store, _) = open(g)?;
            // Checked before asking for a password.
            let entry = store.entry(&name)?;
            let password = Source::key_file(password.key_password_fd).read(true)?;
            if password.is_empty() {
                return Err(Failure::Usage {
                    message: "the key file password is empty".into(),
                    hint: "choose a password: the exported key is only as safe as it is".into(),
                });
            }
            let export = store.export(&name, &password)?;
            if g.dry_run {
                note!(
                    "dry run: would write the key of `{}` to `{}` and its chain ({} certificate(s)) to {}",
                    entry.name(),
                    key_out.display(),
                    export.chain_pem().matches("-----BEGIN").count(),
                    chain_out
                        .as_ref()
                        .map_or("standard output".into(), |p| format!("`{}`", p.display()))
                );
                return Ok(());
            }
            write_new_private(&key_out, export.key_pem().as_bytes())?;
            let chain = match &chain_out {
                Some(path) => write_file(path, export.chain_pem().as_bytes()),
                None => print(export.chain_pem()),
            };
            if let Err(e) = chain {
                // All or nothing: a key file without its chain is not the export asked for.
                let _ = std::fs::remove_file(&key_out);
                return Err(e);
            }
            note!(
                "exported `{}`: key to `{}` (encrypted PKCS#8)",
                entry.name(),
                key_out.display()
            );
            Ok(())
        }
        Command::Import {
            name,
            key,
            cert,
            allow_invalid_dates,
            password,
            pkcs12,
            allow_legacy,
            pkcs12_password,
        } => {
            if let Some(file) = pkcs12 {
                let install = InstallOptions::new().allow_invalid_dates(allow_invalid_dates);
                return import_pkcs12(g, &name, &file, allow_legacy, install, &pkcs12_password);
            }
            let (Some(key), Some(cert)) = (key, cert) else {
                return Err(Failure::Usage {
                    message: "no key or certificate file given".into(),
                    hint: "pass --key FILE --cert FILE, or --pkcs12 FILE".into(),
                });
            };
            // Room for the largest file up front, so the key's bytes are never moved (leaving
            // a copy behind) while they are read; zeroized on drop.
            let mut key_bytes = Zeroizing::new(Vec::with_capacity(MAX_INPUT as usize + 1));
            read_into(&key, &mut key_bytes)?;
            let chain = read_input(&cert)?;
            let key = read_key(&key_bytes, Source::key_file(password.key_password_fd))?;
            let options = InstallOptions::new().allow_invalid_dates(allow_invalid_dates);
            open_or_create(g, true)?.run(|store| {
                let (tx, ()) = change(store, |tx| Ok(tx.import(&name, &key, &chain, options)?))?;
                tx.finish(g.dry_run)
            })
        }
        Command::Passwd { new_passphrase_fd } => {
            let (store, old) = open(g)?;
            let new = Source::new_store(new_passphrase_fd).read(true)?;
            let entries = store.entries()?;
            if g.dry_run {
                if new.is_empty() {
                    return Err(Failure::Usage {
                        message: "the new passphrase is empty".into(),
                        hint: "choose one: the keys are only as safe as it is".into(),
                    });
                }
                note!(
                    "dry run, nothing was changed; this would change the passphrase and re-seal {} key(s)",
                    entries.len()
                );
                return Ok(());
            }
            store.change_passphrase(&old, &new)?;
            note!(
                "changed the passphrase; re-sealed {} key(s). Restart servers that have the store open",
                entries.len()
            );
            Ok(())
        }
        #[cfg(feature = "acme")]
        Command::Acme(command) => crate::acme::run(g, command),
        Command::Check {
            expiring_days,
            pending_days,
            min_bits,
            json,
        } => {
            let (store, _) = open(g)?;
            let day = Duration::from_secs(24 * 60 * 60);
            let options = HealthOptions::new()
                .expiring_within(
                    day.saturating_mul(u32::try_from(expiring_days).unwrap_or(u32::MAX)),
                )
                .pending_older_than(
                    day.saturating_mul(u32::try_from(pending_days).unwrap_or(u32::MAX)),
                )
                .min_key_bits(min_bits);
            let report = store.check(&options)?;
            if json {
                print(&format!("{:#}\n", output::report_json(&report)))?;
            } else {
                print(&output::report(&report))?;
            }
            match report.problems().len() {
                0 => Ok(()),
                n => Err(Failure::Problems(n)),
            }
        }
    }
}

/// `new`: the subject from the flags, the key under a spinner, the request out.
fn new(g: &Global, args: NewArgs) -> Result<(), Failure> {
    let dn = subject(&args)?;
    let mut builder = CertificateRequest::builder(dn).dns_names(args.dns.iter().cloned());
    for ip in &args.ip {
        builder = builder.ip_address(*ip);
    }
    let key_type = args.key_type.with_bits(args.bits)?;
    open_or_create(g, true)?.run(|store| {
        let (tx, request) = change(store, |tx| {
            output::with_spinner(&generating(key_type), || {
                Ok(tx.create_pending_of_type(&args.name, &builder, key_type)?)
            })
        })?;
        commit_with_request(tx, &request, args.out.as_deref(), g.dry_run)
    })
}

/// The spinner's text while a key of `key_type` is made.
fn generating(key_type: KeyType) -> String {
    match key_type {
        KeyType::Rsa { bits } => format!("generating a {bits}-bit RSA key"),
        other => format!("generating an {other} key"),
    }
}

/// The subject: `--subject` as RFC 4514, or built from `--cn`, `--org`, ...
fn subject(args: &NewArgs) -> Result<DistinguishedName, Failure> {
    if let Some(text) = &args.subject {
        return Ok(text.parse()?);
    }
    let mut b = DistinguishedName::builder();
    if let Some(v) = &args.cn {
        b = b.common_name(v);
    }
    if let Some(v) = &args.org {
        b = b.organization(v);
    }
    for v in &args.ou {
        b = b.organizational_unit(v);
    }
    if let Some(v) = &args.locality {
        b = b.locality(v);
    }
    if let Some(v) = &args.state {
        b = b.state(v);
    }
    if let Some(v) = &args.country {
        b = b.country(v);
    }
    if let Some(v) = &args.email {
        b = b.email(v);
    }
    Ok(b.build()?)
}

/// Opens the existing store named by `--store` / `KEYMANAGER_STORE` with the passphrase from
/// its source; returns it with the passphrase.
pub(crate) fn open(g: &Global) -> Result<(KeyStore, Zeroizing<String>), Failure> {
    let opened = open_or_create(g, false)?;
    Ok((opened.store, opened.passphrase))
}

/// An open store; `created` when this command made its file.
pub(crate) struct Opened {
    store: KeyStore,
    passphrase: Zeroizing<String>,
    created: Option<PathBuf>,
}

impl Opened {
    /// Runs the command `f` on the store. If it fails on a store this command created, the
    /// store's files are deleted again (a failed command leaves nothing behind), unless
    /// another process has written an entry to it meanwhile.
    pub(crate) fn run(
        self,
        f: impl FnOnce(&KeyStore) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let result = f(&self.store);
        let Opened { store, created, .. } = self;
        let Some(path) = created else {
            return result;
        };
        if result.is_ok() {
            note!("created key store `{}`", path.display());
            return result;
        }
        // Under the write lock, so that no other process writes while the files go.
        if let Ok(tx) = store.begin() {
            if tx.entries().is_ok_and(|e| e.is_empty()) {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
            let _ = tx.rollback();
        }
        result
    }
}

/// Opens the store; a missing file is created only when `create` (and for `--dry-run`, only
/// in memory: a dry run leaves no file behind).
pub(crate) fn open_or_create(g: &Global, create: bool) -> Result<Opened, Failure> {
    let path = g.store.as_ref().ok_or_else(|| Failure::Usage {
        message: "no key store given".into(),
        hint: "pass --store PATH or set KEYMANAGER_STORE".into(),
    })?;
    let exists = path.exists();
    if !exists && !create {
        return Err(Failure::NoStore(path.clone()));
    }
    // A new store's passphrase is being chosen: confirm it when typed.
    let passphrase = Source::store(g.passphrase_fd).read(!exists)?;
    let options = StoreOptions::new().busy_timeout(Duration::from_millis(g.busy_timeout));
    let store = if !exists && g.dry_run {
        KeyStore::open_in_memory_with(&passphrase, &options)?
    } else if !exists {
        // Refuses a file that appeared since we looked: it is not ours to initialise.
        KeyStore::create_with(path, &passphrase, &options)?
    } else {
        KeyStore::open_with(path, &passphrase, &options)?
    };
    let created = (!exists && !g.dry_run).then(|| path.clone());
    Ok(Opened {
        store,
        passphrase,
        created,
    })
}

/// A transaction that has made its change, with the entries as they were before it.
struct Change {
    tx: Transaction,
    before: Vec<Entry>,
}

/// Begins a transaction and runs `op` in it; on failure the transaction is dropped, which
/// rolls it back.
fn change<T>(
    store: &KeyStore,
    op: impl FnOnce(&mut Transaction) -> Result<T, Failure>,
) -> Result<(Change, T), Failure> {
    let mut tx = store.begin()?;
    let before = tx.entries()?;
    let out = op(&mut tx)?;
    Ok((Change { tx, before }, out))
}

impl Change {
    /// Prints what changed and commits, or for a dry run prints what would change and rolls
    /// back.
    fn finish(self, dry_run: bool) -> Result<(), Failure> {
        let after = self.tx.entries()?;
        let lines = output::changes(&self.before, &after);
        if dry_run {
            self.tx.rollback()?;
            note!("dry run, nothing was changed; this would make these changes:");
        } else {
            self.tx.commit()?;
        }
        if lines.is_empty() {
            note!("no change");
        }
        for line in lines {
            note!("{line}");
        }
        Ok(())
    }
}

/// Commits a change that produced a request, and hands the request out: to `out` (written
/// beside it before the commit, put in place after it, so that a failed commit leaves `out` as
/// it was) or standard output (after the commit). A dry run writes no request: its key is
/// thrown away.
fn commit_with_request(
    change: Change,
    request: &CertificateRequest,
    out: Option<&Path>,
    dry_run: bool,
) -> Result<(), Failure> {
    if dry_run {
        return change.finish(true);
    }
    let pem = request.to_pem();
    match out {
        Some(path) => {
            let staged = stage_file(path, pem.as_bytes())?;
            change.finish(false)?;
            staged.finish().map_err(Failure::after_commit)?;
            note!(
                "wrote the certificate request to `{}`: send it to the CA, then `keymanager install` its answer",
                path.display()
            );
            Ok(())
        }
        None => {
            change.finish(false)?;
            print(&pem).map_err(Failure::after_commit)
        }
    }
}

/// A private key file: PEM or DER; PKCS#8, PKCS#1, or encrypted PKCS#8 (then the password is
/// asked for).
fn read_key(bytes: &[u8], password: Source) -> Result<PrivateKey, Failure> {
    let pem = std::str::from_utf8(bytes)
        .ok()
        .filter(|t| t.contains("-----BEGIN"));
    let plain = match pem {
        Some(text) => PrivateKey::from_pem(text),
        None => PrivateKey::from_der(bytes),
    };
    match plain {
        Err(Error::Key(KeyError::Encrypted)) => {
            let password = password.read(false)?;
            Ok(match pem {
                Some(text) => PrivateKey::from_encrypted_pem(text, &password)?,
                None => PrivateKey::from_encrypted_der(bytes, &password)?,
            })
        }
        other => Ok(other?),
    }
}

/// `import NAME --pkcs12 FILE`: the file's one key, certificate and chain as the installed
/// entry `name`; the warnings (3DES, RC2-40, RC4, certificates left out) on standard error.
fn import_pkcs12(
    g: &Global,
    name: &str,
    file: &Path,
    allow_legacy: bool,
    install: InstallOptions,
    password: &Pkcs12Password,
) -> Result<(), Failure> {
    let bytes = read_input(file)?;
    // A file we would refuse is refused before asking for its password.
    let read = Pkcs12ReadOptions::new().allow_legacy(allow_legacy);
    keymanager::pkcs12::inspect(&bytes, &read)?;
    let options = Pkcs12ImportOptions::new()
        .allow_legacy(allow_legacy)
        .install(install);
    let password = Source::pkcs12_file(password.pkcs12_password_fd).read(false)?;
    open_or_create(g, true)?.run(|store| {
        let (tx, done) = change(store, |tx| {
            Ok(tx.import_pkcs12_with(name, &bytes, &password, &options)?)
        })?;
        for warning in done.warnings() {
            note!("warning: {warning}");
        }
        tx.finish(g.dry_run)
    })
}

/// `export NAME --pkcs12 FILE`: the entry's key and chain as a new PKCS#12 file, mode 0600.
fn export_pkcs12(
    g: &Global,
    name: &str,
    file: &Path,
    legacy_3des: bool,
    password: &Pkcs12Password,
) -> Result<(), Failure> {
    let (store, _) = open(g)?;
    // Checked before asking for a password.
    let entry = store.entry(name)?;
    let password = Source::pkcs12_file(password.pkcs12_password_fd).read(true)?;
    if password.is_empty() {
        return Err(Failure::Usage {
            message: "the PKCS#12 password is empty".into(),
            hint: "choose a password: the exported key is only as safe as it is".into(),
        });
    }
    let options = Pkcs12ExportOptions::new().legacy_3des(legacy_3des);
    let bytes = store.export_pkcs12(name, &password, &options)?;
    if g.dry_run {
        note!(
            "dry run: would write `{}` with its key and chain to `{}`",
            entry.name(),
            file.display()
        );
        return Ok(());
    }
    write_new_private(file, &bytes)?;
    note!(
        "exported `{}` to `{}` (PKCS#12, {})",
        entry.name(),
        file.display(),
        if legacy_3des { "3DES" } else { "AES-256" }
    );
    Ok(())
}
