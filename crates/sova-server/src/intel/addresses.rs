//! The set of deposit addresses this Sova has issued, so that lookups of any other address (most Intel calls) need
//! no database read. Additions arrive on the invalidation bus as `addr:<address>` (from Connect when it issues an
//! address, here or on another replica); a lost notification connection (`*`) marks the set stale and the next
//! lookup reloads it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;
use sova_http::cache::{Invalidate, Scope};

/// Issued deposit addresses.
#[derive(Default)]
pub struct AddressIndex {
    set: RwLock<HashSet<String>>,
    stale: AtomicBool,
    loaded: AtomicBool,
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
}

impl Invalidate for AddressIndex {
    fn invalidate(&self, scope: Scope<'_>) {
        match scope {
            Scope::Key { kind: "addr", key } => {
                self.set.write().insert(key.to_string());
            }
            Scope::All => self.stale.store(true, Ordering::Release),
            _ => {}
        }
    }
}
