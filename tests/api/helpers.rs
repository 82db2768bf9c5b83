//! The harness: a real server on port 0 over a throwaway database, and a client for it.

use std::sync::Once;

use diesel::{Connection, PgConnection, RunQueryDsl};
use dtspp::config::Settings;
use dtspp::db::{Backend, Db};
use dtspp::startup::Application;

/// Writes a test once and runs it on both backends, as `NAME::sqlite` and `NAME::postgres`.
///
/// ```ignore
/// test_on_both_backends! {
///     async fn healthz_answers(app) {
///         assert_eq!(app.get("/healthz").await.status(), 200);
///     }
/// }
/// ```
#[macro_export]
macro_rules! test_on_both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn scenario($app: $crate::helpers::TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                scenario($crate::helpers::spawn_app(dtspp::db::Backend::Sqlite).await).await
            }

            #[tokio::test]
            async fn postgres() {
                if $crate::helpers::postgres_enabled() {
                    scenario($crate::helpers::spawn_app(dtspp::db::Backend::Postgres).await).await
                }
            }
        }
    )*};
}

/// Whether the PostgreSQL half of the suite runs: yes when `TEST_DATABASE_URL` is set. When it
/// is not, the tests pass as skipped, except under `CI=true`, where they fail loudly.
pub fn postgres_enabled() -> bool {
    if std::env::var("TEST_DATABASE_URL").is_ok() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but TEST_DATABASE_URL is unset: the PostgreSQL tests must run in CI");
    }
    eprintln!("skipped: set TEST_DATABASE_URL=postgres://… to run the PostgreSQL tests");
    false
}

/// A throwaway database, removed when dropped.
pub enum TestDatabase {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    /// A database the test does not own (or that does not exist), left alone on drop.
    External { url: String },
}

impl TestDatabase {
    /// Creates an empty database on `backend`.
    pub fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("dtspp.db").display());
                TestDatabase::Sqlite { _dir: dir, url }
            }
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_DATABASE_URL")
                    .expect("TEST_DATABASE_URL must be set for PostgreSQL tests");
                let name = format!("dtspp_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"));
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .expect("create the test database");
                let url = with_database_name(&admin_url, &name);
                TestDatabase::Postgres {
                    admin_url,
                    name,
                    url,
                }
            }
        }
    }

    /// The database's URL, as `DATABASE_URL` would give it.
    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Sqlite { url, .. }
            | TestDatabase::Postgres { url, .. }
            | TestDatabase::External { url } => url,
        }
    }

    /// Drops a PostgreSQL database now, ending its connections (as an outage would).
    pub fn drop_now(&self) {
        if let TestDatabase::Postgres {
            admin_url, name, ..
        } = self
        {
            let mut admin =
                PgConnection::establish(admin_url).expect("connect to TEST_DATABASE_URL");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .expect("drop the test database");
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // The SQLite directory removes itself; a Postgres database is dropped by name.
        if let TestDatabase::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// Replaces the database name (the URL's path) of a PostgreSQL URL.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub backend: Backend,
    /// The outbox worker, for tests that drive delivery themselves.
    pub outbox: std::sync::Arc<dtspp::mail::OutboxWorker>,
    /// Where mail goes when the app has no SMTP server: one `.eml` file per message.
    pub mail_dir: tempfile::TempDir,
    handle: actix_web::dev::ServerHandle,
    // Dropped last: the server stops before its database goes.
    pub database: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command at once; the workers wind down while the database is dropped.
        drop(self.handle.stop(false));
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A blocking connection to the app's database, for assertions and setup.
    pub fn conn(&self) -> dtspp::db::DbPooledConnection {
        self.db.connection().expect("a database connection")
    }
}

fn init_test_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Logs are silent unless TEST_LOG names a filter, e.g. TEST_LOG=debug.
        if let Ok(filter) = std::env::var("TEST_LOG") {
            dtspp::telemetry::init(&filter, dtspp::config::LogFormat::Pretty);
        }
    });
}

