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

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand, ValueEnum};
use indicatif::ProgressBar;
use keymanager::acme::{
    self, AccountOptions, Acme, ChallengeKind, DEFAULT_BITS, Dns01Provider, DnsFuture,
    ExternalAccountBinding, Http01Responder, IssueRequest, Managed, OrderRecord, Progress,
    RenewOutcome, Renewal, Solver,
};
use keymanager::error::AcmeError;
use keymanager::store::format_utc;
use keymanager::tls::{ACME_TLS_ALPN, StoreResolver};
use keymanager::{Entry, KeyStore};
use serde_json::{Value, json};

use crate::args::Global;
use crate::commands::{open, open_or_create, print};
use crate::failure::{Failure, code};
use crate::output;
use crate::secret::Source;

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
        /// The key size in bits.
        #[arg(long, default_value_t = DEFAULT_BITS)]
        bits: usize,
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
                eprintln!("{what} {} at {}", acme.account_url(), acme.directory());
                Ok(())
            })
        }
        AcmeCommand::Issue {
            name,
            dns,
            ip,
            bits,
            ca,
            solver,
        } => {
            let mut request = IssueRequest::new(&name, dns).bits(bits);
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
        eprintln!("no entry is managed by ACME: nothing to renew");
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
                    eprintln!(
                        "renewed `{name}`: valid until {}",
                        format_utc(issued.not_after())
                    );
                }
                RenewOutcome::Failed { error, retry_at } => {
                    eprintln!(
                        "renewing `{name}` failed: {error} (next attempt after {})",
                        format_utc(retry_at)
                    );
                    first_failure.get_or_insert(error);
                }
                other => eprintln!("`{name}`: {other:?}"),
            }
        }
    }
    match first_failure {
        Some(error) => Err(error.into()),
        None => {
            if renewed == 0 {
                let next = managed.iter().map(Managed::renew_at).min();
                eprintln!(
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

/// The solver for `kind`, and the http-01 responder answering for it here (stopped when
/// dropped; a tls-alpn-01 listener's thread ends with the process).
async fn solve(
    store: &KeyStore,
    kind: ChallengeKind,
    args: &SolverArgs,
) -> Result<(Solver, Option<Http01Responder>), Failure> {
    let default_port = match kind {
        ChallengeKind::TlsAlpn01 => 443,
        _ => 80,
    };
    let address = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], default_port)));
    Ok(match kind {
        ChallengeKind::Dns01 => {
            let Some(program) = args.dns_hook.clone() else {
                return Err(Failure::Usage {
                    message: "dns-01 needs a DNS provider to publish the TXT records".into(),
                    hint: "pass --dns-hook PROGRAM (run as `PROGRAM set RECORD VALUE` and \
                           `PROGRAM clear RECORD`), use http-01 or tls-alpn-01, or embed the \
                           library with your provider's keymanager::acme::Dns01Provider"
                        .into(),
                });
            };
            (Solver::dns01(DnsHook { program }), None)
        }
        _ if args.no_listen => (solver_of(kind), None),
        ChallengeKind::TlsAlpn01 => {
            serve_tls_alpn(store, address)?;
            (Solver::tls_alpn01(), None)
        }
        _ => {
            let responder = Http01Responder::bind(store, address).await?;
            (Solver::http01(), Some(responder))
        }
    })
}

fn solver_of(kind: ChallengeKind) -> Solver {
    match kind {
        ChallengeKind::TlsAlpn01 => Solver::tls_alpn01(),
        _ => Solver::http01(),
    }
}

/// Answers tls-alpn-01 on `address` from the store, in a thread: a rustls server offering only
/// `acme-tls/1`, whose `StoreResolver` serves the challenge certificates.
fn serve_tls_alpn(store: &KeyStore, address: SocketAddr) -> Result<(), Failure> {
    let failed = |e: std::io::Error| Failure::Listen {
        address: address.to_string(),
        reason: e.to_string(),
    };
    let listener = TcpListener::bind(address).map_err(failed)?;
    let local = listener.local_addr().map_err(failed)?;
    let resolver = StoreResolver::new(store, local)?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    let config = Arc::new(config);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let _ = handshake_only(stream, config);
            });
        }
    });
    Ok(())
}

/// One validation connection: the handshake, then close (RFC 8737 §3: no application data).
fn handshake_only(stream: TcpStream, config: Arc<rustls::ServerConfig>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    tls.conn.send_close_notify();
    tls.conn.complete_io(&mut tls.sock).map(drop)
}

/// dns-01 through a program: `PROGRAM set RECORD VALUE`, `PROGRAM clear RECORD`. Its output
/// goes to standard error.
struct DnsHook {
    program: PathBuf,
}

