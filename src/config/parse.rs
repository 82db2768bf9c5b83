//! Parsers for each setting: a raw string in, a typed value or a one-line reason out.

use std::net::SocketAddr;

use lettre::message::Mailbox;
use secrecy::SecretString;

use super::{DEVELOPMENT_JWT_SECRET, Environment, LogFormat};
use crate::db::DatabaseTarget;

pub(super) fn parse_environment(s: &str) -> Result<Environment, String> {
    match s {
        "development" => Ok(Environment::Development),
        "production" => Ok(Environment::Production),
        _ => Err(format!("must be `development` or `production`, not {s:?}")),
    }
}

pub(super) fn parse_jwt_secret(s: &str, production: bool) -> Result<SecretString, String> {
    if s.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if production && s == DEVELOPMENT_JWT_SECRET {
        return Err("is the built-in development secret, which production refuses".to_owned());
    }
    if production && s.len() < 32 {
        return Err("must be at least 32 characters in production".to_owned());
    }
    Ok(SecretString::from(s))
}

pub(super) fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("must be an address and port such as 127.0.0.1:8080, not {s:?}"))
}

pub(super) fn parse_database_url(s: &str) -> Result<DatabaseTarget, String> {
    DatabaseTarget::parse(s).map_err(|e| e.to_string())
}

pub(super) fn parse_pool_size(s: &str) -> Result<u32, String> {
    range(1, 1000)(s)
}

/// A parser for a whole number from `min` to `max`.
pub(super) fn range(min: u32, max: u32) -> impl Fn(&str) -> Result<u32, String> {
    move |s| match s.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number from {min} to {max}, not {s:?}"
        )),
    }
}

pub(super) fn parse_public_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("must start with http:// or https://, not {s:?}"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(format!(
            "must be a URL such as https://dtspp.example.org, not {s:?}"
        ));
    }
    Ok(s.trim_end_matches('/').to_owned())
}

pub(super) fn parse_log_filter(s: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(s)
        .map(|_| s.to_owned())
        .map_err(|e| format!("is not a valid log filter ({e}); try `info` or `info,dtspp=debug`"))
}

pub(super) fn parse_log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "pretty" => Ok(LogFormat::Pretty),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("must be `pretty` or `json`, not {s:?}")),
    }
}

pub(super) fn parse_switch(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        other => Err(format!("must be on or off, not {other:?}")),
    }
}

pub(super) fn parse_smtp_url(s: &str) -> Result<SecretString, String> {
    use lettre::{AsyncSmtpTransport, Tokio1Executor};
    AsyncSmtpTransport::<Tokio1Executor>::from_url(s)
        .map(|_| SecretString::from(s))
        .map_err(|e| format!("is not a valid SMTP URL such as smtp://127.0.0.1:2525 ({e})"))
}

pub(super) fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    s.parse()
        .map_err(|e| format!("must be an address such as `DTSPP <no-reply@example.org>` ({e})"))
}

pub(super) fn parse_cors_origins(s: &str) -> Result<Vec<String>, String> {
    let origins: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    for origin in &origins {
        if origin == "*" {
            continue;
        }
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .ok_or_else(|| format!("{origin:?} must start with http:// or https://"))?;
        if host.is_empty() || host.contains('/') {
            return Err(format!(
                "{origin:?} must be an origin (scheme, host and port) with no path"
            ));
        }
    }
    Ok(origins)
}
