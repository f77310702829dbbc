//! Read-through caches with explicit, cross-replica invalidation, shared by every surface.
//!
//! A surface makes its caches with [`Cache::new`] on the server's one [`Invalidations`] bus, saying which messages
//! concern them: a key kind (`cred`, `token`, `siwx`, ...) whose `kind:<key>` message removes one entry, and
//! optionally how an entry belongs to a customer or a user (`customer:<id>` and `user:<id>` remove everything of
//! that tenant or user). Any other message (`*`) clears every cache. Nothing here names a surface: each one
//! registers its own caches (and [`Invalidate`] hooks such as an index to mark stale).
//!
//! Every change that could make an entry stale calls [`Invalidations::broadcast`]: it applies the message here and
//! sends it to the other replicas through the store (PostgreSQL `NOTIFY`), whose listeners apply it too. To close
//! the race where a replica reads the old row from the database just before an invalidation arrives and caches it
//! just after, every fill is guarded by an epoch: [`Invalidations::epoch`] before the read, [`Cache::insert_if`]
//! after it; an insert is dropped if any invalidation happened in between (the check and the insert hold a read
//! gate that an invalidation takes for writing after bumping the epoch, so no stale fill can land after it).
//!
//! The maps are `moka` caches, bounded by entry count with least-recently-used eviction (no wholesale clearing).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use sova_store::Store;

/// Most entries one cache holds; beyond it the least recently used entries are evicted.
pub const CAPACITY: u64 = 200_000;

/// What an invalidation message concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// One entry of the caches of `kind` (`<kind>:<key>`).
    Key {
        /// Cache kind, e.g. `cred`.
        kind: &'a str,
        /// The entry's key.
        key: &'a str,
    },
    /// Everything of a customer (`customer:<id>`).
    Customer(&'a str),
    /// Everything of a user (`user:<id>`).
    User(&'a str),
    /// Everything (`*`, or anything unrecognised, such as a lost notification connection).
    All,
}

impl<'a> Scope<'a> {
    /// Read a message.
    pub fn parse(msg: &'a str) -> Self {
        match msg.split_once(':') {
            Some(("customer", id)) => Scope::Customer(id),
            Some(("user", id)) => Scope::User(id),
            Some((kind, key)) if !kind.is_empty() => Scope::Key { kind, key },
            _ => Scope::All,
        }
    }
}

/// Something that drops what an invalidation makes stale.
pub trait Invalidate: Send + Sync {
    /// Apply one message.
    fn invalidate(&self, scope: Scope<'_>);
}

/// The server's invalidation bus: the epoch guard, the registered caches, and the store that carries messages to
/// the other replicas.
pub struct Invalidations {
    epoch: AtomicU64,
    gate: RwLock<()>,
    handlers: RwLock<Vec<Arc<dyn Invalidate>>>,
    store: Option<Arc<dyn Store>>,
}

impl Invalidations {
    /// A bus over `store`'s notifications.
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            epoch: AtomicU64::new(0),
            gate: RwLock::new(()),
            handlers: RwLock::default(),
            store: Some(store),
        })
    }

    /// A bus for this process alone (tests).
    pub fn local() -> Arc<Self> {
        Arc::new(Self { epoch: AtomicU64::new(0), gate: RwLock::new(()), handlers: RwLock::default(), store: None })
    }

    /// Current epoch; read it before a database read that will fill a cache.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Register something to invalidate.
    pub fn register(&self, h: Arc<dyn Invalidate>) {
        self.handlers.write().push(h);
    }

    /// Apply a message here (from this replica or another).
    pub fn invalidate(&self, msg: &str) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        // Wait for fills that checked the old epoch to land, so the removal below sees them.
        let _gate = self.gate.write();
        let scope = Scope::parse(msg);
        for h in self.handlers.read().iter() {
            h.invalidate(scope);
        }
    }

    /// Apply a message here and tell the other replicas.
    pub async fn broadcast(&self, msg: &str) {
        self.invalidate(msg);
        let Some(store) = &self.store else { return };
        if let Err(e) = store.notify_auth_change(msg).await {
            tracing::error!(error = %e, "could not broadcast a cache invalidation; other replicas may serve a stale entry");
        }
    }

    /// Apply other replicas' messages until the store's notification stream ends (PostgreSQL only; `None` when the
    /// backend has no notifications, as with SQLite's single process).
    pub async fn listener(
        self: &Arc<Self>,
    ) -> sova_store::Result<Option<impl std::future::Future<Output = ()> + Send + 'static>> {
        use futures::StreamExt;
        let Some(store) = &self.store else { return Ok(None) };
        let Some(mut stream) = store.listen_auth_changes().await? else {
            return Ok(None);
        };
        let bus = self.clone();
        Ok(Some(async move {
            while let Some(msg) = stream.next().await {
                bus.invalidate(&msg);
            }
        }))
    }
}

type Belongs<V> = Box<dyn Fn(&str, &V, &str) -> bool + Send + Sync>;

struct Inner<V> {
    kind: &'static str,
    map: moka::sync::Cache<String, Arc<V>>,
    customer: Option<Belongs<V>>,
    user: Option<Belongs<V>>,
    bus: Arc<Invalidations>,
}

/// One read-through cache keyed by string, registered on the bus.
pub struct Cache<V> {
    inner: Arc<Inner<V>>,
}

impl<V> Clone for Cache<V> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