/// Settings for a test app on `database_url`, listening on a free port, with mail written to
/// `mail_dir`, rate limits off and a fast outbox; `overrides` replace any of these.
pub fn test_settings(
    database_url: &str,
    mail_dir: &std::path::Path,
    overrides: &[(&str, &str)],
) -> Settings {
    let mut vars: std::collections::HashMap<String, String> = [
        ("DATABASE_URL", database_url.to_owned()),
        ("DTSPP_BIND", "127.0.0.1:0".to_owned()),
        ("DTSPP_DB_POOL_SIZE", "4".to_owned()),
        ("DTSPP_MAIL_DIR", mail_dir.display().to_string()),
        ("DTSPP_AUTH_RATE_LIMIT", "0".to_owned()),
        ("DTSPP_OUTBOX_POLL_MS", "50".to_owned()),
        ("DTSPP_PUBLIC_URL", "https://portal.dtspp.test".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (key, value) in overrides {
        vars.insert((*key).to_owned(), (*value).to_owned());
    }
    Settings::from_env(&move |var| vars.get(var).cloned()).expect("valid test settings")
}

/// Starts the real application on port 0 over a fresh, migrated database on `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Like [`spawn_app`], with some settings overridden (by environment variable name).
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let database = TestDatabase::create(backend);
    let mail_dir = tempfile::tempdir().expect("a mail directory");
    let settings = test_settings(database.url(), mail_dir.path(), overrides);
    let db = Db::open(&settings.database, settings.db_pool_size).expect("open the pool");
    dtspp::startup::migrate(&db)
        .await
        .expect("migrate the test database");
    start(settings, db, database, mail_dir)
}

/// Starts the application over `database` exactly as given: no migrations, no checks, so
/// that tests can point it at a database that is missing or unreachable.
pub fn spawn_app_unmigrated(database: TestDatabase) -> TestApp {
    let mail_dir = tempfile::tempdir().expect("a mail directory");
    let settings = test_settings(database.url(), mail_dir.path(), &[]);
    let db = Db::open(&settings.database, settings.db_pool_size).expect("open the pool");
    start(settings, db, database, mail_dir)
}

fn start(
    settings: Settings,
    db: Db,
    database: TestDatabase,
    mail_dir: tempfile::TempDir,
) -> TestApp {
    init_test_logging();
    let backend = settings.database.backend();
    let app = Application::build(&settings, db.clone()).expect("build the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let outbox = app.outbox();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        backend,
        outbox,
        mail_dir,
        handle,
        database,
    }
}

#[test]
fn database_name_is_replaced_in_postgres_urls() {
    assert_eq!(
        with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
        "postgres://postgres@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database_name("postgres://u:p@h/db?sslmode=disable", "t2"),
        "postgres://u:p@h/t2?sslmode=disable"
    );
    assert_eq!(
        with_database_name("postgres://h:5432", "t3"),
        "postgres://h:5432/t3"
    );
}

/// Request bodies and calls that many tests share.
impl TestApp {
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// Registers a vendor and returns the response body; panics unless 201.
    pub async fn register_vendor(&self, email: &str, br_number: &str) -> serde_json::Value {
        let res = self
            .post_json("/api/v1/vendors/register", &vendor_form(email, br_number))
            .await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        res.json().await.expect("a JSON body")
    }

    /// Registers an eligible SME and returns the response body; panics unless 201.
    pub async fn register_sme(&self, email: &str, br_number: &str) -> serde_json::Value {
        let res = self
            .post_json("/api/v1/smes/register", &sme_form(email, br_number))
            .await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        res.json().await.expect("a JSON body")
    }

    /// Logs in and returns the token pair; panics unless 200.
    pub async fn login(&self, email: &str, password: &str) -> serde_json::Value {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(
            res.status(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
        res.json().await.expect("a JSON body")
    }

    /// The access token of a fresh admin, created as `dtspp admin create` does.
    pub async fn admin_token(&self) -> String {
        let email = format!("admin-{}@dtspp.test", uuid::Uuid::new_v4().simple());
        dtspp::auth::accounts::create_admin(&self.db, &email, PASSWORD)
            .await
            .expect("create an admin");
        self.login(&email, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The access token of a fresh vendor.
    pub async fn vendor_token(&self) -> String {
        let email = format!("vendor-{}@dtspp.test", uuid::Uuid::new_v4().simple());
        self.register_vendor(&email, &unique_br()).await;
        self.login(&email, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The access token of a fresh SME.
    pub async fn sme_token(&self) -> String {
        let email = format!("sme-{}@dtspp.test", uuid::Uuid::new_v4().simple());
        self.register_sme(&email, &unique_br()).await;
        self.login(&email, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Delivers the outbox now and returns the mail written to the mail directory.
    pub async fn deliver_mail(&self) -> Vec<Mail> {
        self.outbox
            .deliver_due(dtspp::time::now())
            .await
            .expect("deliver the outbox");
        read_mail(self.mail_dir.path())
    }
}

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery staple";

/// A BR number no other test uses.
pub fn unique_br() -> String {
    format!("{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000)
}

pub fn vendor_form(email: &str, br_number: &str) -> serde_json::Value {
    serde_json::json!({
        "email": email,
        "password": PASSWORD,
        "company_name_en": "CloudPOS Solutions Limited",
        "company_name_zh": "雲端收銀方案有限公司",
        "br_number": br_number,
        "contact_name": "Chan Tai Man",
        "phone": "+852 2345 6789",
        "address": "Unit 1201, Cyberport 3, Pok Fu Lam",
        "net_equity_positive": true,
        "track_record": "POS systems for 120 restaurants since 2019."
    })
}

pub fn sme_form(email: &str, br_number: &str) -> serde_json::Value {
    serde_json::json!({
        "email": email,
        "password": PASSWORD,
        "business_name_en": "Lucky Tea House",
        "business_name_zh": "好運茶餐廳",
        "br_number": br_number,
        "sector": "food_and_beverage",
        "full_time_employees": 12,
        "district": "Wan Chai",
        "address": "G/F, 8 Spring Garden Lane, Wan Chai",
        "phone": "+852 2345 6789",
        "declarations": {"listed_company": false, "statutory_body": false, "government_subvented": false}
    })
}

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
