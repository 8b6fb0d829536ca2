//! `keymanager acme ...` (features `cli` + `acme`): an ACME account, issuance and renewal into
//! the store, and the orders in flight, through `keymanager::acme`.
//!
//! The protocol is async: these commands, and only these, run a tokio runtime (one thread,
//! plus tokio's blocking pool for the store's slow writes). The store is opened before it
//! starts (Argon2 is slow by design).
//!
//! Challenges are answered while the command runs:
//! - http-01: `keymanager::acme::Http01Responder` on `--listen` (default `0.0.0.0:80`);
//! - tls-alpn-01: a rustls listener on `--listen` (default `0.0.0.0:443`) whose
//!   `tls::StoreResolver` answers handshakes offering `acme-tls/1`;
//! - dns-01: the program given with `--dns-hook`, run as `PROGRAM set RECORD VALUE` and
//!   `PROGRAM clear RECORD` (it must return only once the record is visible to the CA);
//! - `--no-listen`: a server sharing the store answers (its `StoreResolver`, or
//!   `http01_response` in its router), since the answers live in the store.

// This file is itself loaded with `#[path]` (src/bin/keymanager.rs), so its children are
// found through `#[path]` too: the challenges answered while a command runs, the exit codes
// and hints of ACME failures, and what the commands print.
#[path = "acme/challenge.rs"]
mod challenge;
#[path = "acme/failure.rs"]
mod failure;
#[path = "acme/output.rs"]
mod output;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Subcommand, ValueEnum};
use keymanager::KeyStore;
use keymanager::acme::{
    self, AccountOptions, Acme, ChallengeKind, ExternalAccountBinding, IssueRequest, Managed,
    OrderRecord, RenewOutcome, Renewal,
};
use keymanager::error::AcmeError;
use keymanager::store::format_utc;
use serde_json::Value;

use crate::args::{Global, KeyTypeArg};
use crate::commands::{open, open_or_create};
use crate::failure::Failure;
use crate::files::print;
use crate::secret::Source;

use self::challenge::solve;
pub use self::failure::{code, hint};
use self::output::{Steps, changes, order_json, orders_table};
pub use self::output::{annotate, details};

/// `keymanager acme ...`.
#[derive(Debug, Subcommand)]
pub enum AcmeCommand {
    /// Register an ACME account at a CA (or check the store's one): its key is sealed in the
    /// store, one account per directory URL, reused by `issue` and `renew`. Creates the store
    /// when missing.
    Account {
        /// The CA.
        #[command(flatten)]
        ca: CaArgs,
        /// A contact address for the CA's expiry and policy mail (repeatable).
        #[arg(long, value_name = "ADDR")]
        email: Vec<String>,
        /// Agree to the CA's terms of service (read them first: the directory links them).
        #[arg(long)]
        agree_tos: bool,
        /// The external account binding's key id, from the CA's account page (commercial
        /// CAs); its HMAC key comes from --eab-hmac-fd N, else KEYMANAGER_ACME_EAB_HMAC, else
        /// a prompt.
        #[arg(long, value_name = "ID")]
        eab_kid: Option<String>,
        /// Read the EAB HMAC key (base64url, as the CA prints it) from this open file
        /// descriptor (its first line).
        #[arg(long, value_name = "N", requires = "eab_kid")]
        eab_hmac_fd: Option<u32>,
    },
    /// Get a certificate from the CA for NAME: a new pending key and request, an order
    /// (recorded in the store), the challenges answered, the chain installed and committed.
    /// A pending NAME with an open order (a killed run) resumes that order.
    Issue {
        /// The entry's name in the store.
        name: String,
        /// A DNS name to certify (repeatable; the first one is the subject's common name).
        #[arg(long, value_name = "HOST", required_unless_present = "ip")]
        dns: Vec<String>,
        /// An IP address to certify (RFC 8738; repeatable; not every CA offers it).
        #[arg(long, value_name = "ADDRESS")]
        ip: Vec<IpAddr>,
        /// The key type (RSA 2048 by default; a later release may default to ecdsa-p256).
        #[arg(long, value_enum, default_value_t = KeyTypeArg::Rsa)]
        key_type: KeyTypeArg,
        /// The RSA key size in bits (default 2048); for RSA keys only.
        #[arg(long)]
        bits: Option<usize>,
        /// The CA.
        #[command(flatten)]
        ca: CaArgs,
        /// How the challenges are answered.
        #[command(flatten)]
        solver: SolverArgs,
    },
    /// Renew ACME-managed entries: NAME now, or with --all-due each one whose renewal time has
    /// come (a third of its lifetime left, or the CA's ARI window). The old certificate serves
    /// until the new one commits.
    Renew {
        /// The entry to renew now.
        #[arg(required_unless_present = "all_due", conflicts_with = "all_due")]
        name: Option<String>,
        /// Renew every managed entry that is due (for a daily timer or cron job).
        #[arg(long)]
        all_due: bool,
        /// The CA (by default, the one each entry was issued by).
        #[command(flatten)]
        ca: CaArgs,
        /// How the challenges are answered (by default, as at issuance).
        #[command(flatten)]
        solver: SolverArgs,
    },
    /// List the orders in flight: the pending entry, its state, the identifiers, the order's
    /// URL, the last error.
    Orders {
        /// Also the orders that are done (installed, failed, cancelled).
        #[arg(long)]
        all: bool,
        /// JSON for scripts: an array of orders.
        #[arg(long)]
        json: bool,
    },
}

