//! Sessions kept in memory beside the database, so checking a token is a hash-map lookup.
//!
//! Every authenticated request checks its token; a database read for it means two thread
//! hand-offs (async worker → reader thread → back), which cost more than the rest of a small
//! request. The database stays the record: sessions are written there first and the cache
//! follows (write-through); a token the cache does not hold (after a restart, or swept from
//! memory) is looked up in the database and cached. Sharded, so there is no global lock.

use crate::store::SessionRow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

const SHARDS: usize = 16;

/// Token hash → session, for the sessions this process has seen.
pub struct SessionCache {
    shards: Vec<RwLock<Shard>>,
}

#[derive(Default)]
struct Shard {
    live: HashMap<[u8; 32], Arc<SessionRow>>,
    /// Access tokens a refresh replaced → when they would have expired: a read that raced the
    /// refresh cannot cache one alive again.
    replaced: HashMap<[u8; 32], i64>,
}

impl SessionCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
        }
    }

    // Token hashes are keyed-hash output, so any byte spreads sessions evenly.
    fn shard(&self, token_hash: &[u8; 32]) -> &RwLock<Shard> {
        &self.shards[usize::from(token_hash[0]) % SHARDS]
    }

    /// The cached session for this token hash.
    pub fn get(&self, token_hash: &[u8; 32]) -> Option<Arc<SessionRow>> {
        let shard = self
            .shard(token_hash)
            .read()
            .unwrap_or_else(|e| e.into_inner());
        shard.live.get(token_hash).cloned()
    }

    /// Records a session read from (or just written to) the database, unless one is cached
    /// already: a logout racing this read must not be overwritten by the older row. `None`:
    /// the token was replaced by a refresh meanwhile (it is unknown now).
    pub fn remember(&self, token_hash: [u8; 32], row: SessionRow) -> Option<Arc<SessionRow>> {
        let mut shard = self
            .shard(&token_hash)
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if shard.replaced.contains_key(&token_hash) {
            return None;
        }
        Some(
            shard
                .live
                .entry(token_hash)
                .or_insert_with(|| Arc::new(row))
                .clone(),
        )
    }

    /// Records that a refresh replaced the access token `old` (after the database did) with
    /// `new` for the same sign-in.
    pub fn replace(&self, old: [u8; 32], old_expires_at_ms: i64, new: [u8; 32], row: SessionRow) {
        {
            let mut shard = self.shard(&old).write().unwrap_or_else(|e| e.into_inner());
            shard.live.remove(&old);
            shard.replaced.insert(old, old_expires_at_ms);
        }
        let mut shard = self.shard(&new).write().unwrap_or_else(|e| e.into_inner());
        shard.live.insert(new, Arc::new(row));
    }

    /// Records that a session was revoked (after the database did), whether or not it was cached.
    pub fn revoke(&self, token_hash: [u8; 32], row: SessionRow) {
        let mut shard = self
            .shard(&token_hash)
            .write()
            .unwrap_or_else(|e| e.into_inner());
        shard.live.insert(
            token_hash,
            Arc::new(SessionRow {
                revoked: true,
                ..row
            }),
        );
    }

    /// Records that a session the database just revoked is dead, cached or not: an entry stays
    /// (until it expires) so a read that raced the revocation cannot cache it alive.
    pub fn revoke_hash(&self, token_hash: [u8; 32], expires_at_ms: i64) {
        let mut shard = self
            .shard(&token_hash)
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let row = match shard.live.get(&token_hash) {
            Some(row) => SessionRow {
                revoked: true,
                ..SessionRow::clone(row)
            },
            // Nothing else of it is ever read: a revoked session answers `session_revoked`.
            None => SessionRow {
                id: String::new(),
                user_id: 0,
                email: String::new(),
                default_list_id: 0,
                issued_at_ms: 0,
                expires_at_ms,
                ends_at_ms: expires_at_ms,
                revoked: true,
            },
        };
        shard.live.insert(token_hash, Arc::new(row));
    }

    /// Forgets sessions that expired before `cutoff_ms` (the database still answers for them).
    pub fn forget_expired(&self, cutoff_ms: i64) {
        for shard in &self.shards {
            let mut shard = shard.write().unwrap_or_else(|e| e.into_inner());
            // A sign-in's row lives past its access token while refresh tokens keep it.
            shard
                .live
                .retain(|_, row| row.expires_at_ms.max(row.ends_at_ms) >= cutoff_ms);
            shard.replaced.retain(|_, expires| *expires >= cutoff_ms);
        }
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(expires_at_ms: i64) -> SessionRow {
        SessionRow {
            id: "s".into(),
            user_id: 1,
            email: "a@b.co".into(),
            default_list_id: 1,
            issued_at_ms: 0,
            expires_at_ms,
            ends_at_ms: expires_at_ms,
            revoked: false,
        }
    }

    #[test]
    fn insert_revoke_and_forget() {
        let cache = SessionCache::new();
        cache.remember([1; 32], row(100));
        cache.remember([2; 32], row(300));
        assert!(!cache.get(&[1; 32]).unwrap().revoked);
        cache.revoke([1; 32], row(100));
        assert!(cache.get(&[1; 32]).unwrap().revoked);
        // A stale row read before the logout does not undo it.
        assert!(cache.remember([1; 32], row(100)).unwrap().revoked);
        // Revoked by the database while not cached: a late read does not revive it.
        cache.revoke_hash([4; 32], 300);
        assert!(cache.remember([4; 32], row(300)).unwrap().revoked);
        // Replaced by a refresh: unknown, even to a read that raced the refresh.
        cache.remember([5; 32], row(300));
        cache.replace([5; 32], 300, [6; 32], row(300));
        assert!(cache.get(&[5; 32]).is_none() && cache.remember([5; 32], row(300)).is_none());
        assert!(!cache.get(&[6; 32]).unwrap().revoked);
        cache.forget_expired(200);
        assert!(cache.get(&[1; 32]).is_none());
        assert!(cache.get(&[2; 32]).is_some());
        assert!(cache.get(&[3; 32]).is_none());
    }
}
