//! Whether this process can serve: the answer behind `/readyz`.

use super::ServiceError;
use crate::store::Store;

/// Checks on behalf of the readiness probe that writes reach the database.
#[derive(Clone)]
pub struct Health {
    store: Store,
}

impl Health {
    /// Builds the check.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// `Ok` when writes commit: none failed in the last few seconds without one committing
    /// since, and a recent commit or a probe write just now succeeded.
    pub async fn ready(&self) -> Result<(), ServiceError> {
        Ok(self.store.ready().await?)
    }
}
