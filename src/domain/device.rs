//! Where a session was opened from, as the client said: shown back to its owner in the list of
//! sessions, never logged.

use std::net::IpAddr;

/// The longest user agent kept; real ones are a few hundred characters at most.
const MAX_USER_AGENT_CHARS: usize = 256;

/// A session's origin: the client's `User-Agent` and address at sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// The `User-Agent` header, without control characters, at most 256 characters.
    pub user_agent: Option<String>,
    /// The client address.
    pub address: Option<String>,
}

impl Device {
    /// Keeps what can be shown safely: control characters go, long agents are cut.
    pub fn new(user_agent: Option<&str>, address: Option<IpAddr>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT_CHARS)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .filter(|ua| !ua.is_empty());
        Self {
            user_agent,
            address: address.map(|a| a.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_cleaned_and_bounded() {
        let d = Device::new(Some(" curl/8.5\u{7}\n "), "127.0.0.1".parse().ok());
        assert_eq!(d.user_agent.as_deref(), Some("curl/8.5"));
        assert_eq!(d.address.as_deref(), Some("127.0.0.1"));
        let long = "x".repeat(1000);
        assert_eq!(
            Device::new(Some(&long), None).user_agent.unwrap().len(),
            256
        );
        assert_eq!(Device::new(Some(" \t"), None), Device::default());
    }
}
