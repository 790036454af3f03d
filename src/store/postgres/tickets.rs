//! The `event_tickets` table: one-use keys for opening an event stream without a header, usable
//! on any process.

use super::PgTx;
use crate::store::{StoreError, Tickets};
use async_trait::async_trait;

#[async_trait]
impl Tickets for PgTx<'_> {
    async fn insert_ticket(
        &mut self,
        ticket_hash: &[u8; 32],
        sign_in: &str,
        expires_at_ms: i64,
        keep: u32,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO event_tickets (ticket_hash, sign_in, expires_at) VALUES ($1, $2, $3)",
            &[&ticket_hash.as_slice(), &sign_in, &expires_at_ms],
        )
        .await?;
        self.exec(
            "DELETE FROM event_tickets WHERE sign_in = $1 AND id NOT IN (
                 SELECT id FROM event_tickets WHERE sign_in = $1 ORDER BY id DESC LIMIT $2)",
            &[&sign_in, &i64::from(keep)],
        )
        .await?;
        Ok(())
    }

    async fn take_ticket(
        &mut self,
        ticket_hash: &[u8; 32],
    ) -> Result<Option<(String, i64)>, StoreError> {
        let row = self
            .opt(
                "DELETE FROM event_tickets WHERE ticket_hash = $1 RETURNING sign_in, expires_at",
                &[&ticket_hash.as_slice()],
            )
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    async fn delete_expired_tickets(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        self.exec(
            "DELETE FROM event_tickets WHERE expires_at < $1",
            &[&before_ms],
        )
        .await
    }
}
