//! Redeeming an emailed code: the rules a login code and a reset code share.

use super::ServiceError;
use super::limits;
use crate::domain::ChallengeId;
use crate::store::{Challenge, Purpose, StoreError, Tx};
use subtle::ConstantTimeEq;

/// Checks `offered` (the keyed hash of the code sent in) against the challenge `id`, which must
/// be for `purpose`: a code works only where it belongs. On a match the challenge is used up
/// and returned. On a miss the refusal is the inner `Err`, and what it cost (an attempt, a
/// wrong code counted against the budget) is written all the same: the caller commits it.
pub(super) async fn redeem(
    tx: &mut dyn Tx,
    id: &ChallengeId,
    offered: &[u8; 32],
    purpose: Purpose,
    codes_per_hour: u32,
    now_ms: i64,
) -> Result<Result<Challenge, ServiceError>, StoreError> {
    let id = id.as_str();
    let Some(challenge) = tx.challenge(id).await?.filter(|c| c.purpose == purpose) else {
        return Ok(Err(ServiceError::InvalidCode {
            attempts_left: None,
        }));
    };
    if now_ms >= challenge.expires_at_ms {
        return Ok(Err(ServiceError::CodeExpired));
    }
    if challenge.attempts_left == 0 {
        return Ok(Err(ServiceError::TooManyAttempts));
    }
    let budget = limits::CodeBudget::of(&challenge)?;
    if budget.exhausted(tx, codes_per_hour, now_ms).await? {
        // The hourly budget of wrong codes is spent: burn this challenge.
        tx.set_attempts_left(id, 0).await?;
        return Ok(Err(ServiceError::TooManyAttempts));
    }
    // A reset for an email with no account has no user: no code can match it.
    let matches = challenge.user_id.is_some() && bool::from(challenge.code_hash.ct_eq(offered));
    if !matches {
        let left = challenge.attempts_left - 1;
        tx.set_attempts_left(id, left).await?;
        budget.failed(tx, now_ms).await?;
        return Ok(Err(if left == 0 {
            ServiceError::TooManyAttempts
        } else {
            ServiceError::InvalidCode {
                attempts_left: Some(left),
            }
        }));
    }
    tx.delete_challenge(id).await?;
    Ok(Ok(challenge))
}
