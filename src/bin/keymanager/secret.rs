//! Passphrases and passwords: from a file descriptor, an environment variable, or a prompt
//! without echo on a terminal; never from a flag. Held in `Zeroizing` buffers.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::failure::Failure;

/// The longest secret read from a file descriptor, in bytes.
const MAX_SECRET: u64 = 4096;

/// One secret the tool may need, and where it may come from.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// What it is, for prompts and messages ("store passphrase").
    pub what: &'static str,
    /// The environment variable holding it.
    pub env: &'static str,
    /// The flag naming a file descriptor, for messages.
    pub fd_flag: &'static str,
    /// The file descriptor given with that flag.
    pub fd: Option<u32>,
}

impl Source {
    /// The store passphrase.
    pub fn store(fd: Option<u32>) -> Self {
        Self {
            what: "store passphrase",
            env: "KEYMANAGER_PASSPHRASE",
            fd_flag: "--passphrase-fd",
            fd,
        }
    }

    /// The new store passphrase of `passwd`.
    pub fn new_store(fd: Option<u32>) -> Self {
        Self {
            what: "new store passphrase",
            env: "KEYMANAGER_NEW_PASSPHRASE",
            fd_flag: "--new-passphrase-fd",
            fd,
        }
    }

    /// The password of an exported or imported key file.
    pub fn key_file(fd: Option<u32>) -> Self {
        Self {
            what: "key file password",
            env: "KEYMANAGER_KEY_PASSWORD",
            fd_flag: "--key-password-fd",
            fd,
        }
    }

    /// The password of an exported or imported PKCS#12 file.
    pub fn pkcs12_file(fd: Option<u32>) -> Self {
        Self {
            what: "PKCS#12 password",
            env: "KEYMANAGER_PKCS12_PASSWORD",
            fd_flag: "--pkcs12-password-fd",
            fd,
        }
    }

    /// The secret: from the file descriptor when one was given, else the environment
    /// variable, else a prompt (asked twice when `confirm`, for a secret being chosen).
    pub fn read(&self, confirm: bool) -> Result<Zeroizing<String>, Failure> {
        if let Some(fd) = self.fd {
            return read_fd(fd).map_err(|reason| Failure::Usage {
                message: format!(
                    "cannot read the {} from {} {fd}: {reason}",
                    self.what, self.fd_flag
                ),
                hint: format!(
                    "pass a file descriptor open for reading, e.g. `{} 3 3<file`",
                    self.fd_flag
                ),
            });
        }
        if let Ok(value) = std::env::var(self.env) {
            return Ok(Zeroizing::new(value));
        }
        if !std::io::stdin().is_terminal() {
            return Err(Failure::Usage {
                message: format!("no {} given, and there is no terminal to ask on", self.what),
                hint: format!(
                    "set {}, or pass {} N with the secret on file descriptor N",
                    self.env, self.fd_flag
                ),
            });
        }
        let first = self.prompt(&format!("{}: ", capitalised(self.what)))?;
        if confirm {
            let again = self.prompt(&format!("{} again: ", capitalised(self.what)))?;
            if *first != *again {
                return Err(Failure::Usage {
                    message: format!("the two {}s differ", self.what),
                    hint: "nothing was changed; run the command again".into(),
                });
            }
        }
        Ok(first)
    }

    fn prompt(&self, prompt: &str) -> Result<Zeroizing<String>, Failure> {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| Failure::Usage {
                message: format!("cannot read the {} from the terminal: {e}", self.what),
                hint: format!("set {} or pass {} N instead", self.env, self.fd_flag),
            })
    }
}

/// The first line of what file descriptor `fd` holds, without its line ending. Opened through
/// `/dev/fd` (or `/proc/self/fd`), so no unsafe code touches the descriptor itself.
fn read_fd(fd: u32) -> Result<Zeroizing<String>, String> {
    let path = ["/dev/fd", "/proc/self/fd"]
        .iter()
        .map(|dir| PathBuf::from(format!("{dir}/{fd}")))
        .find(|p| p.exists())
        .ok_or_else(|| "no such open file descriptor".to_string())?;
    let file = File::open(&path).map_err(|e| e.to_string())?;
    // Room for the whole limit up front, so the buffer never moves (and leaves a copy).
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_SECRET as usize + 1));
    file.take(MAX_SECRET + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SECRET {
        return Err(format!("it holds more than {MAX_SECRET} bytes"));
    }
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| "it is not UTF-8 text".to_string())?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "correct horse\r\nsecond line\n").unwrap();
        let file = File::open(&path).unwrap();
        // The test's own descriptor for the file, found through /proc.
        let fd = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| std::fs::read_link(e.path()).ok().as_deref() == Some(path.as_path()))
            .and_then(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .unwrap();
        assert_eq!(read_fd(fd).unwrap().as_str(), "correct horse");
        drop(file);
    }

    #[test]
    fn a_closed_descriptor_is_an_error() {
        assert!(read_fd(987_654).is_err());
    }

    #[test]
    fn capitalises() {
        assert_eq!(capitalised("store passphrase"), "Store passphrase");
    }
}
