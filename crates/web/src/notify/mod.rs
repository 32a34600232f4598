//! Delivery of messages to citizens (PINs, receipts) behind one [`Notifier`] trait, with adapters for a JSON-lines
//! mailbox file or the console ([`file`]), SMTP ([`smtp`]), an SMS gateway's webhook ([`webhook`]) and letters to
//! print and post ([`letter`]), and a [`Notifiers`] router that picks one by channel.
//!
//! Message bodies carry PINs, and configurations carry passwords and tokens: none of them reaches a log. `Debug`
//! impls are redacted, and the router logs only the channel, a masked recipient and the outcome.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub mod file;
pub mod letter;
pub mod smtp;
pub mod webhook;

pub use file::FileNotifier;
pub use letter::LetterNotifier;
pub use smtp::{SmtpConfig, SmtpNotifier, SmtpTls};
pub use webhook::{WebhookConfig, WebhookNotifier};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// By e-mail, to an address.
    Email,
    /// By text message, to a phone number.
    Sms,
    /// Printed on the server's console (demo and development only).
    Console,
    /// By post, to a postal address of 2 to 6 lines separated by `\n`.
    Letter,
}

impl Channel {
    /// The channel's name as the outbox stores it: `email`, `sms`, `console` or `letter`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Console => "console",
            Channel::Letter => "letter",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = NotifyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "email" => Ok(Channel::Email),
            "sms" => Ok(Channel::Sms),
            "console" => Ok(Channel::Console),
            "letter" => Ok(Channel::Letter),
            other => Err(NotifyError::UnknownChannel(other.to_owned())),
        }
    }
}

/// A message to deliver. Its `Debug` shows the channel, a masked recipient and the subject, never the body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// How it travels.
    pub channel: Channel,
    /// An e-mail address, a phone number, a postal address (lines separated by `\n`), or a label for the console.
    #[serde(rename = "to")]
    pub recipient: String,
    /// The subject line (e-mail); it must carry no secret.
    pub subject: String,
    /// The text, which may carry half a PIN.
    pub body: String,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("channel", &self.channel)
            .field("recipient", &mask_recipient(&self.recipient))
            .field("subject", &self.subject)
            .field("body", &"<redacted>")
            .finish()
    }
}

