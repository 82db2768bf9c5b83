//! Tests of configuration loading.

use super::*;
use std::collections::HashMap;

fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_env(&move |var: &str| vars.get(var).cloned())
}

#[test]
fn defaults_serve_sqlite_on_localhost_8080_in_development() {
    let s = load(&[]).unwrap();
    assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(
        s.database,
        DatabaseTarget::Sqlite {
            path: "./var/dtspp.db".into()
        }
    );
    assert_eq!(s.environment, Environment::Development);
    assert_eq!(s.log_format, LogFormat::Pretty);
    assert_eq!(s.db_pool_size, 10);
    assert_eq!(s.db_acquire_timeout, std::time::Duration::from_secs(5));
    assert_eq!(
        s.trusted_proxies,
        crate::client_ip::TrustedProxies::default()
    );
    assert!(s.smtp_url.is_none());
    assert!(s.catalogue_cache);
    assert!(
        !load(&[("DTSPP_CATALOGUE_CACHE", "off")])
            .unwrap()
            .catalogue_cache
    );
}

#[test]
fn each_invalid_variable_is_named_in_the_error() {
    for (var, value) in [
        ("DTSPP_BIND", "localhost"),
        ("DATABASE_URL", "mysql://x"),
        ("DTSPP_DB_POOL_SIZE", "abc"),
        ("DTSPP_DB_POOL_SIZE", "0"),
        ("DTSPP_ENV", "staging"),
        ("DTSPP_JWT_SECRET", ""),
        ("DTSPP_LOG", "info,=="),
        ("DTSPP_LOG_FORMAT", "xml"),
        ("DTSPP_SMTP_URL", "ftp://mail"),
        ("DTSPP_MAIL_FROM", "not an address"),
        ("DTSPP_CORS_ORIGINS", "example.org"),
        ("DTSPP_PUBLIC_URL", "dtspp.example.org"),
        ("DTSPP_ACCESS_TOKEN_MINUTES", "0"),
        ("DTSPP_REFRESH_TOKEN_DAYS", "9999"),
        ("DTSPP_AUTH_RATE_LIMIT", "-1"),
        ("DTSPP_OUTBOX_MAX_ATTEMPTS", "0"),
        ("DTSPP_OUTBOX_POLL_MS", "soon"),
        ("DTSPP_DB_ACQUIRE_TIMEOUT_MS", "0"),
        ("DTSPP_DB_ACQUIRE_TIMEOUT_MS", "600000"),
        ("DTSPP_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("DTSPP_TRUSTED_PROXIES", "proxy.internal"),
        ("DTSPP_CATALOGUE_CACHE", "sometimes"),
    ] {
        let err = load(&[(var, value)]).unwrap_err();
        assert_eq!(err.origin, var, "{var}={value:?} gave {err}");
        assert!(!err.to_string().contains('\n'), "one line: {err}");
    }
}

#[test]
fn production_refuses_a_missing_or_default_jwt_secret() {
    let smtp = ("DTSPP_SMTP_URL", "smtp://127.0.0.1:2525");
    let err = load(&[("DTSPP_ENV", "production"), smtp]).unwrap_err();
    assert_eq!(err.origin, "DTSPP_JWT_SECRET");
    let err = load(&[
        ("DTSPP_ENV", "production"),
        ("DTSPP_JWT_SECRET", DEVELOPMENT_JWT_SECRET),
        smtp,
    ])
    .unwrap_err();
    assert_eq!(err.origin, "DTSPP_JWT_SECRET");
    assert!(err.message.contains("development secret"));
    let ok = load(&[
        ("DTSPP_ENV", "production"),
        ("DTSPP_JWT_SECRET", "0123456789abcdef0123456789abcdef-prod"),
        smtp,
    ])
    .unwrap();
    assert_eq!(ok.log_format, LogFormat::Json);
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let s = load(&[
        ("DTSPP_JWT_SECRET", "super-secret-signing-key"),
        ("DTSPP_SMTP_URL", "smtp://user:mailpass@127.0.0.1:2525"),
    ])
    .unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains("super-secret-signing-key"));
    assert!(!shown.contains("mailpass"));
}

#[test]
fn environment_overrides_the_file_and_the_file_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dtspp.toml");
    std::fs::write(
        &path,
        "bind = \"0.0.0.0:9000\"\ndb_pool_size = 4\ncors_origins = [\"https://a.example\"]\n",
    )
    .unwrap();
    let env = |var: &str| (var == "DTSPP_DB_POOL_SIZE").then(|| "7".to_owned());
    let s = Settings::load_from(Some(&path), &env).unwrap();
    assert_eq!(s.bind.to_string(), "0.0.0.0:9000");
    assert_eq!(s.db_pool_size, 7);
    assert_eq!(s.cors_origins, vec!["https://a.example".to_owned()]);
}

#[test]
fn file_errors_name_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dtspp.toml");
    std::fs::write(&path, "db_pool_size = 0\n").unwrap();
    let err = Settings::load_from(Some(&path), &|_| None).unwrap_err();
    assert!(err.origin.starts_with("`db_pool_size` in "), "{err}");
    std::fs::write(&path, "bnid = \"x\"\n").unwrap();
    let err = Settings::load_from(Some(&path), &|_| None).unwrap_err();
    assert!(err.message.contains("unknown setting"), "{err}");
    let err = Settings::load_from(Some(&dir.path().join("missing.toml")), &|_| None).unwrap_err();
    assert!(err.message.contains("cannot read"), "{err}");
}
