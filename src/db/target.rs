//! Which database a `DATABASE_URL` names.

use std::fmt;
use std::path::PathBuf;

/// The two supported database engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// A lower-case name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `DATABASE_URL`: `postgres://…` (or `postgresql://…`), `sqlite://PATH`, or a bare path
/// to a SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Postgres { url: String },
    Sqlite { path: PathBuf },
}

/// Why a `DATABASE_URL` names no database we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("is empty")]
    Empty,
    #[error("uses the unsupported scheme `{0}://`; use postgres://, sqlite:// or a file path")]
    UnsupportedScheme(String),
    #[error(
        "names an in-memory SQLite database, which each pooled connection would see separately; use a file path"
    )]
    InMemory,
}

impl DatabaseTarget {
    /// Parses a database URL, choosing the backend by its scheme.
    pub fn parse(url: &str) -> Result<DatabaseTarget, TargetError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(TargetError::Empty);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseTarget::Postgres {
                url: url.to_owned(),
            });
        }
        let path = match url.split_once("://") {
            Some(("sqlite", path)) => path,
            Some((scheme, _)) => return Err(TargetError::UnsupportedScheme(scheme.to_owned())),
            None => url.strip_prefix("sqlite:").unwrap_or(url),
        };
        if path.is_empty() {
            return Err(TargetError::Empty);
        }
        if path == ":memory:" || path.contains("mode=memory") {
            return Err(TargetError::InMemory);
        }
        Ok(DatabaseTarget::Sqlite {
            path: PathBuf::from(path),
        })
    }

    /// The backend this target selects.
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseTarget::Postgres { .. } => Backend::Postgres,
            DatabaseTarget::Sqlite { .. } => Backend::Sqlite,
        }
    }
}

/// Shows the target with any password replaced, so that it is safe to log.
impl fmt::Display for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseTarget::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            DatabaseTarget::Postgres { url } => f.write_str(&redact_password(url)),
        }
    }
}

impl fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseTarget({self})")
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_selects_the_backend() {
        let pg = DatabaseTarget::parse("postgres://postgres@127.0.0.1:5432/dtspp");
        assert_eq!(pg.map(|t| t.backend()), Ok(Backend::Postgres));
        let pg = DatabaseTarget::parse("postgresql://localhost/dtspp");
        assert_eq!(pg.map(|t| t.backend()), Ok(Backend::Postgres));
        assert_eq!(
            DatabaseTarget::parse("sqlite://./var/dtspp.db"),
            Ok(DatabaseTarget::Sqlite {
                path: "./var/dtspp.db".into()
            })
        );
        assert_eq!(
            DatabaseTarget::parse("/tmp/x.db"),
            Ok(DatabaseTarget::Sqlite {
                path: "/tmp/x.db".into()
            })
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite:data.db"),
            Ok(DatabaseTarget::Sqlite {
                path: "data.db".into()
            })
        );
    }

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        assert_eq!(DatabaseTarget::parse(""), Err(TargetError::Empty));
        assert_eq!(DatabaseTarget::parse("sqlite://"), Err(TargetError::Empty));
        assert_eq!(
            DatabaseTarget::parse("mysql://root@localhost/db"),
            Err(TargetError::UnsupportedScheme("mysql".into()))
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite://:memory:"),
            Err(TargetError::InMemory)
        );
    }

    #[test]
    fn display_never_shows_the_password() {
        let t = DatabaseTarget::parse("postgres://app:s3cret@db.internal:5432/dtspp");
        let shown = t.map(|t| t.to_string()).unwrap_or_default();
        assert_eq!(shown, "postgres://app:***@db.internal:5432/dtspp");
        assert!(!format!("{:?}", DatabaseTarget::parse("postgres://a:pw@h/d")).contains("pw"));
    }
}
