//! Outgoing email: lettre over SMTP, or `.eml` files in an outbox folder when no server is set.

use crate::domain::{Email, OtpCode};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one SMTP command may wait before login gives up with `email_unavailable` (and a
/// queued reset email is retried later).
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where emails go; `Debug` shows the SMTP host, never its credentials.
#[derive(Clone)]
pub enum MailConfig {
    /// An SMTP server, as a lettre URL (`smtp://`, `smtps://`, credentials inside).
    Smtp(SecretString),
    /// `.eml` files in a folder, for running without a mail server.
    Outbox(PathBuf),
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl MailConfig {
    /// A log-safe description: the SMTP host without credentials, or the outbox folder.
    pub fn describe(&self) -> String {
        match self {
            MailConfig::Smtp(raw) => {
                let url = url::Url::parse(raw.expose_secret()).ok();
                let host = url.as_ref().and_then(|u| u.host_str()).unwrap_or("?");
                let port = url.as_ref().and_then(|u| u.port()).map(|p| format!(":{p}"));
                format!("smtp ({host}{})", port.unwrap_or_default())
            }
            MailConfig::Outbox(dir) => format!("outbox ({})", dir.display()),
        }
    }
}

/// Why an email did not leave.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message could not be assembled (an address lettre refuses).
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// The recipient is not an address lettre accepts.
    #[error("recipient: {0}")]
    Address(#[from] lettre::address::AddressError),
    /// The SMTP URL is not one lettre understands.
    #[error("smtp settings: {0}")]
    Settings(lettre::transport::smtp::Error),
    /// The SMTP server could not be reached or refused the message.
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The outbox folder could not be written.
    #[error("writing {0}: {1}")]
    Outbox(PathBuf, std::io::Error),
    /// The outbox folder could not be created.
    #[error("creating outbox {0}: {1}")]
    OutboxDir(PathBuf, std::io::Error),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// Sends listo's emails.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    /// Prepares the transport the configuration names; the outbox folder is created here.
    pub fn new(config: &MailConfig, from: Mailbox) -> Result<Self, MailError> {
        let transport = match config {
            MailConfig::Smtp(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(MailError::Settings)?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            MailConfig::Outbox(dir) => {
                crate::durable::create_dir_all_durable(dir)
                    .map_err(|e| MailError::OutboxDir(dir.clone(), e))?;
                Transport::Outbox(dir.clone())
            }
        };
        Ok(Self { transport, from })
    }

    /// Emails a code; returns only once the server (or the outbox file) has the message.
    pub async fn send_code(
        &self,
        purpose: CodePurpose,
        to: &Email,
        code: &OtpCode,
        valid_for: Duration,
    ) -> Result<(), MailError> {
        let minutes = valid_for.as_secs().div_ceil(60).max(1);
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        let code = code.expose();
        let (subject, body) = match purpose {
            CodePurpose::SignIn => (
                format!("Your listo sign-in code (valid {minutes} {unit})"),
                format!(
                    "Your listo sign-in code is {code}\n\n\
                     It is valid for {minutes} {unit} and works once.\n\
                     Enter it where you signed in.\n\n\
                     If you did not try to sign in, someone knows your password:\n\
                     change it.\n"
                ),
            ),
            CodePurpose::PasswordReset => (
                format!("Your listo password reset code (valid {minutes} {unit})"),
                format!(
                    "Your listo password reset code is {code}\n\n\
                     It is valid for {minutes} {unit} and works once.\n\
                     Enter it with your new password where you asked to reset it.\n\
                     Resetting signs you out everywhere.\n\n\
                     If you did not ask to reset your password, ignore this email:\n\
                     your password stays as it is.\n"
                ),
            ),
        };
        let to_box = Mailbox::new(None, to.as_str().parse()?);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to_box)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        let what = purpose.describe();
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
                tracing::info!("{what} emailed over smtp");
            }
            Transport::Outbox(dir) => {
                let mut id = [0u8; 16];
                rand::Rng::fill_bytes(&mut rand::rng(), &mut id);
                let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
                let file = dir.join(format!("{id}.eml"));
                write_whole(&file, &message.formatted()).await?;
                tracing::info!(file = %file.display(), "{what} written to the outbox (no LISTO_SMTP_URL set)");
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to `file` under a hidden name first, then renames it into place: whoever
/// watches the outbox (a reset's email now follows its answer) never reads half a message.
/// The file is fsynced before the rename and the folder after it, so a message the queue
/// counts as sent is still there after a power cut.
async fn write_whole(file: &Path, bytes: &[u8]) -> Result<(), MailError> {
    let (file, bytes) = (file.to_owned(), bytes.to_vec());
    let outcome = tokio::task::spawn_blocking({
        let file = file.clone();
        move || write_whole_blocking(&file, &bytes)
    })
    .await;
    outcome
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
        .map_err(|e| MailError::Outbox(file, e))
}

fn write_whole_blocking(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let partial = file.with_file_name(format!(".{name}.partial"));
    let mut out = std::fs::File::create(&partial)?;
    out.write_all(bytes)?;
    out.sync_all()?;
    drop(out);
    std::fs::rename(&partial, file)?;
    crate::durable::sync_dir(crate::durable::parent_or_current(file))
}

/// What an emailed code is for; each says so in its subject and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// The second step of a login.
    SignIn,
    /// Setting a new password without the old one.
    PasswordReset,
}

impl CodePurpose {
    fn describe(self) -> &'static str {
        match self {
            CodePurpose::SignIn => "sign-in code",
            CodePurpose::PasswordReset => "password reset code",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_is_created_with_its_folders_and_a_message_lands_whole() {
        let root = tempfile::tempdir().unwrap();
        let outbox = root.path().join("a").join("outbox");
        let from: Mailbox = "listo <listo@example.com>".parse().unwrap();
        Mailer::new(&MailConfig::Outbox(outbox.clone()), from).unwrap();
        assert!(outbox.is_dir());

        let file = outbox.join("m.eml");
        write_whole(&file, b"whole message").await.unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"whole message");
        let names: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["m.eml"], "nothing half-written left");
    }

    #[tokio::test]
    async fn a_message_that_cannot_be_written_names_its_file() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("missing").join("m.eml");
        let e = write_whole(&file, b"x").await.unwrap_err();
        assert!(matches!(&e, MailError::Outbox(p, _) if *p == file), "{e}");
    }
}
