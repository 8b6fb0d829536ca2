//! The containers a [`Snapshot`](super::Snapshot) is made of, shared between a snapshot and
//! the next one: a copy shares every part, and a change copies only the part it touches (one
//! chunk of identities, one shard of a host table), so that a refresh costs the same at 100
//! entries as at 100,000.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// Elements per chunk of a [`Chunked`].
const CHUNK: usize = 512;
/// Shards of a [`Sharded`] map.
const SHARDS: usize = 256;

/// A vector kept in chunks shared between copies.
#[derive(Clone)]
pub(super) struct Chunked<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T: Clone> Chunked<T> {
    pub(super) fn new() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    pub(super) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(Arc::new(chunk));
            }
        }
        self.len += 1;
    }

    /// Removes element `i`; the last element takes its place.
    pub(super) fn swap_remove(&mut self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        let last_chunk = self.chunks.last_mut()?;
        let last = Arc::make_mut(last_chunk).pop()?;
        if last_chunk.is_empty() {
            self.chunks.pop();
        }
        self.len -= 1;
        if i == self.len {
            return Some(last);
        }
        let slot = Arc::make_mut(self.chunks.get_mut(i / CHUNK)?).get_mut(i % CHUNK)?;
        Some(std::mem::replace(slot, last))
    }
}

/// A hash map kept in shards shared between copies.
#[derive(Clone)]
pub(super) struct Sharded<K, V> {
    /// Empty until the first insert, then [`SHARDS`] shards.
    shards: Vec<Arc<HashMap<K, V>>>,
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded { shards: Vec::new() }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Sharded<K, V> {
    pub(super) fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.is_empty())
    }

    pub(super) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards.get(shard_of(key))?.get(key)
    }

    pub(super) fn insert(&mut self, key: K, value: V) {
        if self.shards.is_empty() {
            self.shards = (0..SHARDS).map(|_| Arc::new(HashMap::new())).collect();
        }
        if let Some(shard) = self.shards.get_mut(shard_of(key.borrow())) {
            Arc::make_mut(shard).insert(key, value);
        }
    }

    pub(super) fn remove<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(shard) = self.shards.get_mut(shard_of(key))
            && shard.contains_key(key)
        {
            Arc::make_mut(shard).remove(key);
        }
    }
}

/// The shard of `key`: a fixed hash (the same in every copy), unlike the maps' own.
fn shard_of<Q: Hash + ?Sized>(key: &Q) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % SHARDS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_is_a_vector_with_swap_remove_and_copies_share_chunks() {
        let mut v = Chunked::new();
        let mut model = Vec::new();
        for i in 0..(3 * CHUNK + 7) {
            v.push(i);
            model.push(i);
        }
        let copy = v.clone();
        for i in [5, CHUNK + 1, 3 * CHUNK + 4, 0, 2 * CHUNK] {
            assert_eq!(v.swap_remove(i), Some(model.swap_remove(i)));
        }
        assert_eq!(v.swap_remove(v.len()), None);
        assert_eq!(v.len(), model.len());
        assert!(v.iter().copied().eq(model.iter().copied()));
        assert_eq!(copy.len(), 3 * CHUNK + 7, "the copy is unchanged");
        assert!(copy.iter().copied().eq(0..3 * CHUNK + 7));
        // A change copies the chunks it touches only.
        let mut changed = copy.clone();
        changed.swap_remove(CHUNK + 3);
        let shared: Vec<bool> = (0..4)
            .map(|c| Arc::ptr_eq(&changed.chunks[c], &copy.chunks[c]))
            .collect();
        assert_eq!(shared, [true, false, true, false]);
    }

    #[test]
    fn sharded_is_a_map_and_copies_share_untouched_shards() {
        let mut m: Sharded<Arc<str>, usize> = Sharded::default();
        assert!(m.is_empty() && m.get("a").is_none());
        for i in 0..1000 {
            m.insert(format!("h{i}").into(), i);
        }
        let copy = m.clone();
        m.remove("h7");
        m.insert("h8".into(), 80);
        assert_eq!(m.get("h7"), None);
        assert_eq!(m.get("h8"), Some(&80));
        assert_eq!(copy.get("h7"), Some(&7));
        assert_eq!(copy.get("h8"), Some(&8));
        let shared = m
            .shards
            .iter()
            .zip(&copy.shards)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert!(shared >= SHARDS - 2, "{shared}");
    }
}
