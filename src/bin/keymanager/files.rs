//! The command line's files: inputs read with a size bound, public files (requests, chains)
//! replaced whole or not at all, private files created 0600, and standard output, each
//! failure a [`Failure`] that says what to do.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::failure::Failure;

/// The largest input file read (a certificate bundle or a key), in bytes.
pub(crate) const MAX_INPUT: u64 = 1024 * 1024;

/// Reads an input file (`-` is standard input), up to [`MAX_INPUT`] bytes.
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    read_into(path, &mut bytes)?;
    Ok(bytes)
}

/// Reads an input file (`-` is standard input), up to [`MAX_INPUT`] bytes, into `bytes`.
pub(crate) fn read_into(path: &Path, bytes: &mut Vec<u8>) -> Result<(), Failure> {
    let result = if path == Path::new("-") {
        std::io::stdin().take(MAX_INPUT + 1).read_to_end(bytes)
    } else {
        File::open(path).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(bytes))
    };
    result.map_err(|e| Failure::file(path, "read", e))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(Failure::File {
            path: path.to_path_buf(),
            action: "read",
            reason: format!(
                "it is larger than {MAX_INPUT} bytes, too large for a key or certificate file"
            ),
            disk_full: false,
            committed: false,
        });
    }
    Ok(())
}

/// Writes a public file (a request, a chain), replacing it whole or not at all (see
/// [`stage_file`]).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    stage_file(path, bytes)?.finish()
}

/// A public file written beside its path and synced, not yet in place: [`Staged::finish`]
/// renames it over the path; dropped unfinished, it is removed and the path keeps what it had.
pub(crate) struct Staged {
    /// The new file beside the path; `None` once renamed, or for a path written in place.
    temp: Option<PathBuf>,
    path: PathBuf,
}

impl Staged {
    /// Puts the file in place.
    pub(crate) fn finish(mut self) -> Result<(), Failure> {
        match self.temp.take() {
            Some(temp) => std::fs::rename(&temp, &self.path).map_err(|e| {
                let _ = std::fs::remove_file(&temp);
                Failure::file(&self.path, "write", e)
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Writes `bytes` to a new file beside `path` (given the old file's permissions) and syncs it,
/// so that a failure (a full disk) leaves the old file as it was and no partial one; the
/// file's owner becomes this user. A path that is not a regular file (a symbolic link,
/// `/dev/stdout`, a pipe) is written in place, at once.
pub(crate) fn stage_file(path: &Path, bytes: &[u8]) -> Result<Staged, Failure> {
    let fail = |e: std::io::Error| Failure::file(path, "write", e);
    let in_place = || {
        std::fs::write(path, bytes).map_err(fail)?;
        Ok(Staged {
            temp: None,
            path: path.to_path_buf(),
        })
    };
    let permissions = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Some(meta.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        _ => return in_place(),
    };
    let Some(name) = path.file_name() else {
        return in_place();
    };
    let mut temp = std::ffi::OsString::from(".");
    temp.push(name);
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(fail)?;
    // From here on, dropping `staged` removes the new file.
    let staged = Staged {
        temp: Some(temp),
        path: path.to_path_buf(),
    };
    file.write_all(bytes)
        .and_then(|()| permissions.map_or(Ok(()), |p| file.set_permissions(p)))
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    Ok(staged)
}

/// Creates a private file (mode 0600) that must not exist yet, and writes `bytes`.
pub(crate) fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Failure::file(path, "create", e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            let _ = std::fs::remove_file(path);
            Failure::file(path, "write", e)
        })
}

/// Writes to standard output; a closed pipe is an I/O failure, not a panic.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Output {
            reason: e.to_string(),
            committed: false,
        })
}
