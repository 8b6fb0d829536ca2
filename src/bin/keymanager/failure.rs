//! Why a command failed, its exit code, and what to tell the operator: the library's message
//! and a hint in the command line's terms, never a debug dump.

use std::path::{Path, PathBuf};

use keymanager::Error;
use keymanager::error::{EndpointError, InstallError, KeyError, NameError, StoreError};

/// The exit codes, as `--help` and the README list them.
pub mod code {
    /// Success; for `check`, no problem found.
    pub const OK: u8 = 0;
    /// Refused: invalid input or a conflict.
    pub const REFUSED: u8 = 1;
    /// Bad arguments, no store, no passphrase available.
    pub const USAGE: u8 = 2;
    /// No such entry, binding or store file.
    pub const NOT_FOUND: u8 = 3;
    /// Wrong store passphrase or key file password.
    pub const WRONG_PASSPHRASE: u8 = 4;
    /// Another writer held the store too long.
    pub const BUSY: u8 = 5;
    /// The store is damaged, tampered with, or newer than this tool.
    pub const DAMAGED: u8 = 6;
    /// A file could not be read or written, an address could not be listened on, or the
    /// database failed.
    pub const IO: u8 = 7;
    /// `check` found problems.
    pub const PROBLEMS: u8 = 8;
    /// `acme`: the CA refused (a problem document, a failed validation).
    #[cfg_attr(not(feature = "acme"), allow(dead_code))]
    pub const CA_REFUSED: u8 = 9;
    /// `acme`: the CA's rate limit was hit.
    #[cfg_attr(not(feature = "acme"), allow(dead_code))]
    pub const RATE_LIMITED: u8 = 10;
    /// `acme`: the CA could not be reached, timed out, or failed.
    #[cfg_attr(not(feature = "acme"), allow(dead_code))]
    pub const CA_UNREACHABLE: u8 = 11;
}

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The library refused or failed.
    Library(Error),
    /// The command line cannot be carried out as given.
    Usage {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
    /// A file named on the command line could not be read or written. Commands read and
    /// write their files before they commit (a request file is put in place only after the
    /// commit, from a copy written before it), so the store was not changed unless
    /// `committed` says otherwise.
    File {
        /// The file.
        path: PathBuf,
        /// "read", "write", "create".
        action: &'static str,
        /// Why.
        reason: String,
        /// Whether it failed because the disk is full (`ENOSPC`, or a quota): the hint then
        /// says to free space.
        disk_full: bool,
        /// Whether the command's change was committed before (see [`Failure::after_commit`]).
        committed: bool,
    },
    /// Standard output could not be written (a closed pipe, a full disk behind a
    /// redirection).
    Output {
        /// What the operating system said.
        reason: String,
        /// Whether the command's change was committed before (a request printed after the
        /// commit): otherwise nothing was changed (a listing, an export to standard output).
        committed: bool,
    },
    /// The store file does not exist (and this command does not create one).
    NoStore(PathBuf),
    /// `check` found this many problems (already listed on stdout).
    Problems(usize),
    /// An address could not be listened on (`acme`: the challenge responder).
    #[cfg_attr(not(feature = "acme"), allow(dead_code))]
    Listen {
        /// The address.
        address: String,
        /// What the operating system said.
        reason: String,
    },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Library(e)
    }
}

impl Failure {
    /// This failure, which happened after the command's change was committed: its hint then
    /// says so, instead of saying that nothing changed.
    pub fn after_commit(mut self) -> Self {
        if let Failure::File { committed, .. } | Failure::Output { committed, .. } = &mut self {
            *committed = true;
        }
        self
    }

