//! Read-through caches with explicit invalidation: verified credentials and user tokens (by keyed hash) and users
//! (by id). They keep the hot read path off the database.
//!
//! Every change that could make an entry stale removes it here and is broadcast to the other replicas through the
//! store (PostgreSQL `NOTIFY`), which call [`Caches::invalidate`] with the same message. To close the race where a
//! replica reads the old row from the database just before an invalidation arrives and caches it just after, every
//! fill is guarded by an epoch: [`Caches::epoch`] before the read, [`Cache::insert_if`] after it, and an insert is
//! dropped if any invalidation happened in between.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

/// Most entries one cache holds; when full it is cleared (entries are cheap to reload).
const CAPACITY: usize = 200_000;

/// One map of cached values.
pub struct Cache<K, V> {
    map: RwLock<HashMap<K, Arc<V>>>,
}

impl<K: Eq + Hash, V> Default for Cache<K, V> {
    fn default() -> Self {
        Self { map: RwLock::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash, V> Cache<K, V> {
    /// The cached value.
    pub fn get<Q>(&self, k: &Q) -> Option<Arc<V>>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.map.read().get(k).cloned()
    }

    /// Insert unless an invalidation happened since `epoch` was read.
    pub fn insert_if(&self, caches: &Caches, epoch: u64, k: K, v: Arc<V>) {
        let mut map = self.map.write();
        // Checked under the write lock: `invalidate` bumps the epoch before taking it.
        if caches.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(k, v);
    }

    fn retain(&self, f: impl FnMut(&K, &mut Arc<V>) -> bool) {
        self.map.write().retain(f);
    }

    fn remove<Q>(&self, k: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.map.write().remove(k);
    }

    fn clear(&self) {
        self.map.write().clear();
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A verified owner credential.
#[derive(Debug)]
pub struct CachedCredential {
    /// Credential id.
    pub id: String,
    /// Customer.
    pub customer_id: String,
    /// Expiry.
    pub expires_at: Option<i64>,
    /// Revoked.
    pub revoked: bool,
    /// Customer is ACTIVE.
    pub customer_active: bool,
    /// Last time `last_used_at` was written (ms).
    pub last_touch: std::sync::atomic::AtomicI64,
}

/// A verified user token.
#[derive(Debug)]
pub struct CachedUserToken {
    /// Token id.
    pub id: String,
    /// User.
    pub user_id: String,
    /// Customer.
    pub customer_id: String,
    /// Expiry.
    pub expires_at: i64,
    /// Revoked, or its user or customer is suspended.
    pub revoked: bool,
}

/// A verified `Cs-*` HMAC key.
pub struct CachedHmacKey {
    /// Credential id.
    pub credential_id: String,
    /// Customer.
    pub customer_id: String,
    /// The derived HMAC secret key.
    pub secret: secrecy::SecretString,
    /// Keyed hash of the passphrase.
    pub passphrase_hash: String,
    /// Expiry.
    pub expires_at: Option<i64>,
    /// Revoked.
    pub revoked: bool,
    /// Customer is ACTIVE.
    pub customer_active: bool,
    /// Last time `last_used_at` was written (ms).
    pub last_touch: std::sync::atomic::AtomicI64,
}

/// The set of deposit addresses this Sova has issued, so that lookups of any other address (most Intel calls) need
/// no database read. Additions arrive locally and, from other replicas, as `addr:<address>` notifications; a lost
/// notification connection (`*`) marks the set stale and the next lookup reloads it.
#[derive(Default)]
pub struct AddressIndex {
    set: RwLock<std::collections::HashSet<String>>,
    stale: std::sync::atomic::AtomicBool,
    loaded: std::sync::atomic::AtomicBool,
}

impl AddressIndex {
    /// Whether `address` was issued here (loading the set from the store on first use or after a gap).
    pub async fn contains(&self, store: &dyn sova_store::Store, address: &str) -> sova_store::Result<bool> {
        if !self.loaded.load(Ordering::Acquire) || self.stale.swap(false, Ordering::AcqRel) {
            let all = store.all_address_values().await?;
            let mut set = self.set.write();
            set.extend(all);
            self.loaded.store(true, Ordering::Release);
        }
        Ok(self.set.read().contains(address))
    }

    /// Record a new address.
    pub fn insert(&self, address: &str) {
        self.set.write().insert(address.to_string());
    }
}

/// All caches of a server.
#[derive(Default)]
pub struct Caches {
    epoch: AtomicU64,
    /// Owner credentials by keyed hash.
    pub creds: Cache<String, CachedCredential>,
    /// User tokens by keyed hash.
    pub tokens: Cache<String, CachedUserToken>,
    /// Users by user id.
    pub users: Cache<String, sova_store::User>,
    /// `Cs-*` keys by access key.
    pub hmac: Cache<String, CachedHmacKey>,
    /// Intel `ak_` keys by keyed hash.
    pub intel: Cache<String, crate::intel::meter::CachedIntelKey>,
    /// Intel account ids by owner (Connect customer id), for `Cs-*` callers. An account never changes owner, so
    /// only a found account is cached and nothing invalidates it but a full clear.
    pub intel_owners: Cache<String, String>,
    /// Issued deposit addresses.
    pub addresses: AddressIndex,
    /// Tenants' active RFC 9421 signing keys by `<tenant>/<keyid>` (SIWX).
    pub httpsig: Cache<String, sova_auth::httpsig::VerifyingKey>,
    /// SIWX customers by id.
    pub siwx: Cache<String, sova_store::SiwxCustomerRow>,
}

impl Caches {
    /// Current epoch; read it before a database read that will fill a cache.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Apply an invalidation: `cred:<hash>`, `token:<hash>`, `customer:<id>`, `user:<id>`, or anything else
    /// (e.g. `*`) to drop everything.
    pub fn invalidate(&self, msg: &str) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(h) = msg.strip_prefix("cred:") {
            self.creds.remove(h);
        } else if let Some(k) = msg.strip_prefix("hmac:") {
            self.hmac.remove(k);
        } else if let Some(k) = msg.strip_prefix("intel:") {
            self.intel.remove(k);
        } else if let Some(k) = msg.strip_prefix("httpsig:") {
            self.httpsig.remove(k);
        } else if let Some(id) = msg.strip_prefix("siwx:") {
            self.siwx.remove(id);
        } else if let Some(a) = msg.strip_prefix("addr:") {
            self.addresses.insert(a);
        } else if let Some(h) = msg.strip_prefix("token:") {
            self.tokens.remove(h);
        } else if let Some(c) = msg.strip_prefix("customer:") {
            self.creds.retain(|_, v| v.customer_id != c);
            self.tokens.retain(|_, v| v.customer_id != c);
            self.users.retain(|_, v| v.customer_id != c);
            self.hmac.retain(|_, v| v.customer_id != c);
            let prefix = format!("{c}/");
            self.httpsig.retain(|k, _| !k.starts_with(&prefix));
            self.siwx.retain(|_, v| v.tenant_id != c);
        } else if let Some(u) = msg.strip_prefix("user:") {
            self.tokens.retain(|_, v| v.user_id != u);
            self.users.remove(u);
        } else {
            self.creds.clear();
            self.tokens.clear();
            self.users.clear();
            self.hmac.clear();
            self.intel.clear();
            self.intel_owners.clear();
            self.httpsig.clear();
            self.siwx.clear();
            self.addresses.stale.store(true, Ordering::Release);
        }
    }

    /// Entries in all caches.
    pub fn len(&self) -> usize {
        self.creds.len() + self.tokens.len() + self.users.len() + self.hmac.len() + self.intel.len()
    }

    /// Whether all caches are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_racing_an_invalidation_is_dropped() {
        let c = Caches::default();
        let e = c.epoch();
        c.invalidate("user:u1");
        c.users.insert_if(&c, e, "u1".into(), Arc::new(user("u1")));
        assert!(c.users.get("u1").is_none(), "stale fill must not land");
        let e = c.epoch();
        c.users.insert_if(&c, e, "u1".into(), Arc::new(user("u1")));
        assert!(c.users.get("u1").is_some());
        c.invalidate("customer:cust");
        assert!(c.users.get("u1").is_none());
    }

    fn user(id: &str) -> sova_store::User {
        sova_store::User {
            user_id: id.into(),
            customer_id: "cust".into(),
            user_type: "individual".into(),
            email: "a@b.co".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            phone: None,
            date_of_birth: None,
            country: None,
            status: "ACTIVE".into(),
            created_at: 0,
            updated_at: 0,
        }
    }
}
