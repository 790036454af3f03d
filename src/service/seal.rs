//! Sealed pairs: how a spent refresh token gets the current pair again although the database
//! holds no usable token.
//!
//! Why: every access and refresh token is random and the row keeps only keyed hashes, so a copy
//! of the database (a replica in an object store, a leaked bucket) yields no live token, even
//! with the server secret beside it (unset `LISTO_SECRET`, it is stored there). Yet the current
//! token's parent (at any time) and grandparent (within the grace) must be answered the current
//! pair. So the pair is stored sealed (XChaCha20-Poly1305, a random 24-byte nonce stored before
//! the ciphertext) under keys derived from those spent tokens themselves: only whoever holds one
//! can open it.
//!
//! - `pair_for_parent` = seal(K_pair(parent), pair)
//! - `pair_for_grand` = seal(K_pair(grandparent), pair)
//! - `parent_key_wrap` = seal(K_wrap(current), K_pair(parent)): the next rotation knows only the
//!   presented current token, and must seal the next pair for the new grandparent (the parent).
//!
//! Each K is `blake3::derive_key` of the token's bytes under its own context string, and each
//! blob is bound (associated data) to its sign-in, the generation of the current pair and its
//! purpose, so a blob moved to another row or column does not open.

use crate::domain::{RefreshToken, SessionToken};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::Rng;

/// A key derived from one refresh token (never stored in plain).
#[derive(Clone)]
pub(super) struct SealKey([u8; 32]);

impl SealKey {
    /// The key the current pair is sealed under for this token's holder.
    pub fn pair(token: &RefreshToken) -> Self {
        Self(blake3::derive_key(
            "listo refresh seal v1: pair",
            &token.to_bytes(),
        ))
    }

    /// The key the parent's pair key is wrapped under while this token is the current one.
    pub fn wrap(token: &RefreshToken) -> Self {
        Self(blake3::derive_key(
            "listo refresh seal v1: parent key wrap",
            &token.to_bytes(),
        ))
    }
}

/// An access token and a refresh token, as a refresh answers them.
pub(super) struct Pair {
    pub access: SessionToken,
    pub refresh: RefreshToken,
}

/// What a sealed blob is for (part of its associated data).
#[derive(Clone, Copy)]
pub(super) enum Purpose {
    /// The current pair, for the parent.
    PairForParent,
    /// The current pair, for the grandparent.
    PairForGrand,
    /// The parent's pair key, for the current token.
    ParentKeyWrap,
}

const NONCE: usize = 24;
const PAIR: usize = 32 + RefreshToken::LEN;

/// The associated data: the purpose, the sign-in and the generation of the current pair.
fn aad(purpose: Purpose, sign_in: &[u8; 16], generation: u64) -> [u8; 25] {
    let mut aad = [0u8; 25];
    aad[0] = match purpose {
        Purpose::PairForParent => 1,
        Purpose::PairForGrand => 2,
        Purpose::ParentKeyWrap => 3,
    };
    aad[1..].copy_from_slice(&RefreshToken::signed_part(sign_in, generation));
    aad
}

/// `nonce ‖ ciphertext ‖ tag` of `plain` under `key`.
fn seal(key: &SealKey, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(&Key::from(key.0));
    let mut nonce = [0u8; NONCE];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad })
        // Only fails for messages past 256 GiB.
        .expect("a pair fits one AEAD message");
    let mut out = Vec::with_capacity(NONCE + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// The plaintext of `sealed`, or `None` when `key` or `aad` is not the one it was sealed with
/// (or it was altered).
fn open(key: &SealKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, body) = sealed.split_at_checked(NONCE)?;
    let nonce = XNonce::from(<[u8; NONCE]>::try_from(nonce).ok()?);
    let cipher = XChaCha20Poly1305::new(&Key::from(key.0));
    cipher.decrypt(&nonce, Payload { msg: body, aad }).ok()
}

/// The pair of generation `generation` of the sign-in, sealed under `key` for `purpose`.
pub(super) fn seal_pair(
    key: &SealKey,
    purpose: Purpose,
    sign_in: &[u8; 16],
    generation: u64,
    pair: &Pair,
) -> Vec<u8> {
    let mut plain = [0u8; PAIR];
    plain[..32].copy_from_slice(pair.access.as_bytes());
    plain[32..].copy_from_slice(&pair.refresh.to_bytes());
    seal(key, &aad(purpose, sign_in, generation), &plain)
}