/// Why a message was not delivered. No variant carries a body, a password or a token.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The outbox named a channel Sportello does not know.
    #[error("unknown channel '{0}': expected email, sms, console or letter")]
    UnknownChannel(String),
    /// Nothing is configured to deliver on this channel.
    #[error("{}", no_route(*.0))]
    NoRoute(Channel),
    /// The recipient cannot be delivered to on this channel.
    #[error("the recipient {recipient} is not valid for this channel: {reason}")]
    InvalidRecipient {
        /// The recipient, masked.
        recipient: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A notifier's configuration is unusable.
    #[error("invalid notifier configuration: {0}")]
    Config(String),
    /// The mailbox file could not be written or read.
    #[error("mailbox file {path}: {source}")]
    Mailbox {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of the mailbox file is not a message.
    #[error("mailbox file {path}, line {line}: {reason}")]
    MailboxLine {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A letter could not be written into the letters folder.
    #[error("letters folder {path}: {source}")]
    Letters {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The e-mail could not be built.
    #[error("could not build the e-mail: {0}")]
    Email(String),
    /// The SMTP server could not be reached or refused the message.
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
    /// The SMS gateway could not be reached.
    #[error("could not reach the SMS gateway: {0}")]
    Http(String),
    /// The SMS gateway answered with a status other than 2xx.
    #[error("the SMS gateway answered HTTP {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
}

impl NotifyError {
    /// Whether trying again later cannot help (a bad recipient, a channel nobody serves, a client error from the
    /// gateway other than 408 and 429); the outbox then waits as long as it ever does before the next attempt.
    pub fn is_permanent(&self) -> bool {
        match self {
            NotifyError::UnknownChannel(_)
            | NotifyError::NoRoute(_)
            | NotifyError::InvalidRecipient { .. }
            | NotifyError::Config(_)
            | NotifyError::Email(_) => true,
            NotifyError::Status { status } => (400..500).contains(status) && *status != 408 && *status != 429,
            NotifyError::Mailbox { .. }
            | NotifyError::MailboxLine { .. }
            | NotifyError::Letters { .. }
            | NotifyError::Smtp(_)
            | NotifyError::Http(_) => false,
        }
    }
}

/// What to do when nothing delivers on `channel`: letters are never sent to the mailbox, which is not posted.
fn no_route(channel: Channel) -> String {
    match channel {
        Channel::Letter => "no notifier is configured for the letter channel: set [notify] letters_dir to the folder \
                            the letters are printed from"
            .to_owned(),
        other => {
            format!(
                "no notifier is configured for the {other} channel: configure one, or a mailbox file as the fallback"
            )
        }
    }
}

/// Something that delivers messages.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers one message, or says why it could not.
    async fn send(&self, message: &Message) -> Result<(), NotifyError>;
}

#[async_trait]
impl<N: Notifier + ?Sized> Notifier for Arc<N> {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        (**self).send(message).await
    }
}

/// A recipient fit for logs: `m***@example.it` for an address, `***4567` for a phone number, `***` otherwise
/// (a postal address among them: its postal code and house number are not a phone number's digits).
pub fn mask_recipient(recipient: &str) -> String {
    let recipient = recipient.trim();
    if recipient.contains(['\n', '\r']) {
        return "***".to_owned();
    }
    if let Some((local, domain)) = recipient.rsplit_once('@') {
        return match local.chars().next() {
            Some(first) => format!("{first}***@{domain}"),
            None => format!("***@{domain}"),
        };
    }
    let digits: Vec<char> = recipient.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 8 {
        let last: String = digits[digits.len() - 4..].iter().collect();
        format!("***{last}")
    } else {
        "***".to_owned()
    }
}

/// Where each channel goes, read from the configuration (e.g. the `[notify]` table).
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// A JSON-lines file every message without a configured adapter is appended to (the demo's mailbox).
    pub mailbox: Option<PathBuf>,
    /// Whether such messages are also printed on the console.
    pub console: bool,
    /// The SMTP server for e-mail; without one, e-mail goes to the mailbox.
    pub smtp: Option<SmtpConfig>,
    /// The SMS gateway; without one, text messages go to the mailbox.
    pub webhook: Option<WebhookConfig>,
    /// The folder letters are written into as PDFs, for printing and posting; without one, letters stay in the
    /// outbox (the mailbox is no fallback: nobody posts it).
    pub letters_dir: Option<PathBuf>,
}

impl fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("mailbox", &self.mailbox)
            .field("console", &self.console)
            .field("smtp", &self.smtp)
            .field("webhook", &self.webhook)
            .field("letters_dir", &self.letters_dir)
            .finish()
    }
}

/// Routes each message to the notifier of its channel and logs the outcome without the body.
#[derive(Clone, Default)]
pub struct Notifiers {
    email: Option<Arc<dyn Notifier>>,
    sms: Option<Arc<dyn Notifier>>,
    console: Option<Arc<dyn Notifier>>,
    letter: Option<Arc<dyn Notifier>>,
}

impl Notifiers {
    /// A router with no route: every message fails with [`NotifyError::NoRoute`] until one is added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every channel goes to `notifier`.
    pub fn all_to(notifier: Arc<dyn Notifier>) -> Self {
        Notifiers {
            email: Some(Arc::clone(&notifier)),
            sms: Some(Arc::clone(&notifier)),
            console: Some(Arc::clone(&notifier)),
            letter: Some(notifier),
        }
    }

    /// E-mail goes to `notifier`.
    pub fn with_email(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.email = Some(notifier);
        self
    }

    /// Text messages go to `notifier`.
    pub fn with_sms(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.sms = Some(notifier);
        self
    }

    /// Console messages go to `notifier`.
    pub fn with_console(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.console = Some(notifier);
        self
    }

    /// Letters go to `notifier`.
    pub fn with_letter(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.letter = Some(notifier);
        self
    }

