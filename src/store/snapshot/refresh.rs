//! Incremental refresh: what a [`Watcher`](super::Watcher) keeps of the last state it read,
//! and how it reads the next one from the store's change log.
//!
//! # What is checked, and why it is enough
//!
//! The watcher keeps, for the generation `g` it last read and fully checked, the digest `D_g`
//! and every entry's token `t(id, MAC)` (see `state.rs`). For a later generation `G`:
//!
//! 1. The state record `(G, D_G)` is read and its MAC checked, and `G` may not be older than
//!    any generation the handle has seen (as for every read).
//! 2. The change log names the entries `S` written since `g`. For each, the MAC now stored is
//!    read and the digest updated: `D' = D_g ⊕ (⊕_{id∈S} t(id, old) ⊕ t(id, new))`.
//! 3. `D'` must equal `D_G`. Tokens are outputs of a keyed PRF nobody without the passphrase
//!    can compute, and `D_G` is under the record's MAC, so `D' = D_G` holds only if the set
//!    of `(id, MAC)` pairs the watcher now believes in is the set the store committed at `G`
//!    (a log that omits a changed entry, or a row replaced by an older copy, leaves a token
//!    difference that is not zero): the same argument as the full check, which sums every
//!    entry instead of `D_g` plus the differences.
//! 4. Each changed entry that is or was bound is then read and checked against its MAC, as a
//!    full read checks it; the others keep their identities, which were checked when read and
//!    whose MACs (hence contents, chains and bindings) have not changed. A changed entry with
//!    no binding row, and none before, is not read further: it serves nothing.
//!
//! So the new snapshot is exactly what a full read of the authenticated state at `G` gives.
//! The log itself is not trusted: it only says where to look. When it does not add up (a
//! pruned or damaged log, tampering) or the record did not change while the file did (a row
//! changed behind the store's back, or a commit that touched no entry), the watcher reads and
//! checks everything, as [`KeyStore::snapshot`](super::KeyStore::snapshot) does, still sharing
//! the identities of entries whose MACs are unchanged. What an incremental read does not do
//! is look at rows outside `S`: a row altered or planted behind the store's back that the
//! authenticated state does not include is never served, and is reported by the next full
//! check ([`KeyStore::check`](super::super::KeyStore::check), open, or a record unchanged).

use std::collections::HashMap;
use std::sync::Arc;

use super::{Certificates, Kek, Session, Snapshot, read_snapshot};
use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::store::Identity;
use crate::store::rows::parse_bindings;
use crate::store::state::{StateRecord, xor};

/// What a watcher keeps of the last state it read.
pub(super) struct Held {
    /// The keys the state was checked under; a new passphrase means a full read.
    kek: Arc<Kek>,
    record: StateRecord,
    /// Every entry's token (bound or not).
    pub(super) tokens: HashMap<i64, [u8; 32]>,
    /// Where each bound entry's identity is in `snapshot`.
    pub(super) index_of: HashMap<i64, usize>,
    pub(super) snapshot: Arc<Snapshot>,
    /// The certificates after the leaf, shared by the identities that have them.
    certs: Certificates,
}

/// What a read found.
pub(super) enum Step {
    /// Everything, read and checked.
    Full(Held),
    /// The changes since the held state.
    Delta(Delta),
}

/// The changes since the held state.
pub(super) struct Delta {
    record: StateRecord,
    /// Each changed entry's new token (`None`: deleted).
    tokens: Vec<(i64, Option<[u8; 32]>)>,
    /// Each changed entry that was or is bound: its identity and endpoints now (`None`:
    /// no longer bound).
    bound: Vec<(i64, Option<Served>)>,
}

/// A bound entry's identity and the endpoints it is served on.
type Served = (Identity, Vec<Endpoint>);

impl Step {
    pub(super) fn generation(&self) -> u64 {
        match self {
            Step::Full(held) => held.record.generation,
            Step::Delta(delta) => delta.record.generation,
        }
    }
}

