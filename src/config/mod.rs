//! Layered configuration: built-in defaults, then an optional `dtspp.toml`, then environment
//! variables. Every value is parsed and checked once, here, and an invalid one stops start-up
//! with one line naming the variable (or file key) at fault. Secrets never reach a log.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};

use crate::client_ip::TrustedProxies;
use crate::db::DatabaseTarget;

mod parse;
#[cfg(test)]
mod tests;

use parse::{
    parse_bind, parse_cors_origins, parse_database_url, parse_environment, parse_jwt_secret,
    parse_log_filter, parse_log_format, parse_mailbox, parse_pool_size, parse_public_url,
    parse_smtp_url, parse_switch, range,
};

/// The JWT secret used when none is configured. Development only: production refuses it.
pub const DEVELOPMENT_JWT_SECRET: &str = "dtspp-development-only-secret-never-use-in-production";

/// The configuration file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "dtspp.toml";

/// Each setting's environment variable and its key in the configuration file. README.md's
/// configuration table documents each.
pub const SETTINGS: &[(&str, &str)] = &[
    ("DTSPP_BIND", "bind"),
    ("DATABASE_URL", "database_url"),
    ("DTSPP_DB_POOL_SIZE", "db_pool_size"),
    ("DTSPP_DB_ACQUIRE_TIMEOUT_MS", "db_acquire_timeout_ms"),
    ("DTSPP_ENV", "env"),
    ("DTSPP_JWT_SECRET", "jwt_secret"),
    ("DTSPP_LOG", "log"),
    ("DTSPP_LOG_FORMAT", "log_format"),
    ("DTSPP_SMTP_URL", "smtp_url"),
    ("DTSPP_MAIL_FROM", "mail_from"),
    ("DTSPP_CORS_ORIGINS", "cors_origins"),
    ("DTSPP_PUBLIC_URL", "public_url"),
    ("DTSPP_ACCESS_TOKEN_MINUTES", "access_token_minutes"),
    ("DTSPP_REFRESH_TOKEN_DAYS", "refresh_token_days"),
    ("DTSPP_AUTH_RATE_LIMIT", "auth_rate_limit"),
    ("DTSPP_MAIL_DIR", "mail_dir"),
    ("DTSPP_OUTBOX_MAX_ATTEMPTS", "outbox_max_attempts"),
    ("DTSPP_OUTBOX_POLL_MS", "outbox_poll_ms"),
    ("DTSPP_EXPIRY_INTERVAL_SECS", "expiry_interval_secs"),
    ("DTSPP_RISK_SCAN_SECS", "risk_scan_secs"),
    ("DTSPP_EVENT_REMINDER_SECS", "event_reminder_secs"),
    ("DTSPP_BUDGET_SHARDS", "budget_shards"),
    ("DTSPP_TRUSTED_PROXIES", "trusted_proxies"),
    ("DTSPP_CATALOGUE_CACHE", "catalogue_cache"),
];

/// Development or production. Production refuses unsafe defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured when on a terminal.
    Pretty,
    /// One JSON object per line, with the request span's fields.
    Json,
}

/// The validated configuration of one process.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub database: DatabaseTarget,
    pub db_pool_size: u32,
    /// How long a request queues for a pooled connection before it answers 503 `busy`.
    pub db_acquire_timeout: std::time::Duration,
    pub environment: Environment,
    pub jwt_secret: SecretString,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub smtp_url: Option<SecretString>,
    pub mail_from: Mailbox,
    pub cors_origins: Vec<String>,
    pub public_url: String,
    pub access_token_minutes: u32,
    pub refresh_token_days: u32,
    /// Requests per minute per client IP and per email on login, registration and password
    /// reset; 0 turns limiting off.
    pub auth_rate_limit: u32,
    pub mail_dir: PathBuf,
    pub outbox_max_attempts: u32,
    pub outbox_poll_ms: u32,
    /// Seconds between passes of the job that expires approved applications past their
    /// deadline; 0 turns the job off in this process (another instance may run it).
    pub expiry_interval_secs: u32,
    /// Seconds between the periodic risk scans (every indicator over the population); 0 turns
    /// the scan off in this process (`POST /admin/risk/scan` still runs it).
    pub risk_scan_secs: u32,
    /// Seconds between passes of the job that queues event reminders (24 hours ahead, once per
    /// registration); 0 turns it off in this process (another instance may run it).
    pub event_reminder_secs: u32,
    /// The escrow shards newcomers reserve on, on PostgreSQL (`src/budget/escrow.rs`); 1 keeps
    /// the root row alone. SQLite always keeps one.
    pub budget_shards: u16,
    /// The reverse proxies whose `X-Forwarded-For` names the client; none by default.
    pub trusted_proxies: TrustedProxies,
    /// Whether catalogue responses are kept in memory (`src/catalogue/cache.rs`); off computes
    /// every request from the database (for measuring a miss).
    pub catalogue_cache: bool,
}