    /// Builds the routes a configuration describes: e-mail by SMTP, else to the mailbox; text messages by the
    /// webhook, else to the mailbox; console messages to the console (and the mailbox, if any); letters into the
    /// letters folder, else nowhere (they wait in the outbox).
    ///
    /// The SMTP transport keeps a connection pool whose housekeeping runs on tokio: call this inside a runtime.
    pub fn from_config(config: &NotifyConfig) -> Result<Self, NotifyError> {
        let fallback: Option<Arc<dyn Notifier>> = if config.mailbox.is_some() || config.console {
            Some(Arc::new(FileNotifier::new(config.mailbox.clone(), config.console)))
        } else {
            None
        };
        let email: Option<Arc<dyn Notifier>> = match &config.smtp {
            Some(smtp) => Some(Arc::new(SmtpNotifier::new(smtp)?)),
            None => fallback.clone(),
        };
        let sms: Option<Arc<dyn Notifier>> = match &config.webhook {
            Some(webhook) => Some(Arc::new(WebhookNotifier::new(webhook)?)),
            None => fallback.clone(),
        };
        let console: Arc<dyn Notifier> = Arc::new(FileNotifier::new(config.mailbox.clone(), true));
        let letter = config.letters_dir.as_ref().map(|dir| Arc::new(LetterNotifier::new(dir)) as Arc<dyn Notifier>);
        if letter.is_none() {
            tracing::warn!(
                "no [notify] letters_dir is configured: the second half of a PIN for a person with no contact on \
                 file cannot be posted, and waits in the outbox"
            );
        }
        Ok(Notifiers { email, sms, console: Some(console), letter })
    }

    fn route(&self, channel: Channel) -> Option<&Arc<dyn Notifier>> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
            Channel::Console => self.console.as_ref(),
            Channel::Letter => self.letter.as_ref(),
        }
    }
}

#[async_trait]
impl Notifier for Notifiers {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        let to = mask_recipient(&message.recipient);
        let outcome = match self.route(message.channel) {
            Some(notifier) => notifier.send(message).await,
            None => Err(NotifyError::NoRoute(message.channel)),
        };
        match &outcome {
            Ok(()) => tracing::info!(channel = %message.channel, %to, "message delivered"),
            Err(error) => tracing::warn!(channel = %message.channel, %to, %error, "message not delivered"),
        }
        outcome
    }
}

