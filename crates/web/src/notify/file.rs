//! The demo's mailbox: each message appended as one JSON line to a file (tests read PINs back from it), and/or
//! printed on the console. Both deliberately show the body: use them only where no real citizen is served.

use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::Mutex;

use super::{Message, Notifier, NotifyError};

/// Appends messages to a JSON-lines file and/or prints them on standard output.
pub struct FileNotifier {
    path: Option<PathBuf>,
    console: bool,
    /// One writer at a time, so that lines never interleave.
    lock: Mutex<()>,
}

impl FileNotifier {
    /// A notifier writing to `path` (if any) and printing on the console if `console`.
    pub fn new(path: Option<PathBuf>, console: bool) -> Self {
        FileNotifier { path, console, lock: Mutex::new(()) }
    }

    /// A notifier appending to the mailbox file at `path`.
    pub fn mailbox(path: impl Into<PathBuf>) -> Self {
        Self::new(Some(path.into()), false)
    }

    /// A notifier printing on the console only.
    pub fn console() -> Self {
        Self::new(None, true)
    }

    /// Reads back every message of a mailbox file, oldest first (a missing file is an empty mailbox).
    pub fn read_mailbox(path: &Path) -> Result<Vec<Message>, NotifyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(NotifyError::Mailbox { path: path.to_owned(), source }),
        };
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                serde_json::from_str(line).map_err(|e| NotifyError::MailboxLine {
                    path: path.to_owned(),
                    line: index + 1,
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    async fn append(&self, path: &Path, line: &[u8]) -> Result<(), NotifyError> {
        let mailbox_error = |source| NotifyError::Mailbox { path: path.to_owned(), source };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await.map_err(mailbox_error)?;
        }
        let mut options = tokio::fs::OpenOptions::new();
        options.create(true).append(true);
        // The mailbox holds PINs: only its owner may read it.
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(path).await.map_err(mailbox_error)?;
        file.write_all(line).await.map_err(mailbox_error)?;
        file.flush().await.map_err(mailbox_error)
    }
}

#[async_trait]
impl Notifier for FileNotifier {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        let _guard = self.lock.lock().await;
        if let Some(path) = &self.path {
            let mut line = serde_json::to_vec(message)
                .map_err(|e| NotifyError::Mailbox { path: path.clone(), source: std::io::Error::other(e) })?;
            line.push(b'\n');
            self.append(path, &line).await?;
        }
        if self.console {
            println!(
                "── {} to {} ──\nSubject: {}\n\n{}\n",
                message.channel, message.recipient, message.subject, message.body
            );
        }
        Ok(())
    }
}

impl fmt::Debug for FileNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileNotifier").field("path", &self.path).field("console", &self.console).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Channel;

    fn message(recipient: &str, body: &str) -> Message {
        Message {
            channel: Channel::Email,
            recipient: recipient.into(),
            subject: "Il suo PIN INPS".into(),
            body: body.into(),
        }
    }

    #[tokio::test]
    async fn messages_are_appended_as_json_lines_in_a_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo").join("mailbox.jsonl");
        let notifier = FileNotifier::mailbox(&path);
        let first = message("mario.rossi@example.it", "Prima metà del PIN: ABCD2345\nSeconda riga");
        let second = message("anna.bianchi@example.it", "Prima metà del PIN: EFGH6789");
        notifier.send(&first).await.unwrap();
        notifier.send(&second).await.unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "one line per message: {text}");
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["channel"], "email");
        assert_eq!(line["to"], "mario.rossi@example.it");
        assert_eq!(FileNotifier::read_mailbox(&path).unwrap(), [first, second]);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn only_the_owner_may_read_the_mailbox() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mailbox.jsonl");
        FileNotifier::mailbox(&path).send(&message("a@example.it", "x")).await.unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o077, 0);
    }

    #[tokio::test]
    async fn concurrent_messages_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mailbox.jsonl");
        let notifier = std::sync::Arc::new(FileNotifier::mailbox(&path));
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let notifier = notifier.clone();
                tokio::spawn(async move {
                    notifier.send(&message(&format!("p{i}@example.it"), &"x".repeat(10_000))).await.unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(FileNotifier::read_mailbox(&path).unwrap().len(), 50);
    }

    #[test]
    fn a_missing_mailbox_is_empty_and_a_corrupt_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mailbox.jsonl");
        assert!(FileNotifier::read_mailbox(&path).unwrap().is_empty());
        std::fs::write(&path, "{\"channel\":\"sms\",\"to\":\"1\",\"subject\":\"\",\"body\":\"\"}\nnot json\n").unwrap();
        let error = FileNotifier::read_mailbox(&path).unwrap_err();
        assert!(matches!(error, NotifyError::MailboxLine { line: 2, .. }), "{error}");
    }
}
