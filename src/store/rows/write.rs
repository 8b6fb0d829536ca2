//! The writes of the table layer: new entries (random ids, rows planted for them refused),
//! bindings, installs, renewals, removal. Each changes a checked [`Stored`] entry in memory as
//! it changes the tables, then writes the MAC of what it meant to write
//! ([`Session::write_mac`]), never of what it reads back.

use std::time::SystemTime;

use rusqlite::{OptionalExtension, params};

use super::{KEY_LABEL, Origin, Row, State, Stored, encode_names, secs};
use crate::certificate::Certificate;
use crate::chain::Chain;
use crate::endpoint::Endpoint;
use crate::error::{EndpointError, Result, StoreError};
use crate::key::PrivateKey;
use crate::store::install::covers_binding;
use crate::store::schema::db;
use crate::store::transaction::Session;

impl Session<'_> {
    pub(in crate::store) fn check_name_free(&self, name: &str) -> Result<()> {
        let taken: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM entries WHERE name = ?1")
            .and_then(|mut st| st.query_row(params![name], |r| r.get(0)).optional())
            .map_err(db("checking a name"))?;
        if taken.is_some() {
            return Err(StoreError::NameTaken {
                name: name.to_owned(),
            }
            .into());
        }
        Ok(())
    }

    /// Stores `key` as the pending entry `name`, described by `origin`; the caller checked
    /// the name. A key already in the store is [`StoreError::DuplicateKey`].
    pub(in crate::store) fn insert_pending(
        &self,
        name: &str,
        key: &PrivateKey,
        origin: Origin<'_>,
        renewal_of: Option<i64>,
    ) -> Result<()> {
        let fp = key.fingerprint();
        if let Some(existing) = self.row_by_key(&fp)? {
            return Err(StoreError::DuplicateKey {
                entry: existing.name,
                fingerprint: fp,
            }
            .into());
        }
        let der = key.to_pkcs8_der()?;
        let sealed = self.kek.keys.seal(KEY_LABEL, fp.as_bytes(), &der)?;
        let (subject, names, request_der, during) = match origin {
            Origin::Request(request) => (
                request.subject(),
                request.dns_names(),
                Some(request.to_der()),
                "storing a pending key",
            ),
            Origin::Certificate(leaf) => (
                leaf.subject(),
                leaf.dns_names(),
                None,
                "storing an imported key",
            ),
        };
        let id = self.fresh_id()?;
        self.insert_pending_at(
            id,
            Row {
                id,
                name: name.to_owned(),
                state: State::Pending,
                spki: fp.as_bytes().to_vec(),
                key_bits: key.bits() as i64,
                key_type: key.key_type(),
                sealed_key: sealed,
                subject,
                dns_text: encode_names(&names),
                dns_names: names,
                request_der,
                created_at: secs(SystemTime::now()),
                installed_at: None,
                not_before: None,
                not_after: None,
                renewal_of,
                mac: Vec::new(),
            },
            during,
        )
    }

    /// A new entry id: random (63 bits, positive), so that no one can plant rows for the
    /// next entry ahead of time, and not in use.
    fn fresh_id(&self) -> Result<i64> {
        loop {
            let mut bytes = [0u8; 8];
            crate::store::seal::random(&mut bytes)?;
            let id = i64::from_be_bytes(bytes) & i64::MAX;
            let taken: Option<i64> = self
                .conn
                .prepare_cached("SELECT id FROM entries WHERE id = ?1")
                .and_then(|mut st| st.query_row(params![id], |r| r.get(0)).optional())
                .map_err(db("choosing an entry id"))?;
            if id != 0 && taken.is_none() {
                return Ok(id);
            }
        }
    }

    /// Inserts the new pending entry `row` under `id`, MAC'd as written: no certificate, no
    /// binding. Rows that already point at `id` (a chain, a binding, a renewal link) were
    /// planted: refused as tampering, never adopted.
    pub(in crate::store) fn insert_pending_at(
        &self,
        id: i64,
        row: Row,
        during: &'static str,
    ) -> Result<()> {
        let planted: i64 = self
            .conn
            .prepare_cached(
                "SELECT (SELECT count(*) FROM chain WHERE entry_id = ?1) \
                      + (SELECT count(*) FROM bindings WHERE entry_id = ?1) \
                      + (SELECT count(*) FROM entries WHERE renewal_of = ?1)",
            )
            .and_then(|mut st| st.query_row(params![id], |r| r.get(0)))
            .map_err(db("checking a new entry id"))?;
        if planted != 0 {
            return Err(StoreError::Tampered {
                entry: row.name,
                what: format!(
                    "{planted} certificate, binding or renewal rows already point at its new \
                     id {id}: they were planted behind the store's back"
                ),
            }
            .into());
        }
        let mut entry = Stored {
            row,
            chain: Vec::new(),
            bindings: Vec::new(),
        };
        entry.row.mac = self.mac_of(&entry);
        let r = &entry.row;
        self.write(
            during,
            "INSERT INTO entries (id, name, state, spki_sha256, key_bits, sealed_key, subject, \
                 dns_names, request_der, created_at, renewal_of, mac, key_type) \
                 VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                id,
                r.name,
                r.spki,
                r.key_bits,
                r.sealed_key,
                r.subject,
                r.dns_text,
                r.request_der,
                r.created_at,
                r.renewal_of,
                r.mac,
                r.key_type.name(),
            ],
        )?;
        self.replace_token(id, None, Some(&entry.row.mac))
    }

    pub(in crate::store) fn bind(&self, endpoint: &Endpoint, name: &str) -> Result<()> {
        let row = self.row_by_name(name)?;
        if row.state != State::Installed {
            return Err(EndpointError::NotInstalled {
                entry: name.to_owned(),
                state: row.state.as_str().into(),
            }
            .into());
        }
        // One entry per key algorithm: an ECDSA and an RSA certificate may share an endpoint.
        let algorithm = row.key_type.algorithm();
        if let Some(current) = self.bound_entries(endpoint)?.get(algorithm) {
            let current = self.row_by_id(current)?;
            return Err(EndpointError::Taken {
                endpoint: endpoint.to_string(),
                entry: current.name,
            }
            .into());
        }
        let mut entry = self.stored_row(row)?;
        if let Some(host) = endpoint.host_name() {
            let leaf = entry
                .chain
                .first()
                .and_then(|der| Certificate::from_der(der).ok())
                .ok_or_else(|| StoreError::Tampered {
                    entry: name.to_owned(),
                    what: "its certificate does not parse".into(),
                })?;
            if !covers_binding(&leaf, host) {
                return Err(EndpointError::HostNotCovered {
                    entry: name.to_owned(),
                    host: host.to_owned(),
                    names: leaf.dns_names(),
                }
                .into());
            }
        }
        let text = endpoint.to_string();
        self.write(
            "binding",
            "INSERT INTO bindings (endpoint, algorithm, entry_id) VALUES (?1, ?2, ?3)",
            params![text, algorithm.name(), entry.row.id],
        )?;
        entry.bindings.push(text);
        entry.bindings.sort();
        self.write_mac(&mut entry)
    }

    /// Removes the bindings of `endpoint` (both, on a dual endpoint), after checking the
    /// entries they point to.
    pub(in crate::store) fn unbind(&self, endpoint: &Endpoint) -> Result<()> {
        let slots = self.bound_entries(endpoint)?;
        if slots.is_empty() {
            return Err(EndpointError::NotBound {
                endpoint: endpoint.to_string(),
            }
            .into());
        }
        let text = endpoint.to_string();
        for id in slots.iter() {
            let mut entry = self.stored(id)?;
            self.write(
                "unbinding",
                "DELETE FROM bindings WHERE endpoint = ?1 AND entry_id = ?2",
                params![text, id],
            )?;
            entry.bindings.retain(|b| *b != text);
            self.write_mac(&mut entry)?;
        }
        Ok(())
    }

    /// Turns the checked pending `entry` into the installed entry `name` for `chain`'s leaf,
    /// stores the chain, adds `moved` (bindings moved to it) and writes its MAC. The caller
    /// checked the entry (with the chain rows stored for it: none) and the chain.
    pub(in crate::store) fn write_installed(
        &self,
        mut entry: Stored,
        name: &str,
        chain: &Chain,
        moved: Vec<String>,
    ) -> Result<()> {
        let leaf = chain.leaf();
        let id = entry.row.id;
        let row = &mut entry.row;
        row.state = State::Installed;
        row.name = name.to_owned();
        row.subject = leaf.subject();
        row.dns_names = leaf.dns_names();
        row.dns_text = encode_names(&row.dns_names);
        row.installed_at = Some(secs(SystemTime::now()));
        row.not_before = Some(secs(leaf.not_before()));
        row.not_after = Some(secs(leaf.not_after()));
        row.renewal_of = None;
        self.write(
            "installing a certificate",
            "UPDATE entries SET state = 'installed', name = ?1, subject = ?2, dns_names = ?3, \
                 installed_at = ?4, not_before = ?5, not_after = ?6, renewal_of = NULL \
                 WHERE id = ?7",
            params![
                row.name,
                row.subject,
                row.dns_text,
                row.installed_at,
                row.not_before,
                row.not_after,
                id
            ],
        )?;
        for (i, cert) in chain.certificates().iter().enumerate() {
            let der = cert.to_der();
            self.write(
                "storing a certificate",
                "INSERT INTO chain (entry_id, position, der) VALUES (?1, ?2, ?3)",
                params![id, i as i64, der],
            )?;
            entry.chain.push(der.to_vec());
        }
        entry.bindings.extend(moved);
        entry.bindings.sort();
        self.write_mac(&mut entry)
    }

    /// Makes the checked renewal `entry` an ordinary entry and writes its MAC.
    pub(in crate::store) fn detach_renewal(&self, entry: &mut Stored) -> Result<()> {
        self.unlink_renewal(entry.row.id)?;
        entry.row.renewal_of = None;
        self.write_mac(entry)
    }

    /// Clears the renewal link of entry `id`; the caller writes its MAC.
    pub(in crate::store) fn unlink_renewal(&self, id: i64) -> Result<()> {
        self.write(
            "detaching a renewal",
            "UPDATE entries SET renewal_of = NULL WHERE id = ?1",
            params![id],
        )
    }

    /// Moves every binding of the checked entry `from` to entry `to`; returns them, for the
    /// caller to add to `to`'s MAC.
    pub(in crate::store) fn move_bindings(
        &self,
        from: &mut Stored,
        to: i64,
    ) -> Result<Vec<String>> {
        // A renewal of another algorithm (RSA renewed as ECDSA) takes the other slot; if the
        // endpoint already holds an entry of that algorithm, the primary key refuses it.
        let algorithm = self.row_by_id(to)?.key_type.algorithm();
        self.write(
            "moving bindings to the renewal",
            "UPDATE bindings SET entry_id = ?1, algorithm = ?3 WHERE entry_id = ?2",
            params![to, from.row.id, algorithm.name()],
        )?;
        Ok(std::mem::take(&mut from.bindings))
    }

    /// Removes every binding of the checked entry `entry`, which the caller then deletes.
    pub(in crate::store) fn delete_bindings(&self, entry: &mut Stored) -> Result<()> {
        self.write(
            "removing bindings",
            "DELETE FROM bindings WHERE entry_id = ?1",
            params![entry.row.id],
        )?;
        entry.bindings.clear();
        Ok(())
    }

    /// Replaces the checked entry's sealed key (a passphrase change); the caller writes its
    /// MAC (the sealed key has its own AEAD tag and is not in the MAC).
    pub(in crate::store) fn set_sealed_key(
        &self,
        entry: &mut Stored,
        sealed: Vec<u8>,
    ) -> Result<()> {
        self.write(
            "re-sealing a key",
            "UPDATE entries SET sealed_key = ?1 WHERE id = ?2",
            params![sealed, entry.row.id],
        )?;
        entry.row.sealed_key = sealed;
        Ok(())
    }

    /// Deletes the checked, unbound `entry` (its chain goes with it); a renewal of it is
    /// checked and becomes an ordinary pending entry.
    pub(in crate::store) fn delete(&self, entry: Stored) -> Result<()> {
        let id = entry.row.id;
        let renewal: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM entries WHERE renewal_of = ?1")
            .and_then(|mut st| st.query_row(params![id], |r| r.get(0)).optional())
            .map_err(db("reading renewals"))?;
        if let Some(renewal) = renewal {
            // Checked first, so that its new MAC cannot launder a tampered row.
            let mut renewal = self.stored(renewal)?;
            self.detach_renewal(&mut renewal)?;
        }
        self.write(
            "removing an entry",
            "DELETE FROM entries WHERE id = ?1",
            params![id],
        )?;
        self.replace_token(id, Some(&entry.row.mac), None)
    }
}
