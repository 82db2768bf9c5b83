//! The harness: a real server on port 0 over a throwaway database, and a client for it.

use std::sync::Once;

mod accounts;
mod mail;

pub use accounts::{PASSWORD, sme_form, unique_br, vendor_form};
pub use mail::{Mail, SmtpServer, read_mail};

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
    /// The settings the app runs with (its JWT secret mints tokens for bulk test accounts).
    pub settings: Settings,
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

    /// A second instance of the application over the same database, as another replica would
    /// run; it stops when dropped.
    pub fn sibling(&self) -> Sibling {
        let settings = self.settings.clone();
        let db = Db::open_with(
            &settings.database,
            settings.db_pool_size,
            settings.db_acquire_timeout,
        )
        .expect("open the pool");
        let app = Application::build(&settings, db).expect("build the sibling");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Sibling { address, handle }
    }

    /// An access token for `user_id` with `role`, minted with the app's own secret (for bulk
    /// accounts that have no password).
    pub fn token_for(&self, user_id: &str, role: dtspp::auth::Role) -> String {
        use secrecy::ExposeSecret;
        dtspp::auth::jwt::AccessTokens::new(self.settings.jwt_secret.expose_secret().as_bytes(), 60)
            .issue(user_id, role)
            .expect("a token")
    }

    /// A blocking connection to the app's database, for assertions and setup.
    pub fn conn(&self) -> dtspp::db::DbPooledConnection {
        self.db.connection().expect("a database connection")
    }
}

/// Another instance of an app, sharing its database.
pub struct Sibling {
    pub address: String,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Sibling {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
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
        // Tests run the risk scan themselves (POST /admin/risk/scan), when they mean to.
        ("DTSPP_RISK_SCAN_SECS", "0".to_owned()),
        // Likewise the event reminders (dtspp::events::reminders::queue_due).
        ("DTSPP_EVENT_REMINDER_SECS", "0".to_owned()),
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
    let db = Db::open_with(
        &settings.database,
        settings.db_pool_size,
        settings.db_acquire_timeout,
    )
    .expect("open the pool");
    dtspp::startup::migrate(&db)
        .await
        .expect("migrate the test database");
    start(settings, db, database, mail_dir)
}

/// Starts the application over `database` exactly as given: no migrations, no checks, so
/// that tests can point it at a database that is missing or unreachable.
pub fn spawn_app_unmigrated(database: TestDatabase) -> TestApp {
    spawn_app_unmigrated_with(database, &[])
}

/// Like [`spawn_app_unmigrated`], with some settings overridden (by environment variable name).
pub fn spawn_app_unmigrated_with(database: TestDatabase, overrides: &[(&str, &str)]) -> TestApp {
    let mail_dir = tempfile::tempdir().expect("a mail directory");
    let settings = test_settings(database.url(), mail_dir.path(), overrides);
    let db = Db::open_with(
        &settings.database,
        settings.db_pool_size,
        settings.db_acquire_timeout,
    )
    .expect("open the pool");
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
        settings,
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