/// Reads the state in `session` (a read transaction under `kek`): incrementally from `held`
/// when the change log allows it, else in full.
pub(super) fn read(
    session: &Session<'_>,
    kek: &Arc<Kek>,
    mut held: Option<&mut Held>,
) -> Result<Step> {
    let mut held = held.take().filter(|h| Arc::ptr_eq(&h.kek, kek));
    if let Some(held) = held.as_deref_mut()
        && let Some(delta) = delta(session, kek, held)?
    {
        return Ok(Step::Delta(delta));
    }
    let (record, tokens) = session.state_tokens()?;
    let mut certs = Certificates::default();
    let reuse = held.as_deref().map(|h| (h, &tokens));
    let (mut snapshot, index_of) = read_snapshot(session, kek, reuse, &mut certs)?;
    snapshot.generation = record.generation;
    Ok(Step::Full(Held {
        kek: Arc::clone(kek),
        record,
        tokens,
        index_of,
        snapshot: Arc::new(snapshot),
        certs,
    }))
}

/// The changes since `held`, checked (see the module documentation); `None` when only a full
/// read can tell.
fn delta(session: &Session<'_>, kek: &Arc<Kek>, held: &mut Held) -> Result<Option<Delta>> {
    let record = session.state_record()?;
    if record == held.record || record.generation < held.record.generation {
        // The file changed but not the entries' record, or an older state: the full read
        // checks every row (and the caller refuses an older generation).
        return Ok(None);
    }
    if session.changes_since()? > held.record.generation {
        return Ok(None);
    }
    // Past an eighth of the store, reading everything costs about as much.
    let limit = (held.tokens.len() / 8).max(64);
    let Some(ids) = session.changed_since(held.record.generation, limit)? else {
        return Ok(None);
    };
    let mut digest = held.record.digest;
    let mut tokens = Vec::with_capacity(ids.len());
    for id in ids {
        let old = held.tokens.get(&id);
        let new = session.entry_mac(id)?.map(|mac| session.token(id, &mac));
        if old == new.as_ref() {
            continue;
        }
        for token in [old, new.as_ref()].into_iter().flatten() {
            xor(&mut digest, token);
        }
        tokens.push((id, new));
    }
    if digest != record.digest {
        return Ok(None);
    }
    let mut bound = Vec::new();
    for &(id, token) in &tokens {
        let was = held.index_of.contains_key(&id);
        // An entry that neither was nor is bound (a new pending key) serves nothing: its
        // token is in the digest, and it is not read further.
        let now = match token {
            Some(_) if was || session.is_bound(id)? => {
                let stored = session.stored(id)?;
                if stored.bindings.is_empty() {
                    None
                } else {
                    let endpoints = parse_bindings(&stored.bindings)?;
                    let identity = session.sealed_identity(stored, kek, &mut held.certs)?;
                    Some((identity, endpoints))
                }
            }
            _ => None,
        };
        if now.is_some() || was {
            bound.push((id, now));
        }
    }
    Ok(Some(Delta {
        record,
        tokens,
        bound,
    }))
}

/// Makes `step` the held state; returns whether the snapshot changed.
pub(super) fn apply(held: &mut Option<Held>, step: Step) -> bool {
    let delta = match (step, held.as_mut()) {
        (Step::Delta(delta), Some(held)) => return held.apply(delta),
        (Step::Delta(_), None) => return false,
        (Step::Full(full), _) => full,
    };
    *held = Some(delta);
    true
}

impl Held {
    /// Applies `delta`; returns whether the snapshot changed.
    fn apply(&mut self, delta: Delta) -> bool {
        self.record = delta.record;
        for (id, token) in delta.tokens {
            match token {
                Some(token) => self.tokens.insert(id, token),
                None => self.tokens.remove(&id),
            };
        }
        if delta.bound.is_empty() {
            return false;
        }
        let mut snapshot = self.snapshot.duplicate();
        for (id, _) in &delta.bound {
            if let Some(index) = self.index_of.remove(id)
                && let Some(moved) = snapshot.remove(index)
            {
                self.index_of.insert(moved, index);
            }
        }
        for (id, now) in delta.bound {
            if let Some((identity, endpoints)) = now {
                let index = snapshot.push(id, Arc::new(identity), endpoints);
                self.index_of.insert(id, index);
            }
        }
        snapshot.generation = self.record.generation;
        self.snapshot = Arc::new(snapshot);
        true
    }

    /// The generation of the state held.
    pub(super) fn generation(&self) -> u64 {
        self.record.generation
    }
}