/// Which CA, and how to trust its API.
#[derive(Debug, Args)]
pub struct CaArgs {
    /// The CA's ACME directory URL, e.g. Let's Encrypt's staging
    /// https://acme-staging-v02.api.letsencrypt.org/directory.
    #[arg(long, env = "KEYMANAGER_ACME_DIRECTORY", value_name = "URL")]
    pub directory: Option<String>,
    /// A PEM file with the root of the ACME API's own TLS certificate, for a private or test
    /// CA (public CAs need none).
    #[arg(long, env = "KEYMANAGER_ACME_CA_ROOT", value_name = "FILE")]
    pub ca_root: Option<PathBuf>,
}

/// How the challenges are answered.
#[derive(Debug, Args)]
pub struct SolverArgs {
    /// The challenge type.
    #[arg(long, value_enum)]
    pub challenge: Option<Challenge>,
    /// Where to answer http-01 (default 0.0.0.0:80) or tls-alpn-01 (default 0.0.0.0:443).
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "no_listen")]
    pub listen: Option<SocketAddr>,
    /// Answer nothing here: a server sharing the store answers (its tls::StoreResolver for
    /// tls-alpn-01, `acme::http01_response` in its router for http-01).
    #[arg(long)]
    pub no_listen: bool,
    /// dns-01: the program that publishes TXT records, run as `PROGRAM set RECORD VALUE`
    /// and `PROGRAM clear RECORD`; it must exit 0, and return from `set` only once the
    /// record is visible to the CA.
    #[arg(long, value_name = "PROGRAM")]
    pub dns_hook: Option<PathBuf>,
}

/// A challenge type on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Challenge {
    /// The CA fetches http://NAME/.well-known/acme-challenge/TOKEN on port 80.
    #[value(name = "http-01")]
    Http01,
    /// The CA connects to port 443 with ALPN acme-tls/1.
    #[value(name = "tls-alpn-01")]
    TlsAlpn01,
    /// A TXT record at _acme-challenge.NAME, set by --dns-hook (wildcards need it).
    #[value(name = "dns-01")]
    Dns01,
}

impl From<Challenge> for ChallengeKind {
    fn from(c: Challenge) -> Self {
        match c {
            Challenge::Http01 => ChallengeKind::Http01,
            Challenge::TlsAlpn01 => ChallengeKind::TlsAlpn01,
            Challenge::Dns01 => ChallengeKind::Dns01,
        }
    }
}

