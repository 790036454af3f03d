//! The `event_tickets` table: one-use keys for opening an event stream without a header.

use super::SqliteTx;
use crate::store::{StoreError, Tickets};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl Tickets for SqliteTx<'_> {
    async fn insert_ticket(
        &mut self,
        ticket_hash: &[u8; 32],
        sign_in: &str,
        expires_at_ms: i64,
        keep: u32,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO event_tickets (ticket_hash, sign_in, expires_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![ticket_hash.as_slice(), sign_in, expires_at_ms])?;
        conn.prepare_cached(
            "DELETE FROM event_tickets WHERE sign_in = ?1 AND id NOT IN (
                 SELECT id FROM event_tickets WHERE sign_in = ?1 ORDER BY id DESC LIMIT ?2)",
        )?
        .execute(params![sign_in, keep])?;
        Ok(())
    }

    async fn take_ticket(
        &mut self,
        ticket_hash: &[u8; 32],
    ) -> Result<Option<(String, i64)>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "DELETE FROM event_tickets WHERE ticket_hash = ?1 RETURNING sign_in, expires_at",
            )?
            .query_row([ticket_hash.as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    async fn delete_expired_tickets(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM event_tickets WHERE expires_at < ?1")?
            .execute([before_ms])?)
    }
}
