//! Running the real `keymanager` binary (feature `cli`) on a store in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::fixtures::PASSPHRASE;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_keymanager");

/// Every environment variable the binary reads: removed, so that the caller's do not leak in.
const ENV: [&str; 8] = [
    "KEYMANAGER_STORE",
    "KEYMANAGER_PASSPHRASE",
    "KEYMANAGER_NEW_PASSPHRASE",
    "KEYMANAGER_KEY_PASSWORD",
    "KEYMANAGER_ACME_DIRECTORY",
    "KEYMANAGER_ACME_CA_ROOT",
    "KEYMANAGER_ACME_EAB_HMAC",
    "KEYMANAGER_PKCS12_PASSWORD",
];

/// A store file in a temporary directory, and a way to run commands on it.
pub struct Km {
    pub dir: tempfile::TempDir,
    pub store: PathBuf,
}

impl Km {
    /// A store path (not created yet) in a fresh temporary directory.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("keys.db");
        Km { dir, store }
    }

    /// A path in the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A command on this store (KEYMANAGER_STORE, KEYMANAGER_PASSPHRASE set; stdin empty).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = bare(args);
        cmd.env("KEYMANAGER_STORE", &self.store)
            .env("KEYMANAGER_PASSPHRASE", PASSPHRASE);
        cmd
    }

    /// Runs `keymanager args...` on this store.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs it and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(code(&out), 0, "keymanager {args:?}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs it and asserts the exit code; returns stderr.
    pub fn fails(&self, expected: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(code(&out), expected, "keymanager {args:?}: {}", text(&out));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains("\nhint: "), "{stderr}");
        // A message and a hint, never a debug dump.
        assert!(
            !stderr.contains("Error {") && !stderr.contains("Store("),
            "{stderr}"
        );
        stderr
    }

    /// `list --json`, parsed.
    pub fn entries(&self) -> Vec<serde_json::Value> {
        let json: serde_json::Value = serde_json::from_str(&self.ok(&["list", "--json"])).unwrap();
        json.as_array().unwrap().clone()
    }
}

/// `keymanager args...` with none of its environment variables and an empty stdin.
pub fn bare(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::null());
    for var in ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// The exit code (-1 when killed by a signal).
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Stdout and stderr, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The entry named `name` in a `list --json` array.
pub fn find<'a>(entries: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    entries
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name} in {entries:?}"))
}

/// Reads a file as text.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}
