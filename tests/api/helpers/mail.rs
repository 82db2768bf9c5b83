//! Reading the mail the app sends, and a real SMTP server (embedded in the test binary) to
//! send it to.

/// A delivered email: recipient, the decoded text body, and any attachments.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub body: String,
    pub message_id: String,
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to an email, decoded.
#[derive(Debug, Clone)]
pub struct MailAttachment {
    pub name: String,
    pub content_type: String,
    pub body: String,
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

/// A decoded part's body by its `Content-Transfer-Encoding`.
fn decode(encoding: &str, body: &str) -> Vec<u8> {
    use base64::Engine;
    match encoding.to_ascii_lowercase().as_str() {
        "base64" => {
            let encoded: String = body.lines().map(str::trim).collect();
            base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .expect("a base64 body")
        }
        "quoted-printable" => {
            let joined = body.replace("=\n", "");
            let bytes = joined.as_bytes();
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'=' && i + 2 < bytes.len() {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
                    out.push(u8::from_str_radix(hex, 16).expect("a quoted-printable escape"));
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            out
        }
        _ => body.trim_end_matches('\n').as_bytes().to_vec(),
    }
}

/// A part's (or message's) headers, unfolded, and its body.
fn split_part(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(": ") {
            headers.push((name.to_ascii_lowercase(), value.to_owned()));
        }
    }
    (headers, body)
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Parses one RFC 5322 message as lettre writes it: a base64 text body, or a multipart/mixed
/// message of one such body and attachments.
pub fn parse_mail(raw: &str) -> Mail {
    let raw = raw.replace("\r\n", "\n");
    let (headers, body) = split_part(&raw);
    let content_type = header(&headers, "content-type");
    let mut text = None;
    let mut attachments = Vec::new();
    if let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
    {
        for part in body.split(&format!("--{boundary}")).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let (part_headers, part_body) = split_part(part.trim_start_matches('\n'));
            let decoded = decode(
                header(&part_headers, "content-transfer-encoding"),
                part_body,
            );
            let disposition = header(&part_headers, "content-disposition");
            if disposition.starts_with("attachment") {
                let name = disposition
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("filename="))
                    .map(|n| n.trim_matches('"').to_owned())
                    .unwrap_or_default();
                attachments.push(MailAttachment {
                    name,
                    content_type: header(&part_headers, "content-type").to_owned(),
                    body: String::from_utf8(decoded).expect("a UTF-8 attachment"),
                });
            } else if text.is_none() {
                text = Some(String::from_utf8(decoded).expect("a UTF-8 body"));
            }
        }
    } else {
        let decoded = decode(header(&headers, "content-transfer-encoding"), body);
        text = Some(String::from_utf8(decoded).expect("a UTF-8 body"));
    }
    Mail {
        to: header(&headers, "to").to_owned(),
        body: text.expect("a text body"),
        message_id: header(&headers, "message-id").to_owned(),
        attachments,
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
