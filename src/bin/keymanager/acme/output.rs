//! What the ACME commands show: the steps of an issuance on a terminal, the store's changes,
//! the `"acme"` member of `list --json` / `show --json`, and the orders table.

use std::sync::{Arc, Mutex};

use indicatif::ProgressBar;
use keymanager::acme::{self, OrderRecord, Progress};
use keymanager::store::format_utc;
use keymanager::{Entry, KeyStore};
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::output;

/// The steps of an issuance on a terminal: one spinner line per step, replaced by a
/// `✓ step (time)` line when the next one begins; the step that was running when it is
/// dropped (a failure) stays as `✗ step`. Nothing when standard error is not a terminal.
#[derive(Default)]
pub(super) struct Steps {
    current: Mutex<Option<(ProgressBar, String)>>,
}

impl Steps {
    /// A new `Steps`, and the hook for `Acme::on_progress` that feeds it.
    pub(super) fn hook() -> (Arc<Steps>, impl Fn(&Progress) + Send + Sync + 'static) {
        let steps = Arc::new(Steps::default());
        let fed = Arc::clone(&steps);
        (steps, move |p: &Progress| fed.next(Some(step_text(p))))
    }

    /// Ends the running step as done, and starts `text` (if any).
    pub(super) fn next(&self, text: Option<String>) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((bar, done)) = current.take() {
            bar.finish_and_clear();
            note!("✓ {done} ({:.1} s)", bar.elapsed().as_secs_f64());
        }
        *current = text.and_then(|t| Some((output::spinner(&t)?, t)));
    }

    /// Ends the running step as done, then prints `text`.
    pub(super) fn done(&self, text: &str) {
        self.next(None);
        note!("{text}");
    }
}

impl Drop for Steps {
    fn drop(&mut self) {
        let current = self.current.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some((bar, failed)) = current.take() {
            bar.finish_and_clear();
            note!("✗ {failed}");
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
pub(super) fn changes(store: &KeyStore, before: &[Entry]) -> Result<(), Failure> {
    for line in output::changes(before, &store.entries()?) {
        note!("{line}");
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

pub(super) fn order_json(o: &OrderRecord) -> Value {
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
pub(super) fn orders_table(orders: &[OrderRecord]) -> String {
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