/// A setting that cannot be used, named by where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {origin}: {message}")]
pub struct ConfigError {
    /// The environment variable, file key or file at fault.
    pub origin: String,
    pub message: String,
}

impl ConfigError {
    fn new(origin: impl fmt::Display, message: impl Into<String>) -> Self {
        ConfigError {
            origin: origin.to_string(),
            message: message.into(),
        }
    }
}

/// Where a raw value was found.
enum Origin<'a> {
    Env(&'static str),
    File { key: &'static str, path: &'a Path },
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(var) => f.write_str(var),
            Origin::File { key, path } => write!(f, "`{key}` in {}", path.display()),
        }
    }
}

/// The raw layers: the file's values and an environment lookup.
struct Layers<'a> {
    file: BTreeMap<String, String>,
    file_path: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Layers<'_> {
    /// Parses one setting from the highest layer that has it; `None` when no layer does.
    fn get<T>(
        &self,
        var: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let key = key_of(var);
        let found = match (self.env)(var) {
            Some(value) => Some((value, Origin::Env(var))),
            None => self.file.get(key).map(|value| {
                (
                    value.clone(),
                    Origin::File {
                        key,
                        path: self.file_path,
                    },
                )
            }),
        };
        match found {
            None => Ok(None),
            Some((raw, origin)) => parse(raw.trim())
                .map(Some)
                .map_err(|m| ConfigError::new(origin, m)),
        }
    }
}

fn key_of(var: &str) -> &'static str {
    SETTINGS
        .iter()
        .find(|(v, _)| *v == var)
        .map_or("", |(_, key)| key)
}

impl Settings {
    /// Loads the configuration from the process environment and, if present, the file at
    /// `config_file` (default `dtspp.toml`; an explicitly named file must exist).
    pub fn load(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        Settings::load_from(config_file, &|var| std::env::var(var).ok())
    }

    /// Loads the configuration with `env` standing in for the process environment.
    pub fn load_from(
        config_file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        match config_file {
            Some(path) => Settings::from_file_and_env(path, true, env),
            None => Settings::from_file_and_env(Path::new(DEFAULT_CONFIG_FILE), false, env),
        }
    }

