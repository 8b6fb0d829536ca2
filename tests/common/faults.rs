//! Real faults for the store's fault tests (issue 13): a small tmpfs that fills up (a real
//! `ENOSPC`) and can be remounted read-only (a real `EROFS`), and the policy for a machine
//! that cannot make them.
//!
//! Mounting needs root (CI runs as root; `mount -t tmpfs` works on its machines). Where it
//! is refused, a fault test says so loudly on stderr and, outside CI, returns without
//! testing anything; under CI (`CI` set, as `.ci/run` is run) it fails, because there it
//! must work. `KEYMANAGER_REQUIRE_FAULTS=1` makes it fail anywhere.

use std::path::Path;
use std::process::Command;

/// A tmpfs of a fixed size, mounted on a new temporary directory; unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: `256k`).
    pub fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0700"))
            .arg("keymanager-test")
            .arg(dir.path()))?;
        Ok(Tmpfs { dir })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Remounts it read-only (`EROFS` on every write), or read-write again. A remount to
    /// read-only fails (`EBUSY`) while a file on it is open for writing.
    pub fn remount(&self, read_only: bool) -> Result<(), String> {
        run(Command::new("mount")
            .arg("-o")
            .arg(if read_only {
                "remount,ro"
            } else {
                "remount,rw"
            })
            .arg(self.dir.path()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a test that failed may still hold a file open on it.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Fills the file system holding `dir` with the file `dir/filler`, up to `ENOSPC`.
pub fn fill(dir: &Path) -> std::fs::File {
    use std::io::Write;
    let mut file = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0xA5u8; 4096];
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    // Single bytes, until the last block is taken too.
    while file.write(&[0]).is_ok_and(|n| n == 1) {}
    file
}

/// What a fault test does when this machine cannot inject the fault: say so loudly, then
/// fail under CI (or with `KEYMANAGER_REQUIRE_FAULTS=1`), else return `()` so that the test
/// ends without having tested anything (its output says so).
pub fn cannot_run(test: &str, why: &str) {
    let required = std::env::var_os("CI").is_some()
        || std::env::var("KEYMANAGER_REQUIRE_FAULTS").is_ok_and(|v| v == "1");
    let message = format!(
        "{test}: NOT RUN: {why}. The fault tests need root (mount) and, for the power-cut \
         test, /dev/fuse and fusermount3 (Debian package fuse3); .ci/run installs it."
    );
    if required {
        panic!("{message} CI must run it.");
    }
    eprintln!("\n{}\n{message}\n{}\n", "!".repeat(78), "!".repeat(78));
}

/// Prints a fault test's counts (cuts, kills, commits) where `cargo test` shows them even
/// when the test passes, as issue 13 asks: straight to the process's standard error, which
/// the test harness does not capture (it captures only `print!` and `eprint!`:
/// rust-lang/rust#90785), so CI's log has them without an extra run.
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