/// Runs `keymanager acme ...`.
pub fn run(g: &Global, command: AcmeCommand) -> Result<(), Failure> {
    if g.dry_run && !matches!(command, AcmeCommand::Orders { .. }) {
        return Err(Failure::Usage {
            message: "--dry-run cannot be used with acme commands".into(),
            hint: "they talk to the CA, which cannot be rolled back; `keymanager acme orders` \
                   shows what is in flight"
                .into(),
        });
    }
    match command {
        AcmeCommand::Account {
            ca,
            email,
            agree_tos,
            eab_kid,
            eab_hmac_fd,
        } => {
            let mut options =
                contacts(account_options(&ca, directory(&ca)?), &email).agree_to_terms(agree_tos);
            if let Some(kid) = eab_kid {
                let source = Source {
                    what: "EAB HMAC key",
                    env: "KEYMANAGER_ACME_EAB_HMAC",
                    fd_flag: "--eab-hmac-fd",
                    fd: eab_hmac_fd,
                };
                let key = source.read(false)?;
                options = options
                    .external_account_binding(ExternalAccountBinding::from_base64url(kid, &key)?);
            }
            open_or_create(g, true)?.run(|store| {
                let acme = runtime()?.block_on(Acme::account(store, options))?;
                let what = if acme.created() {
                    "registered the ACME account"
                } else {
                    "the store already holds the ACME account"
                };
                note!("{what} {} at {}", acme.account_url(), acme.directory());
                Ok(())
            })
        }
        AcmeCommand::Issue {
            name,
            dns,
            ip,
            key_type,
            bits,
            ca,
            solver,
        } => {
            let mut request = IssueRequest::new(&name, dns).key_type(key_type.with_bits(bits)?);
            for ip in ip {
                request = request.ip(ip);
            }
            let kind = solver.challenge.map_or(ChallengeKind::Http01, Into::into);
            let options = account_options(&ca, directory(&ca)?);
            open_or_create(g, true)?.run(|store| {
                let before = store.entries()?;
                runtime()?.block_on(async {
                    let (steps, hook) = Steps::hook();
                    let acme = Acme::account(store, options).await?.on_progress(hook);
                    let (solver, _listener) = solve(store, kind, &solver).await?;
                    let issued = acme.issue(&request, &solver).await?;
                    steps.done(&format!(
                        "issued `{}`: valid until {}{}",
                        issued.name(),
                        format_utc(issued.not_after()),
                        if issued.resumed() {
                            " (resumed the recorded order)"
                        } else {
                            ""
                        }
                    ));
                    Ok::<_, Failure>(())
                })?;
                changes(store, &before)
            })
        }
        AcmeCommand::Renew {
            name,
            all_due,
            ca,
            solver,
        } => {
            let (store, _) = open(g)?;
            let managed = acme::managed(&store)?;
            let before = store.entries()?;
            let result = match name {
                Some(name) if !all_due => renew_one(&store, &managed, &name, &ca, &solver),
                _ => renew_due(&store, &managed, &ca, &solver),
            };
            changes(&store, &before)?;
            result
        }
        AcmeCommand::Orders { all, json } => {
            let (store, _) = open(g)?;
            let orders: Vec<OrderRecord> = acme::orders(&store)?
                .into_iter()
                .filter(|o| all || o.state().is_open())
                .collect();
            if json {
                let all: Vec<Value> = orders.iter().map(order_json).collect();
                print(&format!("{:#}\n", Value::Array(all)))
            } else {
                print(&orders_table(&orders))
            }
        }
    }
}

/// `renew NAME`: the entry's own CA and challenge type unless the flags say otherwise.
fn renew_one(
    store: &KeyStore,
    managed: &[Managed],
    name: &str,
    ca: &CaArgs,
    solver_args: &SolverArgs,
) -> Result<(), Failure> {
    let entry = store.entry(name)?;
    let Some(m) = managed.iter().find(|m| m.name() == entry.name()) else {
        return Err(Failure::Usage {
            message: format!("`{name}` is not managed by ACME"),
            hint: format!(
                "`keymanager renew {name}` makes a request for another CA; `keymanager acme issue \
                 {name} --dns HOST` gets a new ACME certificate (remove or rename the entry first)"
            ),
        });
    };
    let directory = ca
        .directory
        .clone()
        .unwrap_or_else(|| m.directory().to_owned());
    let kind = solver_args.challenge.map_or(m.challenge(), Into::into);
    let options = account_options(ca, directory);
    runtime()?.block_on(async {
        let (steps, hook) = Steps::hook();
        let acme = Acme::account(store, options).await?.on_progress(hook);
        let (solver, _listener) = solve(store, kind, solver_args).await?;
        let issued = acme.renew(name, &solver).await?;
        steps.done(&format!(
            "renewed `{}`: valid until {}",
            issued.name(),
            format_utc(issued.not_after())
        ));
        Ok(())
    })
}

