//! A real SMTP listener on loopback that keeps every message it receives.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub raw: String,
}

#[derive(Clone, Default)]
pub struct SmtpSink {
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    /// How many of the next messages to refuse (a failed send, as a full mailbox causes).
    refuse: Arc<std::sync::atomic::AtomicUsize>,
    arrived: Arc<Notify>,
    pub port: u16,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sink = SmtpSink { port: listener.local_addr().unwrap().port(), ..Default::default() };
        let s = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = s.session(stream).await;
                });
            }
        });
        sink
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (r, mut w) = stream.into_split();
        let mut lines = BufReader::new(r);
        w.write_all(b"220 sink ESMTP\r\n").await?;
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_ascii_uppercase();
            if cmd.starts_with("EHLO") {
                w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?;
            } else if cmd.starts_with("RCPT TO:") {
                to.push(line.trim_end()[8..].trim().trim_matches(|c| c == '<' || c == '>').to_string());
                w.write_all(b"250 ok\r\n").await?;
            } else if cmd == "DATA" && self.refusing() {
                to.clear();
                w.write_all(b"554 refused by the test\r\n").await?;
            } else if cmd == "DATA" {
                w.write_all(b"354 go on\r\n").await?;
                let mut raw = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    raw.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
                }
                self.mails.lock().unwrap().push(ReceivedMail { to: std::mem::take(&mut to), raw });
                self.arrived.notify_waiters();
                w.write_all(b"250 queued\r\n").await?;
            } else if cmd == "QUIT" {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                // HELO, MAIL FROM, RSET, NOOP
                w.write_all(b"250 ok\r\n").await?;
            }
        }
    }

    /// Refuse the next `n` messages.
    pub fn refuse_next(&self, n: usize) {
        self.refuse.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    fn refusing(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.refuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// The latest mail to `address`, waiting up to 10 s for one to arrive.
    pub async fn last_mail_to(&self, address: &str) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            if let Some(m) =
                self.mails.lock().unwrap().iter().rev().find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            {
                return m.clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no mail arrived for {address}");
            }
        }
    }

    pub fn count_to(&self, address: &str) -> usize {
        self.mails.lock().unwrap().iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address))).count()
    }
}

impl ReceivedMail {
    /// The message with quoted-printable soft breaks and escapes undone.
    pub fn decoded(&self) -> String {
        let raw = self.raw.replace("=\r\n", "").replace("=\n", "");
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit()
            {
                out.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The sign-in link's token.
    pub fn link_token(&self) -> String {
        let text = self.decoded();
        let at = text.find("/login/link?token=").expect("the mail has a sign-in link") + "/login/link?token=".len();
        text[at..at + 43].to_string()
    }

    /// The mail's Subject header.
    pub fn subject(&self) -> String {
        let text = self.decoded();
        let at = text.find("Subject: ").expect("the mail has a subject") + "Subject: ".len();
        text[at..].lines().next().unwrap_or("").to_string()
    }

    /// The 6-digit code, from the body (the first six digits after "this code").
    pub fn code(&self) -> String {
        let text = self.decoded();
        let body = &text[text.find("\r\n\r\n").or_else(|| text.find("\n\n")).expect("a mail has a body")..];
        let at = body.find("this code").expect("the body names the code");
        let digits: String =
            body[at..].chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit()).collect();
        assert_eq!(digits.len(), 6, "a 6-digit code in {body}");
        digits
    }
}
