//! Reading the mail the app sends, and a real SMTP server (embedded in the test binary) to
//! send it to.

/// A delivered email: recipient, and the decoded text body.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub body: String,
    pub message_id: String,
}

/// A real SMTP server inside the test binary (`mailin-embedded`), keeping what it receives in
/// memory. It runs on its own thread until the test binary exits; nothing needs installing.
pub struct SmtpServer {
    received: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

/// The server's side of one SMTP session: it collects the message and files it when the DATA
/// command ends.
#[derive(Clone)]
struct Collector {
    received: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    current: Vec<u8>,
}

impl mailin_embedded::Handler for Collector {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> mailin_embedded::Response {
        self.current.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let message = std::mem::take(&mut self.current);
        self.received.lock().unwrap().push(message);
        mailin_embedded::response::OK
    }
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

    /// Starts the server on `port`; it accepts connections as soon as this returns.
    pub fn start(port: u16) -> SmtpServer {
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("cannot listen for SMTP on port {port}: {e}"));
        let mut server = mailin_embedded::Server::new(Collector {
            received: received.clone(),
            current: Vec::new(),
        });
        server
            .with_name("smtp.dtspp.test")
            .with_ssl(mailin_embedded::SslConfig::None)
            .expect("plain SMTP")
            .with_num_threads(4)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            if let Err(e) = server.serve() {
                eprintln!("the test SMTP server stopped: {e}");
            }
        });
        SmtpServer { received }
    }

    /// The messages received so far.
    pub fn mail(&self) -> Vec<Mail> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|raw| parse_mail(&String::from_utf8_lossy(raw)))
            .collect()
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
