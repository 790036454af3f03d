use super::Invalid;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

/// An event ticket: what a browser's `EventSource`, which cannot send `Authorization`, opens
/// an event stream with. 256 random bits, base64url without padding (43 characters); only a
/// keyed hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct EventTicket([u8; 32]);

impl EventTicket {
    /// 32 bytes from the OS-seeded CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Accepts only the exact encoding `generate` produces.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let bytes = (raw.len() == 43)
            .then(|| URL_SAFE_NO_PAD.decode(raw).ok())
            .flatten()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| Invalid("is not a listo event ticket".into()))?;
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

impl std::fmt::Debug for EventTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventTicket(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::EventTicket;

    #[test]
    fn a_ticket_reads_back_and_nothing_else_does() {
        let ticket = EventTicket::generate();
        let text = ticket.encode();
        assert_eq!(text.len(), 43);
        assert!(EventTicket::parse(&text).unwrap() == ticket);
        for bad in [
            "",
            "abc",
            &format!("{text}A"),
            &text.replace(&text[..1], "+"),
        ] {
            assert!(EventTicket::parse(bad).is_err(), "{bad:?}");
        }
        assert_ne!(EventTicket::generate().encode(), text);
    }
}
