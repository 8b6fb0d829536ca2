//! What the tool prints: the entry table, JSON, one entry in full, the changes a transaction
//! makes, and the key generation spinner.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use keymanager::store::{HealthProblem, format_utc};
use keymanager::{Entry, EntryState, HealthReport};
use serde_json::{Value, json};

/// The entries as a table: name, state, subject, DNS names, end of validity, key size,
/// bindings. By name, each renewal on the line under the entry it renews, its state
/// `renewal of NAME`.
pub fn table(entries: &[Entry]) -> String {
    let header = [
        "NAME",
        "STATE",
        "SUBJECT",
        "SANS",
        "NOT-AFTER",
        "KEY",
        "BINDINGS",
    ];
    let rows: Vec<[String; 7]> = grouped(entries)
        .into_iter()
        .map(|e| {
            [
                e.name().to_owned(),
                state(e),
                shown(e.subject()),
                or_dash(shown(&e.dns_names().join(","))),
                e.not_after().map_or_else(|| "-".into(), date),
                key(e),
                or_dash(bindings(e).join(",")),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
    }
    out
}

/// `entries` (by name) with each renewal moved right after the entry it renews.
fn grouped(entries: &[Entry]) -> Vec<&Entry> {
    let mut renewals: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        if let Some(of) = e.renewal_of() {
            renewals.entry(of).or_default().push(e);
        }
    }
    let mut out = Vec::with_capacity(entries.len());
    for e in entries.iter().filter(|e| e.renewal_of().is_none()) {
        out.push(e);
        out.extend(renewals.remove(e.name()).unwrap_or_default());
    }
    // A renewal whose entry is not in the list (never from a whole listing) still shows.
    out.extend(renewals.into_values().flatten());
    out
}

/// The key's type as a person reads it: `RSA 2048`, `ECDSA P-256`.
fn key(e: &Entry) -> String {
    e.key_type().to_string()
}

/// One entry in full, one `field: value` per line; `renewal` is the entry's own renewal, if
/// it is being renewed.
pub fn details(e: &Entry, renewal: Option<&Entry>) -> String {
    let time = |t: Option<SystemTime>| t.map_or_else(|| "-".into(), format_utc);
    let mut lines = vec![
        ("name", e.name().to_owned()),
        ("state", state(e)),
        ("subject", shown(e.subject())),
        ("dns names", or_dash(shown(&e.dns_names().join(", ")))),
        ("not before", time(e.not_before())),
        ("not after", time(e.not_after())),
        ("key", key(e)),
        ("fingerprint", e.fingerprint().to_hex()),
        ("bindings", or_dash(bindings(e).join(", "))),
        ("created", format_utc(e.created())),
        ("installed", time(e.installed())),
    ];
    if let Some(renewal) = renewal {
        lines.push(("renewal", renewal.name().to_owned()));
    }
    lines
        .into_iter()
        .map(|(k, v)| format!("{:<12} {v}\n", format!("{k}:")))
        .collect()
}

/// One entry as JSON.
pub fn entry_json(e: &Entry) -> Value {
    let time = |t: Option<SystemTime>| t.map(format_utc);
    json!({
        "name": e.name(),
        "state": state_name(e.state()),
        "subject": e.subject(),
        "dns_names": e.dns_names(),
        "not_before": time(e.not_before()),
        "not_after": time(e.not_after()),
        "key_bits": e.key_bits(),
        "key_type": e.key_type().name(),
        "fingerprint": e.fingerprint().to_hex(),
        "bindings": bindings(e),
        "created": format_utc(e.created()),
        "installed": time(e.installed()),
        "renewal_of": e.renewal_of(),
    })
}

/// A health report, one line per problem.
pub fn report(r: &HealthReport) -> String {
    if r.is_healthy() {
        return format!("ok: {} entries, no problem found\n", r.entries_checked());
    }
    r.problems()
        .iter()
        .map(|p| format!("{}: {p}\n", p.kind()))
        .collect()
}

/// A health report as JSON.
pub fn report_json(r: &HealthReport) -> Value {
    let problems: Vec<Value> = r.problems().iter().map(problem_json).collect();
    json!({
        "entries_checked": r.entries_checked(),
        "healthy": r.is_healthy(),
        "problems": problems,
    })
}

fn problem_json(p: &HealthProblem) -> Value {
    json!({ "kind": p.kind(), "entry": p.entry(), "message": p.to_string() })
}

/// The changes from `before` to `after`, one line each: `+` added, `-` removed, `~` changed.
pub fn changes(before: &[Entry], after: &[Entry]) -> Vec<String> {
    let old: BTreeMap<&str, &Entry> = before.iter().map(|e| (e.name(), e)).collect();
    let new: BTreeMap<&str, &Entry> = after.iter().map(|e| (e.name(), e)).collect();
    let mut lines = Vec::new();
    for (name, e) in &old {
        if !new.contains_key(name) {
            for b in bindings(e) {
                lines.push(format!("- binding {b} -> `{name}`"));
            }
            lines.push(format!(
                "- entry `{name}` ({}, {})",
                state(e),
                shown(e.subject())
            ));
        }
    }
    for (name, e) in &new {
        match old.get(name) {
            None => {
                lines.push(format!(
                    "+ entry `{name}`: {}, {}, {}, key {}",
                    state(e),
                    shown(e.subject()),
                    key(e),
                    e.fingerprint().to_hex()
                ));
                for b in bindings(e) {
                    lines.push(format!("+ binding {b} -> `{name}`"));
                }
            }
            Some(o) => {
                if o.fingerprint() != e.fingerprint() {
                    lines.push(format!(
                        "~ entry `{name}`: new key {} (was {})",
                        e.fingerprint().to_hex(),
                        o.fingerprint().to_hex()
                    ));
                }
                if o.state() != e.state() || o.not_after() != e.not_after() {
                    lines.push(format!(
                        "~ entry `{name}`: {} -> {}, certificate for {} valid until {}",
                        state(o),
                        state(e),
                        shown(e.subject()),
                        e.not_after().map_or_else(|| "-".into(), format_utc)
                    ));
                }
                let (ob, nb) = (bindings(o), bindings(e));
                for b in ob.iter().filter(|b| !nb.contains(b)) {
                    lines.push(format!("- binding {b} -> `{name}`"));
                }
                for b in nb.iter().filter(|b| !ob.contains(b)) {
                    lines.push(format!("+ binding {b} -> `{name}`"));
                }
            }
        }
    }
    lines
}

/// Runs `f` (a key generation) under a spinner with the elapsed time when standard error is
/// a terminal; silently otherwise.
pub fn with_spinner<T>(message: &str, f: impl FnOnce() -> T) -> T {
    let bar = spinner(message);
    let out = f();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out
}

/// A spinner line with `message` and the elapsed time, ticking, when standard error is a
/// terminal; `None` otherwise.
pub fn spinner(message: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}

/// `t` as `YYYY-MM-DD`.
fn date(t: SystemTime) -> String {
    let full = format_utc(t);
    full.get(..10).map_or(full.clone(), str::to_owned)
}

/// The entry's state as a person reads it: `pending`, `installed`, `renewal of NAME`.
fn state(e: &Entry) -> String {
    match e.renewal_of() {
        Some(of) if e.state() == EntryState::Renewal => format!("renewal of {}", shown(of)),
        _ => state_name(e.state()).to_owned(),
    }
}

/// The state's one word, as JSON gives it: `pending`, `installed`, `renewal`.
fn state_name(state: EntryState) -> &'static str {
    match state {
        EntryState::Pending => "pending",
        EntryState::Installed => "installed",
        EntryState::Renewal => "renewal",
        _ => "unknown",
    }
}