    /// A file error.
    pub fn file(path: &Path, action: &'static str, error: std::io::Error) -> Self {
        Failure::File {
            path: path.to_path_buf(),
            action,
            reason: error.to_string(),
            disk_full: matches!(
                error.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ),
            committed: false,
        }
    }

    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Library(e) => library_code(e),
            Failure::Usage { .. } => code::USAGE,
            Failure::File { .. } | Failure::Output { .. } => code::IO,
            Failure::NoStore(_) => code::NOT_FOUND,
            Failure::Problems(_) => code::PROBLEMS,
            Failure::Listen { .. } => code::IO,
        }
    }

    /// The message and the hint to print.
    pub fn describe(&self) -> (String, String) {
        match self {
            Failure::Library(e) => (e.to_string(), library_hint(e)),
            Failure::Usage { message, hint } => (message.clone(), hint.clone()),
            Failure::File {
                path,
                action,
                reason,
                disk_full,
                committed,
            } => (
                format!("cannot {action} `{}`: {reason}", path.display()),
                match (*committed, *disk_full) {
                    (true, _) => format!(
                        "the change is committed but `{}` was not written: `keymanager list` shows the store as it is now (do not run a creating command again)",
                        path.display()
                    ),
                    (false, true) => "free space on the disk holding it, then run the command again; the store was not changed".into(),
                    (false, false) => "check the path and its permissions; the store was not changed".into(),
                },
            ),
            Failure::Output { reason, committed } => (
                format!("cannot write to standard output: {reason}"),
                if *committed {
                    "the output is lost, but the change is committed: `keymanager list` shows the store as it is now (do not run a creating command again)"
                } else {
                    "nothing was changed; run the command again with its output going where it is read"
                }
                .into(),
            ),
            Failure::NoStore(path) => (
                format!("no key store at `{}`", path.display()),
                NO_STORE_HINT.into(),
            ),
            Failure::Problems(n) => (
                format!(
                    "{n} problem{} found (listed on standard output)",
                    if *n == 1 { "" } else { "s" }
                ),
                "each line says what to do".into(),
            ),
            Failure::Listen { address, reason } => (
                format!("cannot listen on {address}: {reason}"),
                LISTEN_HINT.into(),
            ),
        }
    }
}

/// What to do when the store file is missing.
const NO_STORE_HINT: &str =
    "check --store or KEYMANAGER_STORE; `keymanager init` (or `new`, or `import`) creates a store";

/// What to do when the challenge responder cannot listen.
const LISTEN_HINT: &str = "choose a free address with --listen ADDR:PORT (ports below 1024 need privileges), \
     or --no-listen when a server sharing the store answers the challenges";