/// How to build a [`Cache`].
pub struct CacheBuilder<V> {
    kind: &'static str,
    capacity: u64,
    customer: Option<Belongs<V>>,
    user: Option<Belongs<V>>,
}

impl<V> CacheBuilder<V>
where
    V: Send + Sync + 'static,
{
    /// Entries of a customer are dropped by `customer:<id>`.
    pub fn customer(mut self, f: impl Fn(&str, &V, &str) -> bool + Send + Sync + 'static) -> Self {
        self.customer = Some(Box::new(f));
        self
    }

    /// Entries of a user are dropped by `user:<id>`.
    pub fn user(mut self, f: impl Fn(&str, &V, &str) -> bool + Send + Sync + 'static) -> Self {
        self.user = Some(Box::new(f));
        self
    }

    /// Bound the cache (default [`CAPACITY`]).
    pub fn capacity(mut self, n: u64) -> Self {
        self.capacity = n;
        self
    }

    /// Build and register on `bus`.
    pub fn build(self, bus: &Arc<Invalidations>) -> Cache<V> {
        let map = moka::sync::Cache::builder().max_capacity(self.capacity).support_invalidation_closures().build();
        let inner =
            Arc::new(Inner { kind: self.kind, map, customer: self.customer, user: self.user, bus: bus.clone() });
        bus.register(inner.clone());
        Cache { inner }
    }
}

impl<V> Cache<V>
where
    V: Send + Sync + 'static,
{
    /// A cache whose single entries are dropped by `<kind>:<key>` messages.
    pub fn builder(kind: &'static str) -> CacheBuilder<V> {
        CacheBuilder { kind, capacity: CAPACITY, customer: None, user: None }
    }

    /// The cached value.
    pub fn get(&self, k: &str) -> Option<Arc<V>> {
        self.inner.map.get(k)
    }

    /// Insert unless an invalidation happened since `epoch` was read.
    pub fn insert_if(&self, epoch: u64, k: String, v: Arc<V>) {
        let bus = &self.inner.bus;
        let _gate = bus.gate.read();
        if bus.epoch() != epoch {
            return;
        }
        self.inner.map.insert(k, v);
    }

    /// Entries (after pending maintenance; for tests and metrics).
    pub fn len(&self) -> u64 {
        self.inner.map.run_pending_tasks();
        self.inner.map.entry_count()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<V> Invalidate for Inner<V>
where
    V: Send + Sync + 'static,
{
    fn invalidate(&self, scope: Scope<'_>) {
        match scope {
            Scope::Key { kind, key } if kind == self.kind => self.map.invalidate(key),
            Scope::Key { .. } => {}
            Scope::Customer(c) => self.retain_not(self.customer.as_ref(), c),
            Scope::User(u) => self.retain_not(self.user.as_ref(), u),
            Scope::All => self.map.invalidate_all(),
        }
    }
}

impl<V> Inner<V>
where
    V: Send + Sync + 'static,
{
    fn retain_not(&self, belongs: Option<&Belongs<V>>, id: &str) {
        let Some(belongs) = belongs else { return };
        let matching: Vec<Arc<String>> = self.map.iter().filter(|(k, v)| belongs(k, v, id)).map(|(k, _)| k).collect();
        for k in matching {
            self.map.invalidate(k.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        customer: String,
        user: String,
    }

    fn row(c: &str, u: &str) -> Arc<Row> {
        Arc::new(Row { customer: c.into(), user: u.into() })
    }

    #[test]
    fn a_fill_racing_an_invalidation_is_dropped() {
        let bus = Invalidations::local();
        let users: Cache<Row> =
            Cache::builder("users").customer(|_, v: &Row, c| v.customer == c).user(|k, _, u| k == u).build(&bus);
        let e = bus.epoch();
        bus.invalidate("user:u1");
        users.insert_if(e, "u1".into(), row("cust", "u1"));
        assert!(users.get("u1").is_none(), "stale fill must not land");
        let e = bus.epoch();
        users.insert_if(e, "u1".into(), row("cust", "u1"));
        assert!(users.get("u1").is_some());
        bus.invalidate("customer:cust");
        assert!(users.get("u1").is_none());
    }

    #[test]
    fn messages_reach_only_their_caches() {
        let bus = Invalidations::local();
        let a: Cache<Row> = Cache::builder("a").user(|_, v: &Row, u| v.user == u).build(&bus);
        let b: Cache<Row> = Cache::builder("b").build(&bus);
        let e = bus.epoch();
        a.insert_if(e, "k".into(), row("c1", "u1"));
        b.insert_if(e, "k".into(), row("c1", "u1"));
        bus.invalidate("a:k");
        assert!(a.get("k").is_none());
        assert!(b.get("k").is_some(), "a key message is for its own kind only");
        let e = bus.epoch();
        a.insert_if(e, "k".into(), row("c1", "u1"));
        bus.invalidate("customer:c1");
        assert!(a.get("k").is_some() && b.get("k").is_some(), "caches without a customer scope keep entries");
        bus.invalidate("user:u1");
        assert!(a.get("k").is_none());
        assert!(b.get("k").is_some());
        bus.invalidate("*");
        assert!(b.get("k").is_none());
        assert_eq!(Scope::parse("cred:ab:c"), Scope::Key { kind: "cred", key: "ab:c" });
        assert_eq!(Scope::parse("*"), Scope::All);
    }
}