/// `renew --all-due`: for each CA (the one given, else each one that issued an entry), the
/// entries that are due; the first failure decides the exit code, after every renewal ran.
fn renew_due(
    store: &KeyStore,
    managed: &[Managed],
    ca: &CaArgs,
    solver_args: &SolverArgs,
) -> Result<(), Failure> {
    let mut directories: Vec<String> = match &ca.directory {
        Some(d) => vec![d.clone()],
        None => managed.iter().map(|m| m.directory().to_owned()).collect(),
    };
    directories.sort();
    directories.dedup();
    if directories.is_empty() {
        note!("no entry is managed by ACME: nothing to renew");
        return Ok(());
    }
    let runtime = runtime()?;
    let mut first_failure = None;
    let mut renewed = 0;
    for directory in directories {
        let kinds: Vec<ChallengeKind> = managed
            .iter()
            .filter(|m| m.directory() == directory)
            .map(Managed::challenge)
            .collect();
        let kind = match (solver_args.challenge, kinds.first()) {
            (Some(c), _) => c.into(),
            (None, Some(&k)) if kinds.iter().all(|&o| o == k) => k,
            (None, Some(_)) => {
                return Err(Failure::Usage {
                    message: format!(
                        "the entries issued by {directory} use different challenge types"
                    ),
                    hint: "pass --challenge TYPE (and --listen) for the renewals".into(),
                });
            }
            (None, None) => continue,
        };
        let options = account_options(ca, directory);
        let (steps, hook) = Steps::hook();
        let renewals = runtime.block_on(async {
            let acme = Acme::account(store, options).await?.on_progress(hook);
            let (solver, _listener) = solve(store, kind, solver_args).await?;
            Ok::<_, Failure>(acme.renew_due(SystemTime::now(), &solver).await?)
        })?;
        // The running step ends as done, unless the last renewal failed in it.
        if !matches!(
            renewals.last().map(Renewal::outcome),
            Some(RenewOutcome::Failed { .. })
        ) {
            steps.next(None);
        }
        drop(steps);
        for renewal in renewals {
            let name = renewal.name().to_owned();
            match renewal.into_outcome() {
                RenewOutcome::Renewed(issued) => {
                    renewed += 1;
                    note!(
                        "renewed `{name}`: valid until {}",
                        format_utc(issued.not_after())
                    );
                }
                RenewOutcome::Failed { error, retry_at } => {
                    note!(
                        "renewing `{name}` failed: {error} (next attempt after {})",
                        format_utc(retry_at)
                    );
                    first_failure.get_or_insert(error);
                }
                other => note!("`{name}`: {other:?}"),
            }
        }
    }
    match first_failure {
        Some(error) => Err(error.into()),
        None => {
            if renewed == 0 {
                let next = managed.iter().map(Managed::renew_at).min();
                note!(
                    "nothing is due{}",
                    next.map(|t| format!(": the next renewal is due at {}", format_utc(t)))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

/// The directory URL, which `account` and `issue` need.
fn directory(ca: &CaArgs) -> Result<String, Failure> {
    ca.directory.clone().ok_or_else(|| Failure::Usage {
        message: "no ACME directory given".into(),
        hint: "pass --directory URL or set KEYMANAGER_ACME_DIRECTORY (Let's Encrypt's staging: \
               https://acme-staging-v02.api.letsencrypt.org/directory)"
            .into(),
    })
}

fn account_options(ca: &CaArgs, directory: String) -> AccountOptions {
    let options = AccountOptions::new(directory);
    match &ca.ca_root {
        Some(root) => options.ca_root(root),
        None => options,
    }
}

/// `AccountOptions::contact` for each address, as `mailto:` URLs.
fn contacts(options: AccountOptions, email: &[String]) -> AccountOptions {
    email.iter().fold(options, |o, e| {
        if e.starts_with("mailto:") {
            o.contact(e)
        } else {
            o.contact(format!("mailto:{e}"))
        }
    })
}

/// A single-threaded tokio runtime with its blocking pool, timers and sockets.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            keymanager::Error::from(AcmeError::Runtime {
                reason: e.to_string(),
            })
            .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_become_mailto_urls() {
        let o = contacts(
            AccountOptions::new("https://ca.test/dir"),
            &["a@example.test".into(), "mailto:b@example.test".into()],
        );
        let shown = format!("{o:?}");
        assert!(
            shown.contains("\"mailto:a@example.test\", \"mailto:b@example.test\""),
            "{shown}"
        );
    }
}
