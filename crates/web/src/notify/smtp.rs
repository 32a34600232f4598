//! E-mail by SMTP (lettre's async tokio transport, with a connection pool): a plain-text message from the
//! configured sender to the message's recipient.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use serde::Deserialize;

use super::{Message, Notifier, NotifyError, mask_recipient};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same host or network (and for tests).
    None,
    /// Plain text upgraded with STARTTLS, which is required: a server that does not offer it is refused.
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl SmtpTls {
    /// The usual port for this mode: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

/// Where and how to send e-mail. Its `Debug` never shows the password.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The server's host name (also the name its certificate must carry).
    pub host: String,
    /// The server's port; by default the usual one for `tls`.
    #[serde(default)]
    pub port: Option<u16>,
    /// How the connection is protected.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The user to authenticate as, if the server wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// That user's password.
    #[serde(default)]
    pub password: Option<String>,
    /// The sender, e.g. `Sportello INPS <noreply@example.it>`.
    pub from: String,
    /// How long one exchange with the server may take, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    10
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

/// Sends e-mail through an SMTP server.
#[derive(Clone)]
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// For `Debug`: where it sends.
    server: String,
}

impl SmtpNotifier {
    /// A notifier for the server `config` names. It must be built inside a tokio runtime, where the transport's
    /// connection pool does its housekeeping.
    pub fn new(config: &SmtpConfig) -> Result<Self, NotifyError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(NotifyError::Config("the SMTP notifier must be built inside a tokio runtime".into()));
        }
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| NotifyError::Config(format!("smtp.from '{}' is not an e-mail address: {e}", config.from)))?;
        let tls_parameters = || {
            TlsParameters::new(config.host.clone())
                .map_err(|e| NotifyError::Config(format!("TLS for SMTP host '{}': {e}", config.host)))
        };
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let port = config.port.unwrap_or(config.tls.default_port());
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_secs)));
        match (&config.username, &config.password) {
            (Some(username), Some(password)) => {
                builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
            }
            (None, None) => {}
            _ => return Err(NotifyError::Config("smtp.username and smtp.password go together".into())),
        }
        Ok(SmtpNotifier { transport: builder.build(), from, server: format!("{}:{port}", config.host) })
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        let to: Mailbox = message.recipient.parse().map_err(|e: lettre::address::AddressError| {
            NotifyError::InvalidRecipient { recipient: mask_recipient(&message.recipient), reason: e.to_string() }
        })?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| NotifyError::Email(e.to_string()))?;
        self.transport.send(email).await.map_err(|e| NotifyError::Smtp(e.to_string()))?;
        Ok(())
    }
}

impl fmt::Debug for SmtpNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpNotifier").field("server", &self.server).field("from", &self.from.to_string()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    use tokio::net::TcpListener;
    use tokio::sync::Mutex;

    use super::*;
    use crate::notify::Channel;

    /// What the test server received in one mail transaction.
    #[derive(Debug, Default, Clone)]
    struct Received {
        mail_from: String,
        rcpt_to: Vec<String>,
        data: String,
    }

    /// A tiny SMTP server on port 0 speaking just enough of RFC 5321 for lettre: it records each transaction.
    async fn smtp_server() -> (u16, Arc<Mutex<Vec<Received>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                let log = log.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read);
                    write.write_all(b"220 test.invalid ESMTP ready\r\n").await.unwrap();
                    let mut current = Received::default();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let command = line.trim_end().to_owned();
                        let verb = command.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250 test.invalid\r\n",
                            "MAIL" => {
                                current.mail_from = command;
                                b"250 OK\r\n"
                            }
                            "RCPT" => {
                                current.rcpt_to.push(command);
                                b"250 OK\r\n"
                            }
                            "DATA" => {
                                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await.unwrap();
                                let mut data = String::new();
                                while !data.ends_with("\r\n.\r\n") {
                                    if lines.read_line(&mut data).await.unwrap_or(0) == 0 {
                                        return;
                                    }
                                }
                                current.data = data;
                                log.lock().await.push(std::mem::take(&mut current));
                                b"250 OK queued\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 Bye\r\n").await;
                                return;
                            }
                            _ => b"250 OK\r\n",
                        };
                        write.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        (port, received)
    }

    fn config(port: u16) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(port),
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "Sportello INPS <noreply@sportello.example.it>".into(),
            timeout_secs: 5,
        }
    }

    fn pin_message(recipient: &str, pin: &str) -> Message {
        Message {
            channel: Channel::Email,
            recipient: recipient.into(),
            subject: "Il suo PIN INPS".into(),
            body: format!("Gentile utente,\r\nla prima parte del suo PIN e' {pin}.\r\n"),
        }
    }

    #[tokio::test]
    async fn an_email_reaches_the_smtp_server_with_recipient_and_body() {
        let (port, received) = smtp_server().await;
        let notifier = SmtpNotifier::new(&config(port)).unwrap();
        notifier.send(&pin_message("mario.rossi@example.it", "ABCD2345")).await.unwrap();
        notifier.send(&pin_message("anna.bianchi@example.it", "EFGH6789")).await.unwrap();

        let received = received.lock().await.clone();
        assert_eq!(received.len(), 2, "{received:?}");
        assert_eq!(received[0].mail_from, "MAIL FROM:<noreply@sportello.example.it>");
        assert_eq!(received[0].rcpt_to, ["RCPT TO:<mario.rossi@example.it>"]);
        assert!(received[0].data.contains("Subject: Il suo PIN INPS"), "{}", received[0].data);
        assert!(received[0].data.contains("la prima parte del suo PIN e' ABCD2345."), "{}", received[0].data);
        assert_eq!(received[1].rcpt_to, ["RCPT TO:<anna.bianchi@example.it>"]);
        assert!(received[1].data.contains("EFGH6789"));
    }

    #[tokio::test]
    async fn a_malformed_address_is_a_permanent_error_that_does_not_print_it() {
        let (port, received) = smtp_server().await;
        let notifier = SmtpNotifier::new(&config(port)).unwrap();
        let error = notifier.send(&pin_message("mario.rossi-at-example.it", "ABCD2345")).await.unwrap_err();
        assert!(matches!(error, NotifyError::InvalidRecipient { .. }), "{error}");
        assert!(error.is_permanent());
        assert!(!error.to_string().contains("rossi"), "{error}");
        assert!(received.lock().await.is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_transient_error() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let notifier = SmtpNotifier::new(&config(port)).unwrap();
        let error = notifier.send(&pin_message("mario.rossi@example.it", "ABCD2345")).await.unwrap_err();
        assert!(matches!(error, NotifyError::Smtp(_)), "{error}");
        assert!(!error.is_permanent());
    }

    #[test]
    fn a_configuration_is_refused_with_half_the_credentials_or_a_bad_sender() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _inside = runtime.enter();
        let mut half = config(2525);
        half.username = Some("portale".into());
        assert!(matches!(SmtpNotifier::new(&half), Err(NotifyError::Config(_))));
        let mut bad_sender = config(2525);
        bad_sender.from = "noreply".into();
        assert!(matches!(SmtpNotifier::new(&bad_sender), Err(NotifyError::Config(_))));
    }

    #[test]
    fn outside_a_runtime_the_notifier_is_refused_not_panicking() {
        assert!(matches!(SmtpNotifier::new(&config(2525)), Err(NotifyError::Config(_))));
    }

    #[test]
    fn the_password_is_never_printed() {
        let mut with_password = config(2525);
        with_password.username = Some("portale".into());
        with_password.password = Some("s3greto".into());
        assert!(!format!("{with_password:?}").contains("s3greto"));
    }
}