fn library_code(e: &Error) -> u8 {
    match e {
        #[cfg(feature = "acme")]
        Error::Acme(e) => crate::acme::code(e),
        Error::Store(StoreError::NotFound { .. } | StoreError::Missing { .. })
        | Error::Endpoint(EndpointError::NotBound { .. }) => code::NOT_FOUND,
        Error::Store(StoreError::WrongPassphrase)
        | Error::Key(KeyError::WrongPassword)
        | Error::Pkcs12(keymanager::error::Pkcs12Error::WrongPassword) => code::WRONG_PASSPHRASE,
        Error::Store(StoreError::Busy { .. }) => code::BUSY,
        Error::Store(
            StoreError::Tampered { .. }
            | StoreError::Corrupt { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::Uninitialised { .. }
            | StoreError::PassphraseChanged,
        ) => code::DAMAGED,
        Error::Store(
            StoreError::Io { .. }
            | StoreError::Database { .. }
            | StoreError::DiskFull { .. }
            | StoreError::ReadOnly { .. },
        ) => code::IO,
        _ => code::REFUSED,
    }
}

/// What to do, in this tool's terms (the library's messages name its API).
fn library_hint(e: &Error) -> String {
    let hint = match e {
        #[cfg(feature = "acme")]
        Error::Acme(keymanager::error::AcmeError::Responder { .. }) => LISTEN_HINT,
        #[cfg(feature = "acme")]
        Error::Acme(e) => crate::acme::hint(e),
        Error::Store(StoreError::NotFound { .. }) => "`keymanager list` shows the entries' names",
        Error::Store(StoreError::Missing { .. }) => NO_STORE_HINT,
        Error::Store(StoreError::AlreadyExists { .. }) => {
            "the store exists: run the command you meant on it, or choose another --store"
        }
        Error::Endpoint(EndpointError::NotBound { .. }) => {
            "`keymanager list` shows every entry's bindings"
        }
        Error::Endpoint(EndpointError::Taken { .. }) => {
            "`keymanager unbind ENDPOINT` first (it removes every entry bound there), then bind again"
        }
        Error::Endpoint(EndpointError::NotInstalled { .. }) => {
            "`keymanager install CERT-FILE` installs the CA's certificate first"
        }
        Error::Endpoint(EndpointError::HostNotCovered { .. }) => {
            "bind a host the certificate names (`keymanager show NAME` lists them)"
        }
        Error::Store(StoreError::WrongPassphrase) => {
            "the passphrase comes from --passphrase-fd, else KEYMANAGER_PASSPHRASE, else a prompt: check the one in use"
        }
        Error::Key(KeyError::WrongPassword) => {
            "the key file password comes from --key-password-fd, else KEYMANAGER_KEY_PASSWORD, else a prompt"
        }
        Error::Store(StoreError::Busy { .. }) => {
            "another keymanager or the server is writing to the store: retry, or wait longer with --busy-timeout MS"
        }
        Error::Store(StoreError::PassphraseChanged) => {
            "the passphrase was changed while this command ran: run it again with the new passphrase"
        }
        Error::Store(StoreError::SchemaTooNew { .. }) => "install a newer keymanager",
        Error::Store(StoreError::NameTaken { .. }) => {
            "choose another name, or `keymanager remove NAME` first"
        }
        Error::Store(StoreError::StillBound { .. }) => {
            "`keymanager unbind ENDPOINT` each of them, or `keymanager remove --with-bindings NAME`"
        }
        Error::Store(StoreError::WrongState { .. }) => {
            "`keymanager show NAME` shows the entry's state"
        }
        Error::Install(InstallError::NoMatchingKey { .. }) => {
            "`keymanager list` shows the pending entries, `keymanager show NAME` their key fingerprints"
        }
        Error::Install(InstallError::InvalidDates { .. }) => {
            "--allow-invalid-dates installs it anyway"
        }
        Error::Install(InstallError::AlreadyInstalled { .. }) => {
            "`keymanager renew NAME` makes a new key to install a new certificate on"
        }
        Error::Install(InstallError::RenewalDropsBindings { .. }) => {
            "`keymanager unbind ENDPOINT` the bindings it drops, then install again"
        }
        Error::Key(KeyError::SizeNotAllowed { .. }) => "use --bits 2048 or more",
        Error::Name(
            NameError::Syntax { .. }
            | NameError::InvalidValue { .. }
            | NameError::UnsupportedAttribute { .. }
            | NameError::Repeated { .. },
        ) => {
            "give the subject as --subject 'CN=www.example.com,O=Example,C=US', or with --cn, --org, --country, ..."
        }
        Error::Store(StoreError::Tampered { .. } | StoreError::Corrupt { .. }) => {
            "nothing was changed; restore the store file from a backup"
        }
        _ => "nothing in the store was changed",
    };
    hint.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_per_kind() {
        let cases: [(Error, u8); 5] = [
            (
                StoreError::NotFound { name: "x".into() }.into(),
                code::NOT_FOUND,
            ),
            (StoreError::WrongPassphrase.into(), code::WRONG_PASSPHRASE),
            (StoreError::Busy { waited_ms: 1 }.into(), code::BUSY),
            (
                StoreError::Corrupt { reason: "x".into() }.into(),
                code::DAMAGED,
            ),
            (
                keymanager::error::CertificateError::IsRequest.into(),
                code::REFUSED,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(Failure::from(error).code(), expected);
        }
        assert_eq!(Failure::Problems(2).code(), code::PROBLEMS);
        assert_eq!(Failure::NoStore("x".into()).code(), code::NOT_FOUND);
    }

    #[test]
    fn hints_speak_of_commands_not_the_api() {
        let (message, hint) = Failure::from(Error::from(StoreError::StillBound {
            name: "www".into(),
            endpoints: vec!["0.0.0.0:443".into()],
        }))
        .describe();
        assert!(message.contains("0.0.0.0:443"), "{message}");
        assert!(hint.contains("--with-bindings"), "{hint}");
    }
}
