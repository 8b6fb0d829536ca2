//! `keymanager`: the operator's command line over the library's key store.
//!
//! Every subcommand is one library operation in one transaction; see `keymanager --help` for
//! the commands, the exit codes and where secrets come from.
#![forbid(unsafe_code)]

// The crate root is src/bin/keymanager.rs: its modules live in src/bin/keymanager/.

/// `eprintln!` for messages to the operator, without its panic when standard error cannot be
/// written (closed, or a pipe whose reader went away): a message nobody can read is dropped.
/// A panic there, after a commit, would report a change that was made as a crash (exit 101).
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[cfg(feature = "acme")]
#[path = "keymanager/acme.rs"]
mod acme;
#[path = "keymanager/args.rs"]
mod args;
#[path = "keymanager/commands.rs"]
mod commands;
#[path = "keymanager/failure.rs"]
mod failure;
#[path = "keymanager/files.rs"]
mod files;
#[path = "keymanager/output.rs"]
mod output;
#[path = "keymanager/secret.rs"]
mod secret;

use std::process::ExitCode;

use clap::Parser;

use args::Cli;

fn main() -> ExitCode {
    // The tool's rustls crypto provider, chosen once as a server should (src/tls.rs): aws-lc-rs,
    // which its ACME client uses too. A build whose rustls also has ring (another crate of the
    // same build may enable it) could not pick one by itself. Err: one is already installed.
    #[cfg(feature = "acme")]
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; usage errors exit with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                failure::code::USAGE
            } else {
                failure::code::OK
            });
        }
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::from(failure::code::OK),
        Err(failure) => {
            let (message, hint) = failure.describe();
            note!("error: {message}");
            note!("hint: {hint}");
            ExitCode::from(failure.code())
        }
    }
}
