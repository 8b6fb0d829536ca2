//! Answering the challenges while a command runs: http-01 and tls-alpn-01 listeners on
//! `--listen` (answers read from the store), dns-01 through the `--dns-hook` program.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::Duration;

use keymanager::acme::{ChallengeKind, Dns01Provider, DnsFuture, Http01Responder, Solver};
use keymanager::error::TlsError;
use keymanager::tls::{ACME_TLS_ALPN, StoreResolver};
use keymanager::{Error, KeyStore};

use super::SolverArgs;
use crate::failure::Failure;

/// The solver for `kind`, and the http-01 responder answering for it here (stopped when
/// dropped; a tls-alpn-01 listener's thread ends with the process).
pub(super) async fn solve(
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
    // Only challenges are answered here: that nothing is bound on the port is no news.
    let resolver = StoreResolver::builder(store, local)
        .on_error(|e| {
            if !matches!(e, Error::Tls(TlsError::NothingBound { .. })) {
                note!("keymanager: TLS identities: {e}");
            }
        })
        .build()?;
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