    /// Loads the configuration from `env` alone, reading no file (for tests and embedding).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        Settings::from_layers(Layers {
            file: BTreeMap::new(),
            file_path: Path::new(""),
            env,
        })
    }

    fn from_file_and_env(
        file_path: &Path,
        required: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        Settings::from_layers(Layers {
            file: read_file(file_path, required)?,
            file_path,
            env,
        })
    }

    fn from_layers(layers: Layers<'_>) -> Result<Settings, ConfigError> {
        let environment = layers
            .get("DTSPP_ENV", parse_environment)?
            .unwrap_or(Environment::Development);
        let production = environment == Environment::Production;

        let jwt_secret = layers.get("DTSPP_JWT_SECRET", |s| parse_jwt_secret(s, production))?;
        let jwt_secret = match jwt_secret {
            Some(secret) => secret,
            None if production => {
                return Err(ConfigError::new(
                    "DTSPP_JWT_SECRET",
                    "must be set in production (at least 32 random characters)",
                ));
            }
            None => SecretString::from(DEVELOPMENT_JWT_SECRET),
        };

        let smtp_url = layers.get("DTSPP_SMTP_URL", parse_smtp_url)?;
        if production && smtp_url.is_none() {
            return Err(ConfigError::new(
                "DTSPP_SMTP_URL",
                "must be set in production, so that no email is silently kept on local disk",
            ));
        }

        Ok(Settings {
            bind: layers
                .get("DTSPP_BIND", parse_bind)?
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            database: match layers.get("DATABASE_URL", parse_database_url)? {
                Some(target) => target,
                None => DatabaseTarget::Sqlite {
                    path: PathBuf::from("./var/dtspp.db"),
                },
            },
            db_pool_size: layers
                .get("DTSPP_DB_POOL_SIZE", parse_pool_size)?
                .unwrap_or(10),
            db_acquire_timeout: std::time::Duration::from_millis(u64::from(
                layers
                    .get("DTSPP_DB_ACQUIRE_TIMEOUT_MS", range(1, 60_000))?
                    .unwrap_or(5_000),
            )),
            environment,
            jwt_secret,
            log_filter: layers
                .get("DTSPP_LOG", parse_log_filter)?
                .unwrap_or_else(|| "info".to_owned()),
            log_format: layers.get("DTSPP_LOG_FORMAT", parse_log_format)?.unwrap_or(
                if production {
                    LogFormat::Json
                } else {
                    LogFormat::Pretty
                },
            ),
            smtp_url,
            mail_from: match layers.get("DTSPP_MAIL_FROM", parse_mailbox)? {
                Some(mailbox) => mailbox,
                None => parse_mailbox("DTSPP <no-reply@dtspp.localhost>")
                    .map_err(|m| ConfigError::new("DTSPP_MAIL_FROM", m))?,
            },
            cors_origins: layers
                .get("DTSPP_CORS_ORIGINS", parse_cors_origins)?
                .unwrap_or_default(),
            public_url: layers
                .get("DTSPP_PUBLIC_URL", parse_public_url)?
                .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned()),
            access_token_minutes: layers
                .get("DTSPP_ACCESS_TOKEN_MINUTES", range(1, 1440))?
                .unwrap_or(15),
            refresh_token_days: layers
                .get("DTSPP_REFRESH_TOKEN_DAYS", range(1, 365))?
                .unwrap_or(30),
            auth_rate_limit: layers
                .get("DTSPP_AUTH_RATE_LIMIT", range(0, 1_000_000))?
                .unwrap_or(20),
            mail_dir: layers
                .get("DTSPP_MAIL_DIR", |s| Ok(PathBuf::from(s)))?
                .unwrap_or_else(|| PathBuf::from("./var/mail")),
            outbox_max_attempts: layers
                .get("DTSPP_OUTBOX_MAX_ATTEMPTS", range(1, 100))?
                .unwrap_or(8),
            outbox_poll_ms: layers
                .get("DTSPP_OUTBOX_POLL_MS", range(10, 600_000))?
                .unwrap_or(2000),
            expiry_interval_secs: layers
                .get("DTSPP_EXPIRY_INTERVAL_SECS", range(0, 86_400))?
                .unwrap_or(300),
            risk_scan_secs: layers
                .get("DTSPP_RISK_SCAN_SECS", range(0, 86_400))?
                .unwrap_or(300),
            event_reminder_secs: layers
                .get("DTSPP_EVENT_REMINDER_SECS", range(0, 86_400))?
                .unwrap_or(60),
            budget_shards: layers
                .get(
                    "DTSPP_BUDGET_SHARDS",
                    range(1, u32::from(crate::budget::escrow::MAX_SHARDS)),
                )?
                .and_then(|n| u16::try_from(n).ok())
                .unwrap_or(16),
            trusted_proxies: layers
                .get("DTSPP_TRUSTED_PROXIES", TrustedProxies::parse)?
                .unwrap_or_default(),
            catalogue_cache: layers
                .get("DTSPP_CATALOGUE_CACHE", parse_switch)?
                .unwrap_or(true),
        })
    }

    /// How newcomers' reservations are split: the configured shards on PostgreSQL, the root
    /// alone on SQLite.
    pub fn sharding(&self) -> crate::budget::Sharding {
        match self.database.backend() {
            crate::db::Backend::Postgres => crate::budget::Sharding::new(self.budget_shards),
            crate::db::Backend::Sqlite => crate::budget::Sharding::ONE,
        }
    }

    /// Whether this process runs in production mode.
    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}

/// Reads the TOML file into raw strings per known key; refuses unknown keys.
fn read_file(path: &Path, required: bool) -> Result<BTreeMap<String, String>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(BTreeMap::new());
        }
        Err(e) => {
            return Err(ConfigError::new(
                path.display(),
                format!("cannot read: {e}"),
            ));
        }
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::new(path.display(), e.message().to_owned()))?;
    let mut values = BTreeMap::new();
    for (key, value) in table {
        if !SETTINGS.iter().any(|(_, k)| *k == key) {
            let known: Vec<&str> = SETTINGS.iter().map(|(_, k)| *k).collect();
            return Err(ConfigError::new(
                format!("`{key}` in {}", path.display()),
                format!("unknown setting; known settings are {}", known.join(", ")),
            ));
        }
        let raw = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ConfigError::new(
                        format!("`{key}` in {}", path.display()),
                        "must be a list of strings",
                    )
                })?
                .join(","),
            _ => {
                return Err(ConfigError::new(
                    format!("`{key}` in {}", path.display()),
                    "must be a string or a number",
                ));
            }
        };
        values.insert(key, raw);
    }
    Ok(values)
}

impl Settings {
    /// The JWT secret, for the token module alone.
    pub fn jwt_secret_bytes(&self) -> &[u8] {
        self.jwt_secret.expose_secret().as_bytes()
    }
}