fn bindings(e: &Entry) -> Vec<String> {
    e.bindings().iter().map(ToString::to_string).collect()
}

/// Text from a certificate or request (a subject, DNS names) as printed on a terminal: control
/// characters (escape sequences, newlines, C1 codes) escaped as `\u{..}`, so that a name
/// cannot move the cursor, recolour or rewrite what the operator reads.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn or_dash(s: String) -> String {
    if s.is_empty() { "-".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_names_are_escaped() {
        assert_eq!(shown("www.example.com"), "www.example.com");
        assert_eq!(
            shown("evil\u{1b}[2J\nname\u{9b}31m\u{7f}"),
            "evil\\u{1b}[2J\\u{a}name\\u{9b}31m\\u{7f}"
        );
        assert_eq!(shown("CN=é,O=a\\,b"), "CN=é,O=a\\,b");
    }

    #[test]
    fn times_are_utc_text() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 * 365);
        assert_eq!(format_utc(t), "1971-01-01T00:00:00Z");
        assert_eq!(date(t), "1971-01-01");
    }

    #[test]
    fn an_empty_table_is_its_header() {
        assert_eq!(
            table(&[]),
            "NAME  STATE  SUBJECT  SANS  NOT-AFTER  KEY  BINDINGS\n"
        );
    }
}
