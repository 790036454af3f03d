use super::Invalid;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

/// An opaque 256-bit bearer token, base64url without padding (43 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken([u8; 32]);

impl SessionToken {
    /// 32 bytes from the OS-seeded CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Accepts only the exact encoding `generate` produces.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| Invalid("is not a listo access token".into()))?;
        Ok(Self(bytes))
    }

    /// The raw bytes, for the keyed hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The text handed to the client once.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// Names a pending login; unguessable (128 bits) so challenges cannot be enumerated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeId(String);

impl ChallengeId {
    /// 16 random bytes, base64url.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The shape `generate` produces: 22 base64url characters.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let ok = raw.len() == 22
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Invalid("is not a challenge id from /v1/auth/login".into()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A session's public name: listed to its owner and used to end it; 128 random bits that say
/// nothing of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    /// 16 random bytes, base64url.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// 1 to 64 base64url characters (ids listed before this form was fixed are 32 hex digits).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Invalid(
                "is not a session id from GET /v1/auth/sessions".into(),
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_through_its_encoding() {
        let token = SessionToken::generate();
        let text = token.encode();
        assert_eq!(text.len(), 43);
        assert!(SessionToken::parse(&text).unwrap() == token);
    }

    #[test]
    fn token_parse_refuses_other_text() {
        for bad in [
            "",
            "abc",
            "not a token at all, clearly not one at all!!",
            &"A".repeat(44),
        ] {
            assert!(SessionToken::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn challenge_ids_parse_back() {
        let id = ChallengeId::generate();
        assert_eq!(ChallengeId::parse(id.as_str()).unwrap(), id);
        assert!(ChallengeId::parse("short").is_err());
    }
}