impl DnsHook {
    fn call(&self, args: Vec<String>) -> DnsFuture<'_> {
        let program = self.program.clone();
        Box::pin(async move {
            let shown = format!("{} {}", program.display(), args.join(" "));
            let status = tokio::task::spawn_blocking(move || {
                Process::new(&program)
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::from(std::io::stderr()))
                    .status()
            })
            .await
            .map_err(|e| format!("`{shown}` did not finish: {e}"))?
            .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
            if status.success() {
                Ok(())
            } else {
                Err(format!("`{shown}` failed ({status})").into())
            }
        })
    }
}

impl Dns01Provider for DnsHook {
    fn set_txt<'a>(&'a self, record: &'a str, value: &'a str) -> DnsFuture<'a> {
        self.call(vec!["set".into(), record.into(), value.into()])
    }

    fn clear_txt<'a>(&'a self, record: &'a str) -> DnsFuture<'a> {
        self.call(vec!["clear".into(), record.into()])
    }
}

/// The steps of an issuance on a terminal: one spinner line per step, replaced by a
/// `✓ step (time)` line when the next one begins; the step that was running when it is
/// dropped (a failure) stays as `✗ step`. Nothing when standard error is not a terminal.
#[derive(Default)]
struct Steps {
    current: Mutex<Option<(ProgressBar, String)>>,
}

impl Steps {
    /// A new `Steps`, and the hook for `Acme::on_progress` that feeds it.
    fn hook() -> (Arc<Steps>, impl Fn(&Progress) + Send + Sync + 'static) {
        let steps = Arc::new(Steps::default());
        let fed = Arc::clone(&steps);
        (steps, move |p: &Progress| fed.next(Some(step_text(p))))
    }

    /// Ends the running step as done, and starts `text` (if any).
    fn next(&self, text: Option<String>) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((bar, done)) = current.take() {
            bar.finish_and_clear();
            eprintln!("✓ {done} ({:.1} s)", bar.elapsed().as_secs_f64());
        }
        *current = text.and_then(|t| Some((output::spinner(&t)?, t)));
    }

    /// Ends the running step as done, then prints `text`.
    fn done(&self, text: &str) {
        self.next(None);
        eprintln!("{text}");
    }
}

impl Drop for Steps {
    fn drop(&mut self) {
        let current = self.current.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some((bar, failed)) = current.take() {
            bar.finish_and_clear();
            eprintln!("✗ {failed}");
        }
    }
}

/// What a step says on its spinner line.
fn step_text(step: &Progress) -> String {
    match step {
        Progress::Key { name } => format!("key: generating the key and request of `{name}`"),
        Progress::Order { name } => format!("order: placing the order for `{name}`"),
        Progress::Resume { name, url } => {
            format!("order: resuming the recorded order of `{name}` ({url})")
        }
        Progress::Challenge { identifier, kind } => {
            format!("challenge: answering {kind} for {identifier}")
        }
        Progress::Validate => "challenge: waiting for the CA to validate".into(),
        Progress::Finalize => "finalize: sending the store's request".into(),
        Progress::Download => "download: fetching the certificate chain".into(),
        Progress::Install { name } => format!("install: installing and committing `{name}`"),
        other => format!("{other:?}"),
    }
}

/// Prints what a command changed in the store, as the other commands do.
fn changes(store: &KeyStore, before: &[Entry]) -> Result<(), Failure> {
    for line in output::changes(before, &store.entries()?) {
        eprintln!("{line}");
    }
    Ok(())
}

/// Adds `"acme"` to each entry of `list --json` / `show --json`: the CA's directory, the
/// challenge type and the renewal time when ACME manages the entry, `null` otherwise.
pub fn annotate(store: &KeyStore, entries: &mut [Value]) -> Result<(), Failure> {
    let managed = acme::managed(store)?;
    for entry in entries {
        let m = managed.iter().find(|m| entry["name"] == m.name());
        entry["acme"] = m.map_or(Value::Null, |m| {
            json!({
                "directory": m.directory(),
                "challenge": m.challenge().as_str(),
                "renew_at": format_utc(m.renew_at()),
                "failures": m.failures(),
                "retry_at": m.retry_at().map(format_utc),
                "last_error": m.last_error(),
            })
        });
    }
    Ok(())
}

