//! The `dns_names` column: a structured list of names, so that a name holding a newline (or
//! empty) comes back as it was, and the re-encoding of files from before it.

use rusqlite::params;

use super::Session;
use crate::error::Result;

/// The `dns_names` column of a list of names: each name after a `\n`, with `%` and `\n` in it
/// escaped as `%25` and `%0A`, so that any name (empty, or holding a newline) comes back as
/// it was: `""` is no name, `"\na\nb"` is `a` and `b`, `"\n"` one empty name. (Before the
/// store-level authenticator, the names were joined with `\n`, and a name holding one split in
/// two; such files are re-encoded when migrated, see [`reencode_legacy_names`].)
pub(in crate::store) fn encode_names(names: &[String]) -> String {
    let mut out = String::new();
    for name in names {
        out.push('\n');
        for c in name.chars() {
            match c {
                '%' => out.push_str("%25"),
                '\n' => out.push_str("%0A"),
                c => out.push(c),
            }
        }
    }
    out
}

/// The names of a `dns_names` column written by [`encode_names`]. Never fails: text it did not
/// write (which its row's MAC then refuses) decodes to something, never a panic.
pub(in crate::store) fn decode_names(text: &str) -> Vec<String> {
    let Some(list) = text.strip_prefix('\n') else {
        return legacy_names(text);
    };
    list.split('\n')
        .map(|name| name.replace("%0A", "\n").replace("%25", "%"))
        .collect()
}

/// The names of a `dns_names` column from before [`encode_names`]: joined with `\n`.
fn legacy_names(text: &str) -> Vec<String> {
    text.split('\n')
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Re-encodes the DNS names of every entry of a file migrated from before [`encode_names`],
/// each entry checked against its MAC first and MAC'd again after; the caller then computes
/// the store-level authenticator from scratch.
pub(in crate::store) fn reencode_legacy_names(session: &Session<'_>) -> Result<()> {
    for id in session.ids()? {
        let mut entry = session.stored(id)?;
        let names = legacy_names(&entry.row.dns_text);
        entry.row.dns_text = encode_names(&names);
        entry.row.dns_names = names;
        entry.row.mac = session.mac_of(&entry);
        session.write(
            "re-encoding an entry's names",
            "UPDATE entries SET dns_names = ?1, mac = ?2 WHERE id = ?3",
            params![entry.row.dns_text, entry.row.mac, id],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are stored as a structured list: a name holding a newline or a `%`, or an empty
    /// one, comes back as it was; the text is one name per `\n`-led item.
    #[test]
    fn dns_names_round_trip_whatever_they_hold() {
        let lists: [&[&str]; 6] = [
            &[],
            &[""],
            &["www.example.com", "example.com"],
            &["a\nb", "c"],
            &["100%", "%0A", "%25"],
            &["", "x", ""],
        ];
        for list in lists {
            let names: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            let text = encode_names(&names);
            assert_eq!(decode_names(&text), names, "{text:?}");
            assert_eq!(text.matches('\n').count(), names.len(), "{text:?}");
        }
        // A column from before the encoding.
        assert_eq!(
            decode_names("www.example.com\nexample.com"),
            ["www.example.com", "example.com"]
        );
    }
}
