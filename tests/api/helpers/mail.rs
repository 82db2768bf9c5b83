//! Reading the mail the app sends, and a real SMTP server to send it to.

/// A delivered email: recipient, and the decoded text body.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub body: String,
    pub message_id: String,
}

/// A real SMTP server (aiosmtpd, from PyPI) writing a Maildir, stopped when dropped.
pub struct SmtpServer {
    child: std::process::Child,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    /// A port nothing listens on now.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Starts aiosmtpd on `port` and waits until it accepts connections.
    pub fn start(port: u16) -> SmtpServer {
        let maildir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            // aiosmtpd's Mailbox creates a Maildir only where no directory exists yet.
            .arg(maildir.path().join("maildir"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 must be installed, with aiosmtpd (pip install aiosmtpd)");
        let server = SmtpServer { child, maildir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start on port {port}; is it installed (pip install aiosmtpd)?"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }

    /// The messages received so far.
    pub fn mail(&self) -> Vec<Mail> {
        read_mail(&self.maildir.path().join("maildir"))
    }

    /// Waits up to `seconds` for at least `count` messages, and returns them all.
    pub async fn wait_for(&self, count: usize, seconds: u64) -> Vec<Mail> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            let mail = self.mail();
            if mail.len() >= count || std::time::Instant::now() >= deadline {
                return mail;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Mail {
    /// The token in the first link of the body (`…?token=…`).
    pub fn link_token(&self) -> String {
        let start = self.body.find("token=").expect("a link with a token") + "token=".len();
        self.body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

/// Parses one RFC 5322 message as lettre writes it (a base64 text body).
pub fn parse_mail(raw: &str) -> Mail {
    use base64::Engine;
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").expect("headers and a body");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
            .unwrap_or_default()
    };
    let encoded: String = body.lines().map(str::trim).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_bytes())
        .expect("a base64 body");
    Mail {
        to: header("To"),
        body: String::from_utf8(decoded).expect("a UTF-8 body"),
        message_id: header("Message-ID"),
    }
}

/// Every message in `dir`: its `.eml` files, or every file of a Maildir's `new/` under it.
pub fn read_mail(dir: &std::path::Path) -> Vec<Mail> {
    let maildir_new = dir.join("new");
    let (dir, maildir) = if maildir_new.is_dir() {
        (maildir_new, true)
    } else {
        (dir.to_path_buf(), false)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && (maildir || p.extension().is_some_and(|e| e == "eml")))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| parse_mail(&std::fs::read_to_string(p).expect("readable mail")))
        .collect()
}
