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

impl SessionToken {
    /// A token read back from a sealed pair (a lost answer given again).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// A refresh token: opaque to clients, 72 bytes as base64url without padding (96 characters):
/// the sign-in's id (16 bytes), its generation (8 bytes, big-endian), a keyed MAC of both
/// (16 bytes) and 32 random bytes. The MAC lets the server tell a spent token of a sign-in from
/// a forged one, so reuse of any older generation is detected; the random part is what makes
/// the token unguessable even to whoever holds the server secret. Only keyed hashes are stored.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    sign_in: [u8; 16],
    generation: u64,
    mac: [u8; 16],
    random: [u8; 32],
}

impl RefreshToken {
    /// Its length in bytes.
    pub const LEN: usize = 72;

    /// The bytes the MAC covers: the sign-in's id and the generation.
    pub fn signed_part(sign_in: &[u8; 16], generation: u64) -> [u8; 24] {
        let mut part = [0u8; 24];
        part[..16].copy_from_slice(sign_in);
        part[16..].copy_from_slice(&generation.to_be_bytes());
        part
    }

    /// A new token of the sign-in's generation (the MAC computed by the caller), its random
    /// part from the OS-seeded CSPRNG.
    pub fn generate(sign_in: [u8; 16], generation: u64, mac: [u8; 16]) -> Self {
        let mut random = [0u8; 32];
        rand::rng().fill_bytes(&mut random);
        Self {
            sign_in,
            generation,
            mac,
            random,
        }
    }

    /// The token these bytes spell (the inverse of [`RefreshToken::to_bytes`]).
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Self {
        let mut sign_in = [0u8; 16];
        sign_in.copy_from_slice(&bytes[..16]);
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&bytes[16..24]);
        let mut mac = [0u8; 16];
        mac.copy_from_slice(&bytes[24..40]);
        let mut random = [0u8; 32];
        random.copy_from_slice(&bytes[40..]);
        Self {
            sign_in,
            generation: u64::from_be_bytes(generation),
            mac,
            random,
        }
    }

    /// Its bytes: what is hashed, what keys derive from, what a sealed pair holds.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut bytes = [0u8; Self::LEN];
        bytes[..24].copy_from_slice(&Self::signed_part(&self.sign_in, self.generation));
        bytes[24..40].copy_from_slice(&self.mac);
        bytes[40..].copy_from_slice(&self.random);
        bytes
    }

    /// Accepts only the exact encoding `encode` produces.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let refuse = || Invalid("is not a listo refresh token".into());
        if raw.len() != 96 {
            return Err(refuse());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| refuse())?;
        let bytes = <[u8; Self::LEN]>::try_from(bytes).map_err(|_| refuse())?;
        Ok(Self::from_bytes(&bytes))
    }

    /// The sign-in it belongs to, as its public id.
    pub fn sign_in(&self) -> SessionId {
        SessionId(URL_SAFE_NO_PAD.encode(self.sign_in))
    }

    /// The sign-in's id as bytes.
    pub fn sign_in_bytes(&self) -> &[u8; 16] {
        &self.sign_in
    }

    /// Its place in the sign-in's chain: 0 from the verify, one more per refresh.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The MAC it carries.
    pub fn mac(&self) -> &[u8; 16] {
        &self.mac
    }

    /// The text handed to the client.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_bytes())
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
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

    /// The 16 bytes of an id of the form `generate` makes (`None` for older forms).
    pub fn bytes(&self) -> Option<[u8; 16]> {
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).ok()?;
        <[u8; 16]>::try_from(bytes).ok()
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
    fn refresh_token_round_trips_and_names_its_sign_in() {
        let id = SessionId::generate();
        let token = RefreshToken::generate(id.bytes().unwrap(), 7, [9; 16]);
        let text = token.encode();
        assert_eq!(text.len(), 96);
        let back = RefreshToken::parse(&text).unwrap();
        assert!(back == token);
        assert!(RefreshToken::from_bytes(&token.to_bytes()) == token);
        assert_eq!(back.sign_in(), id);
        assert_eq!(back.generation(), 7);
        assert_eq!(back.mac(), &[9; 16]);
        // The random part: two tokens of one generation differ.
        assert!(RefreshToken::generate(id.bytes().unwrap(), 7, [9; 16]) != token);
        for bad in ["", "abc", &"A".repeat(97), &"*".repeat(96), &"A".repeat(75)] {
            assert!(RefreshToken::parse(bad).is_err(), "{bad}");
        }
        assert!(
            SessionId::parse("0123456789abcdef0123456789abcdef")
                .unwrap()
                .bytes()
                .is_none()
        );
    }

    #[test]
    fn challenge_ids_parse_back() {
        let id = ChallengeId::generate();
        assert_eq!(ChallengeId::parse(id.as_str()).unwrap(), id);
        assert!(ChallengeId::parse("short").is_err());
    }
}