/// The pair [`seal_pair`] sealed, if `key` opens it.
pub(super) fn open_pair(
    key: &SealKey,
    purpose: Purpose,
    sign_in: &[u8; 16],
    generation: u64,
    sealed: &[u8],
) -> Option<Pair> {
    let plain = open(key, &aad(purpose, sign_in, generation), sealed)?;
    let plain = <[u8; PAIR]>::try_from(plain).ok()?;
    let mut access = [0u8; 32];
    access.copy_from_slice(&plain[..32]);
    let mut refresh = [0u8; RefreshToken::LEN];
    refresh.copy_from_slice(&plain[32..]);
    Some(Pair {
        access: SessionToken::from_bytes(access),
        refresh: RefreshToken::from_bytes(&refresh),
    })
}

/// `parent`'s pair key, sealed under the current token's wrap key.
pub(super) fn wrap_key(
    current: &SealKey,
    sign_in: &[u8; 16],
    generation: u64,
    parent: &SealKey,
) -> Vec<u8> {
    let aad = aad(Purpose::ParentKeyWrap, sign_in, generation);
    seal(current, &aad, &parent.0)
}

/// The parent's pair key [`wrap_key`] sealed, if `current` opens it.
pub(super) fn unwrap_key(
    current: &SealKey,
    sign_in: &[u8; 16],
    generation: u64,
    wrapped: &[u8],
) -> Option<SealKey> {
    let aad = aad(Purpose::ParentKeyWrap, sign_in, generation);
    let plain = open(current, &aad, wrapped)?;
    Some(SealKey(<[u8; 32]>::try_from(plain).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(generation: u64) -> RefreshToken {
        RefreshToken::generate([7; 16], generation, [1; 16])
    }

    fn pair() -> Pair {
        Pair {
            access: SessionToken::generate(),
            refresh: token(3),
        }
    }

    #[test]
    fn a_sealed_pair_opens_with_its_key_only() {
        let (parent, other) = (token(2), token(2));
        let pair = pair();
        let key = SealKey::pair(&parent);
        let sealed = seal_pair(&key, Purpose::PairForParent, &[7; 16], 3, &pair);
        assert_eq!(sealed.len(), NONCE + PAIR + 16);

        let opened = open_pair(&key, Purpose::PairForParent, &[7; 16], 3, &sealed).unwrap();
        assert!(opened.access == pair.access && opened.refresh == pair.refresh);

        // Another token of the same generation, the wrap key of the same token, another
        // purpose, sign-in or generation, an altered byte: nothing opens.
        let wrong = [
            open_pair(
                &SealKey::pair(&other),
                Purpose::PairForParent,
                &[7; 16],
                3,
                &sealed,
            ),
            open_pair(
                &SealKey::wrap(&parent),
                Purpose::PairForParent,
                &[7; 16],
                3,
                &sealed,
            ),
            open_pair(&key, Purpose::PairForGrand, &[7; 16], 3, &sealed),
            open_pair(&key, Purpose::PairForParent, &[8; 16], 3, &sealed),
            open_pair(&key, Purpose::PairForParent, &[7; 16], 4, &sealed),
        ];
        assert!(wrong.iter().all(Option::is_none));
        for at in [0, NONCE, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[at] ^= 1;
            assert!(open_pair(&key, Purpose::PairForParent, &[7; 16], 3, &altered).is_none());
        }
        assert!(open_pair(&key, Purpose::PairForParent, &[7; 16], 3, &sealed[..10]).is_none());
    }

    #[test]
    fn the_same_pair_sealed_twice_differs_and_holds_no_token_bytes() {
        let pair = pair();
        let key = SealKey::pair(&token(2));
        let one = seal_pair(&key, Purpose::PairForParent, &[7; 16], 3, &pair);
        let two = seal_pair(&key, Purpose::PairForParent, &[7; 16], 3, &pair);
        assert_ne!(one, two, "a fresh nonce each time");
        let access = pair.access.as_bytes();
        assert!(!one.windows(access.len()).any(|w| w == access));
        let refresh = pair.refresh.to_bytes();
        assert!(!one.windows(16).any(|w| refresh.windows(16).any(|r| r == w)));
    }

    #[test]
    fn a_wrapped_key_unwraps_with_the_current_token_only() {
        let (current, parent) = (token(3), token(2));
        let parent_key = SealKey::pair(&parent);
        let wrapped = wrap_key(&SealKey::wrap(&current), &[7; 16], 3, &parent_key);
        let back = unwrap_key(&SealKey::wrap(&current), &[7; 16], 3, &wrapped).unwrap();
        assert_eq!(back.0, parent_key.0);
        assert!(unwrap_key(&SealKey::wrap(&parent), &[7; 16], 3, &wrapped).is_none());
        assert!(unwrap_key(&SealKey::pair(&current), &[7; 16], 3, &wrapped).is_none());
        assert!(unwrap_key(&SealKey::wrap(&current), &[7; 16], 2, &wrapped).is_none());
    }
}
