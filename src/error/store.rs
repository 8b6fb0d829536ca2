//! The errors of the key store ([`StoreError`]).

use thiserror::Error as ThisError;

use crate::fingerprint::Fingerprint;

/// The key store failed.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum StoreError {
    /// The passphrase does not open this store.
    #[error("wrong passphrase for this key store; nothing was changed")]
    WrongPassphrase,
    /// `KeyStore::open` was given a path where no file exists. Nothing was created: a
    /// mistyped path must not become a new, empty store.
    #[error(
        "no key store at `{}`: nothing was created; check the path, or make a new store with KeyStore::create",
        path.display()
    )]
    Missing {
        /// The path that was given.
        path: std::path::PathBuf,
    },
    /// `KeyStore::create` was given a path where a file already exists.
    #[error(
        "a file already exists at `{}`: nothing was changed; open it with KeyStore::open, or choose another path for a new store",
        path.display()
    )]
    AlreadyExists {
        /// The path that was given.
        path: std::path::PathBuf,
    },
    /// `KeyStore::open` found an empty file, never made into a store (or one that another
    /// process is creating at this very moment).
    #[error(
        "`{}` is an empty file, not a key store: nothing was written to it; if a store is being created there, retry in a moment, else remove the file and make the store with KeyStore::create",
        path.display()
    )]
    Uninitialised {
        /// The path that was given.
        path: std::path::PathBuf,
    },
    /// Another writer held the store for longer than the busy timeout.
    #[error(
        "the key store is busy: another transaction (in this or another process) held it for more than {waited_ms} ms; nothing was changed, retry later"
    )]
    Busy {
        /// How long we waited, in milliseconds.
        waited_ms: u128,
    },
    /// The file was written by a newer version of this library.
    #[error(
        "the key store has schema version {found}, this library supports up to {supported}: upgrade the program; the file was not changed"
    )]
    SchemaTooNew {
        /// The file's schema version.
        found: i64,
        /// The newest version this library knows.
        supported: i64,
    },
    /// A stored row failed its integrity check.
    #[error(
        "entry `{entry}` in the key store was tampered with or corrupted ({what}); restore the store from a backup"
    )]
    Tampered {
        /// The entry.
        entry: String,
        /// What failed.
        what: String,
    },
    /// The set of entries, or the record that proves it, was changed behind the store's back:
    /// an entry deleted, added, or replaced by an older copy of itself (which its own MAC
    /// cannot tell).
    #[error(
        "the key store's set of entries was tampered with ({what}{}): an entry was deleted, added or replaced by an older copy behind the store's back; restore the store from a backup",
        entry.as_deref().map_or(String::new(), |e| format!(", at entry `{e}`"))
    )]
    StateTampered {
        /// The entry at fault, when the check could single it out: one whose own row fails
        /// its MAC, or one that is not part of the set the store last wrote (added or
        /// brought back). `None` when an entry was deleted or replaced by an older copy of
        /// itself, which the set shows but cannot name.
        entry: Option<String>,
        /// What failed.
        what: String,
    },
    /// The store is at an older generation than one already seen: the file was replaced by
    /// an older copy of itself.
    #[error(
        "the key store is at generation {found}, older than generation {seen} already seen: the file was replaced by an older copy (rolled back); put the newest copy back and find out who replaced it"
    )]
    RolledBack {
        /// The newest generation seen (or required with `StoreOptions::min_generation`).
        seen: u64,
        /// The generation the file holds.
        found: u64,
    },
    /// The Argon2 cost a store file asks for (or a new store would use) is above the maximum
    /// of `StoreOptions::max_kdf`.
    #[error(
        "the key store asks for an Argon2id cost of {memory_kib} KiB, {iterations} passes, {parallelism} lanes, above the maximum of {max_memory_kib} KiB, {max_iterations} passes, {max_parallelism} lanes: nothing was derived; if you made this store with that cost, raise StoreOptions::max_kdf, else the file was crafted to make every open slow"
    )]
    KdfCostTooHigh {
        /// Memory asked for, in KiB.
        memory_kib: u32,
        /// Passes asked for.
        iterations: u32,
        /// Lanes asked for.
        parallelism: u32,
        /// The maximum memory, in KiB.
        max_memory_kib: u32,
        /// The maximum passes.
        max_iterations: u32,
        /// The maximum lanes.
        max_parallelism: u32,
    },
    /// The store file is not a key store, or its metadata is damaged.
    #[error("the key store is damaged: {reason}; restore it from a backup")]
    Corrupt {
        /// What is wrong.
        reason: String,
    },
    /// No entry has this name.
    #[error(
        "no entry named `{name}` in the key store; names are exact and case-sensitive, list them with KeyStore::entries"
    )]
    NotFound {
        /// The name.
        name: String,
    },
    /// The name is already used by another entry.
    #[error("an entry named `{name}` already exists: choose another name or remove it first")]
    NameTaken {
        /// The name.
        name: String,
    },
    /// The name is not a valid entry name.
    #[error("invalid entry name `{name}`: {reason}")]
    InvalidName {
        /// The name, with control characters escaped.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The key is already held by an entry.
    #[error("this key (fingerprint {fingerprint}) is already in the store, in entry `{entry}`")]
    DuplicateKey {
        /// The entry holding it.
        entry: String,
        /// The key's fingerprint.
        fingerprint: Fingerprint,
    },
    /// The entry is not in the state the operation needs.
    #[error("entry `{name}` is {state}: {hint}")]
    WrongState {
        /// The entry.
        name: String,
        /// Its state.
        state: String,
        /// What the operation needed and what to do.
        hint: String,
    },
    /// The entry is bound to endpoints.
    #[error(
        "entry `{name}` is bound to {}: unbind them first, or use remove_with_bindings",
        endpoints.join(", ")
    )]
    StillBound {
        /// The entry.
        name: String,
        /// Its endpoints.
        endpoints: Vec<String>,
    },
    /// Invalid store options.
    #[error("invalid key store options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// A file could not be created or opened.
    #[error("cannot open key store file `{path}`: {reason}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The tokio runtime shut down before a store call given to its blocking pool ran.
    #[error(
        "the tokio runtime is shutting down: the key store call sent to its blocking pool never ran, so nothing was done; call it again on a running runtime"
    )]
    RuntimeShutDown,
    /// The passphrase was changed by another handle since this one was opened.
    #[error(
        "the key store's passphrase was changed by another process or handle: reopen the store with the new passphrase"
    )]
    PassphraseChanged,
    /// The file system holding the store is full (`ENOSPC`, SQLite's `SQLITE_FULL`): the
    /// operation was refused as a whole.
    #[error(
        "the disk holding the key store is full (while {during}): the transaction was not committed and the store keeps its last committed state; free space on that file system (the store needs room beside its file for its write-ahead log), then retry"
    )]
    DiskFull {
        /// What we were doing.
        during: &'static str,
    },
    /// The store's file, or the file system holding it, cannot be written (a read-only mount,
    /// `EROFS`; write permission taken away under an open store, `EACCES` or `EPERM`; SQLite's
    /// `SQLITE_READONLY`): nothing was written.
    #[error(
        "the key store cannot be written (while {during}): its file system is mounted read-only, or the file or its folder is not writable by this user; nothing was changed; remount it read-write or fix the permissions (the store also writes its `-wal` and `-shm` files beside it), then retry"
    )]
    ReadOnly {
        /// What we were doing.
        during: &'static str,
    },
    /// The database reported an error.
    #[error(
        "key store database error while {during}: {reason}; check that the file is on a local, writable disk with free space, then retry"
    )]
    Database {
        /// What we were doing.
        during: &'static str,
        /// SQLite's message.
        reason: String,
    },
}