/// The lines `show` adds for an entry ACME manages: its CA, challenge type and renewal.
pub fn details(store: &KeyStore, name: &str) -> Result<String, Failure> {
    let managed = acme::managed(store)?;
    let Some(m) = managed.iter().find(|m| m.name() == name) else {
        return Ok(String::new());
    };
    let mut lines = vec![
        ("acme", format!("{} ({})", m.directory(), m.challenge())),
        ("renews at", format_utc(m.renew_at())),
    ];
    if let Some(error) = m.last_error() {
        let retry = m.retry_at().map(format_utc).unwrap_or_default();
        lines.push((
            "last error",
            format!(
                "{error} ({} failures; next attempt after {retry})",
                m.failures()
            ),
        ));
    }
    Ok(lines
        .into_iter()
        .map(|(k, v)| format!("{:<12} {v}\n", format!("{k}:")))
        .collect())
}

fn order_json(o: &OrderRecord) -> Value {
    json!({
        "entry": o.entry(),
        "state": o.state().to_string(),
        "directory": o.directory(),
        "url": o.url(),
        "identifiers": o.identifiers(),
        "challenge": o.challenge().as_str(),
        "created": format_utc(o.created()),
        "updated": format_utc(o.updated()),
        "resumed": o.resumed(),
        "error": o.error(),
    })
}

/// The orders as a table.
fn orders_table(orders: &[OrderRecord]) -> String {
    if orders.is_empty() {
        return "no order in flight\n".into();
    }
    let mut out = String::new();
    for o in orders {
        out.push_str(&format!(
            "{}  {}  {}  {}  updated {}  {}{}\n",
            o.entry(),
            o.state(),
            o.challenge(),
            o.identifiers().join(","),
            format_utc(o.updated()),
            o.url().unwrap_or("(not placed yet)"),
            o.error()
                .map(|e| format!("\n    last error: {e}"))
                .unwrap_or_default()
        ));
    }
    out
}

/// The exit code of an ACME failure (the table in `--help` and the README).
pub fn code(e: &AcmeError) -> u8 {
    match e {
        AcmeError::InvalidOptions { .. } | AcmeError::Dns01Provider { .. } => code::REFUSED,
        AcmeError::TermsNotAgreed { .. } => code::USAGE,
        AcmeError::RateLimited { .. } => code::RATE_LIMITED,
        AcmeError::Timeout { .. }
        | AcmeError::Network { .. }
        | AcmeError::Protocol { .. }
        | AcmeError::BadNonce { .. }
        | AcmeError::ServerInternal { .. } => code::CA_UNREACHABLE,
        AcmeError::Responder { .. } | AcmeError::Runtime { .. } => code::IO,
        _ => code::CA_REFUSED,
    }
}

/// What to do, in this tool's terms.
pub fn hint(e: &AcmeError) -> &'static str {
    match e {
        AcmeError::TermsNotAgreed { .. } => {
            "register first: `keymanager acme account --directory URL --agree-tos [--email ADDR]`"
        }
        AcmeError::ExternalAccountRequired { .. } => {
            "`keymanager acme account --eab-kid ID --eab-hmac-fd N` with the CA's key id and HMAC key"
        }
        AcmeError::RateLimited { .. } => {
            "the order stays recorded: run the same command after the time the CA gives"
        }
        AcmeError::Timeout { .. }
        | AcmeError::Network { .. }
        | AcmeError::BadNonce { .. }
        | AcmeError::ServerInternal { .. } => {
            "run the same command again: it resumes the recorded order (`keymanager acme orders`)"
        }
        AcmeError::Connection { .. }
        | AcmeError::Dns { .. }
        | AcmeError::IncorrectResponse { .. }
        | AcmeError::TlsValidation { .. }
        | AcmeError::Unauthorized { .. } => {
            "the key stays pending: fix what the CA could not reach (--listen, --challenge, DNS), \
             then run the same command again"
        }
        AcmeError::Dns01Provider { .. } => {
            "check the --dns-hook program: it must exit 0 once the record is published"
        }
        _ => {
            "nothing was installed; the pending key and the order's record stay (`keymanager acme orders`)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acme_failures_have_their_own_codes() {
        let cases = [
            (
                AcmeError::RejectedIdentifier { detail: "x".into() },
                code::CA_REFUSED,
            ),
            (
                AcmeError::RateLimited {
                    detail: "x".into(),
                    retry_after: None,
                },
                code::RATE_LIMITED,
            ),
            (
                AcmeError::Network {
                    during: "x",
                    reason: "y".into(),
                },
                code::CA_UNREACHABLE,
            ),
            (
                AcmeError::TermsNotAgreed {
                    directory: "https://ca.test/dir".into(),
                },
                code::USAGE,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(
                Failure::from(keymanager::Error::from(error)).code(),
                expected
            );
        }
    }

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
