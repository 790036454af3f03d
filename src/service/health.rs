//! Whether this process can serve: the answer behind `/readyz`.

use super::ServiceError;
use crate::store::Store;

/// Checks the database on behalf of the readiness probe.
#[derive(Clone)]
pub struct Health {
    store: Store,
}

impl Health {
    /// Builds the check.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// `Ok` when a read and a write both reach the database.
    pub async fn ready(&self) -> Result<(), ServiceError> {
        Ok(self.store.ping().await?)
    }
}