impl fmt::Debug for Notifiers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifiers")
            .field("email", &self.email.is_some())
            .field("sms", &self.sms.is_some())
            .field("console", &self.console.is_some())
            .field("letter", &self.letter.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn recipients_are_masked_for_logs() {
        let cases = [
            ("an e-mail address", "mario.rossi@example.it", "m***@example.it"),
            ("an address with an empty local part", "@example.it", "***@example.it"),
            ("an Italian mobile number", "+39 333 123 4567", "***4567"),
            ("a short number", "12345", "***"),
            ("a console label", "console", "***"),
            (
                "a postal address, whose postal code and number are no phone",
                "Mario Rossi\nVia Appia Nuova 1234\n00183 Roma RM",
                "***",
            ),
            ("an address on two lines", "Anna Bianchi\n20121 Milano MI", "***"),
        ];
        for (situation, recipient, masked) in cases {
            assert_eq!(mask_recipient(recipient), masked, "{situation}");
        }
    }

    #[test]
    fn channels_read_back_from_their_names() {
        for channel in [Channel::Email, Channel::Sms, Channel::Console, Channel::Letter] {
            assert_eq!(channel.as_str().parse::<Channel>().unwrap(), channel);
        }
        assert!(matches!("fax".parse::<Channel>(), Err(NotifyError::UnknownChannel(name)) if name == "fax"));
    }

    #[test]
    fn a_message_debug_hides_body_and_recipient() {
        let message = Message {
            channel: Channel::Email,
            recipient: "mario.rossi@example.it".into(),
            subject: "Il suo PIN INPS".into(),
            body: "La prima metà del suo PIN è ABCD2345".into(),
        };
        let printed = format!("{message:?}");
        assert!(!printed.contains("ABCD2345"), "{printed}");
        assert!(!printed.contains("mario.rossi"), "{printed}");
        assert!(printed.contains("m***@example.it"), "{printed}");
    }

    /// Records the channels of the messages it is given.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(&'static str, Channel)>>, &'static str);

    #[async_trait]
    impl Notifier for Recorder {
        async fn send(&self, message: &Message) -> Result<(), NotifyError> {
            self.0.lock().unwrap().push((self.1, message.channel));
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_router_picks_the_notifier_of_each_channel() {
        let email = Arc::new(Recorder(Mutex::default(), "smtp"));
        let sms = Arc::new(Recorder(Mutex::default(), "webhook"));
        let router = Notifiers::new().with_email(email.clone()).with_sms(sms.clone());
        let message = |channel| Message {
            channel,
            recipient: "x@example.it".into(),
            subject: String::new(),
            body: String::new(),
        };
        router.send(&message(Channel::Email)).await.unwrap();
        router.send(&message(Channel::Sms)).await.unwrap();
        let unrouted = router.send(&message(Channel::Console)).await;
        assert!(matches!(unrouted, Err(NotifyError::NoRoute(Channel::Console))), "{unrouted:?}");
        assert_eq!(*email.0.lock().unwrap(), [("smtp", Channel::Email)]);
        assert_eq!(*sms.0.lock().unwrap(), [("webhook", Channel::Sms)]);
    }

    #[tokio::test]
    async fn without_smtp_or_webhook_everything_goes_to_the_mailbox() {
        let dir = tempfile::tempdir().unwrap();
        let mailbox = dir.path().join("mailbox.jsonl");
        let router =
            Notifiers::from_config(&NotifyConfig { mailbox: Some(mailbox.clone()), ..NotifyConfig::default() })
                .unwrap();
        for channel in [Channel::Email, Channel::Sms] {
            router
                .send(&Message {
                    channel,
                    recipient: "+393331234567".into(),
                    subject: "PIN".into(),
                    body: "ABCD2345".into(),
                })
                .await
                .unwrap();
        }
        let delivered = FileNotifier::read_mailbox(&mailbox).unwrap();
        let channels: Vec<Channel> = delivered.iter().map(|m| m.channel).collect();
        assert_eq!(channels, [Channel::Email, Channel::Sms]);
    }

    #[tokio::test]
    async fn letters_go_to_the_letters_folder_and_never_to_the_mailbox() {
        let dir = tempfile::tempdir().unwrap();
        let mailbox = dir.path().join("mailbox.jsonl");
        let letter = Message {
            channel: Channel::Letter,
            recipient: "Mario Rossi\nVia Appia Nuova 12\n00183 Roma RM".into(),
            subject: "PIN INPS: seconda parte".into(),
            body: "EFGH6789".into(),
        };
        let without = Notifiers::from_config(&NotifyConfig {
            mailbox: Some(mailbox.clone()),
            console: true,
            ..NotifyConfig::default()
        })
        .unwrap();
        let error = without.send(&letter).await.unwrap_err();
        assert!(matches!(error, NotifyError::NoRoute(Channel::Letter)), "{error}");
        assert!(error.to_string().contains("set [notify] letters_dir"), "{error}");
        assert!(FileNotifier::read_mailbox(&mailbox).unwrap().is_empty(), "a letter in the mailbox is never posted");

        let letters = dir.path().join("letters");
        let with = Notifiers::from_config(&NotifyConfig {
            mailbox: Some(mailbox.clone()),
            letters_dir: Some(letters.clone()),
            ..NotifyConfig::default()
        })
        .unwrap();
        with.send(&letter).await.unwrap();
        assert_eq!(std::fs::read_dir(&letters).unwrap().count(), 1);
        assert!(FileNotifier::read_mailbox(&mailbox).unwrap().is_empty());
    }

    #[test]
    fn configurations_never_print_secrets() {
        let config: NotifyConfig = serde_json::from_value(serde_json::json!({
            "smtp": { "host": "smtp.example.it", "tls": "starttls", "username": "portale",
                      "password": "s3greto-smtp", "from": "Sportello <noreply@example.it>" },
            "webhook": { "url": "https://sms.example.it/send?key=chiave-in-url", "token": "s3greto-webhook" },
        }))
        .unwrap();
        let printed = format!("{config:?}");
        for secret in ["s3greto-smtp", "s3greto-webhook", "chiave-in-url"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
