//! Who is acting: the bearer-token extractors, one per role, and the request's audit metadata.

use std::future::{Ready, ready};

use futures_util::future::LocalBoxFuture;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::Role;
use super::jwt::AccessTokens;
use crate::client_ip::TrustedProxies;
use crate::error::ApiError;
use crate::request_context::RequestId;

/// An authenticated caller of any role, from a valid `Authorization: Bearer` access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: String,
    pub role: Role,
}

fn authenticate(req: &HttpRequest) -> Result<AuthUser, ApiError> {
    let tokens = req
        .app_data::<web::Data<AccessTokens>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("AccessTokens is not registered")))?;
    let missing = || {
        ApiError::Unauthorized(
            "An access token is required: send `Authorization: Bearer <token>`.".to_owned(),
        )
    };
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?
        .to_str()
        .map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    let claims = tokens.verify(token.trim())?;
    Ok(AuthUser {
        user_id: claims.sub,
        role: claims.role,
    })
}

/// Refuses the caller when its account is disabled (or gone): checked against the database on
/// every request, so that disabling an account cuts off its access tokens at once, on every
/// instance, rather than when they expire.
async fn ensure_active(req: &HttpRequest, user: &AuthUser) -> Result<(), ApiError> {
    let db = req
        .app_data::<web::Data<crate::db::Db>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("Db is not registered")))?
        .clone();
    let id = user.user_id.clone();
    db.run(move |conn| confirm_active(conn, &id)).await
}

/// The check of [`ensure_active`], on a connection the caller holds.
fn confirm_active(conn: &mut crate::db::DbConnection, user_id: &str) -> Result<(), ApiError> {
    if super::store::is_active(conn, user_id)? {
        Ok(())
    } else {
        Err(disabled())
    }
}

fn disabled() -> ApiError {
    ApiError::Unauthorized(
        "This account is disabled; its tokens are no longer accepted.".to_owned(),
    )
}

/// A kind of caller: [`AuthUser`] (any role) or one role's extractor.
pub trait Caller: Sized + 'static {
    /// Admits an authenticated user as this kind of caller, or refuses it (403).
    fn admit(user: AuthUser) -> Result<Self, ApiError>;

    /// The user behind the caller.
    fn user(&self) -> &AuthUser;
}

impl Caller for AuthUser {
    fn admit(user: AuthUser) -> Result<Self, ApiError> {
        Ok(user)
    }

    fn user(&self) -> &AuthUser {
        self
    }
}

/// The caller, checked as [`authenticate`] and [`ensure_active`] do, and then admitted as `T`.
fn extract<T: Caller>(req: &HttpRequest) -> LocalBoxFuture<'static, Result<T, ApiError>> {
    let req = req.clone();
    Box::pin(async move {
        let user = authenticate(&req)?;
        let admitted = T::admit(user.clone())?;
        ensure_active(&req, &user).await?;
        Ok(admitted)
    })
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req)
    }
}

/// A caller admitted as `T` by its token alone: whether its account is still active is checked
/// later, by the route, on the connection and in the transaction it writes with
/// ([`ActiveLater::confirm`]). That saves the separate connection checkout and round trips of
/// [`ensure_active`] on the hottest writes (applying, enquiring). The caller can only be reached
/// through `confirm`, so a route cannot forget the check.
#[derive(Debug)]
pub struct ActiveLater<T>(T);

impl<T: Caller> ActiveLater<T> {
    /// `user`, admitted as this kind of caller (403 otherwise), its account still to confirm.
    pub fn admit(user: AuthUser) -> Result<ActiveLater<T>, ApiError> {
        T::admit(user).map(ActiveLater)
    }

    /// The caller's user id, for work that precedes the check (an idempotency claim's scope).
    pub fn user_id(&self) -> &str {
        &self.0.user().user_id
    }

    /// The caller, once its account is confirmed active on `conn`; 401 when it is disabled or
    /// gone, as [`ensure_active`] answers.
    pub fn confirm(&self, conn: &mut crate::db::DbConnection) -> Result<&T, ApiError> {
        confirm_active(conn, self.user_id())?;
        Ok(&self.0)
    }

    /// The caller, given `disabled_at` as the route read it on its connection from the caller's
    /// own `users` row (the route's first read joins it, saving `confirm`'s statement); 401
    /// when it is disabled. A route whose read finds no row must `confirm` instead.
    pub fn confirm_read(&self, disabled_at: Option<chrono::NaiveDateTime>) -> Result<&T, ApiError> {
        match disabled_at {
            None => Ok(&self.0),
            Some(_) => Err(disabled()),
        }
    }
}

impl<T: Caller> FromRequest for ActiveLater<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(ActiveLater::admit))
    }
}

/// Declares an extractor that admits only callers of one role: 401 without a valid token,
/// 403 with a token of another role.
macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub AuthUser);

        impl Caller for $name {
            fn admit(user: AuthUser) -> Result<Self, ApiError> {
                if user.role == $role {
                    Ok($name(user))
                } else {
                    Err(ApiError::Forbidden(format!(
                        "This requires the {} role; the caller is {}.",
                        $role, user.role
                    )))
                }
            }

            fn user(&self) -> &AuthUser {
                &self.0
            }
        }

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                extract(req)
            }
        }
    };
}

role_extractor!(
    /// A caller with the `admin` role.
    AdminUser,
    Role::Admin
);
role_extractor!(
    /// A caller with the `vendor` role.
    VendorUser,
    Role::Vendor
);
role_extractor!(
    /// A caller with the `sme` role.
    SmeUser,
    Role::Sme
);

/// The client's address: by the trusted proxies the app was given
/// ([`crate::client_ip::TrustedProxies`]), or the peer's when it was given none.
fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    match req.app_data::<web::Data<TrustedProxies>>() {
        Some(proxies) => proxies.of_request(req),
        None => TrustedProxies::default().of_request(req),
    }
}

/// What the audit trail, the rate limits and the risk indicators record about a request: its
/// id and the client's address (see [`crate::client_ip`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

impl RequestMeta {
    /// The client IP, or `unknown` when the connection has none (as in some tests).
    pub fn ip_or_unknown(&self) -> &str {
        self.ip.as_deref().unwrap_or("unknown")
    }
}

impl FromRequest for RequestMeta {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(RequestMeta {
            request_id: req
                .extensions()
                .get::<RequestId>()
                .map(|id| id.as_str().to_owned()),
            ip: client_ip(req).map(|ip| ip.to_string()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, HttpResponse, test};
    use diesel::RunQueryDsl;

    /// A migrated SQLite database holding the active user `u` and the disabled user `off`.
    fn database(dir: &std::path::Path) -> crate::db::Db {
        let target = crate::db::DatabaseTarget::Sqlite {
            path: dir.join("auth.db"),
        };
        let db = crate::db::Db::open(&target, 2).unwrap();
        let mut conn = db.connection().unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        for (id, disabled) in [("u", None), ("off", Some(crate::time::now()))] {
            diesel::sql_query(
                "INSERT INTO users (id, email, password_hash, role, created_at, updated_at, disabled_at) \
                 VALUES ($1, $1 || '@dtspp.test', '!', 'sme', $2, $2, $3)",
            )
            .bind::<diesel::sql_types::Text, _>(id)
            .bind::<diesel::sql_types::Timestamp, _>(crate::time::now())
            .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamp>, _>(disabled)
            .execute(&mut conn)
            .unwrap();
        }
        db
    }

    async fn status_for(path: &str, token: Option<String>) -> u16 {
        let tokens = web::Data::new(AccessTokens::new(b"0123456789abcdef0123456789abcdef", 15));
        let dir = tempfile::tempdir().unwrap();
        let app = test::init_service(
            App::new()
                .app_data(tokens)
                .app_data(web::Data::new(database(dir.path())))
                .route(
                    "/any",
                    web::get().to(|_: AuthUser| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/admin",
                    web::get().to(|_: AdminUser| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/vendor",
                    web::get().to(|_: VendorUser| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/sme",
                    web::get().to(|_: SmeUser| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/sme-later",
                    web::get().to(
                        |caller: ActiveLater<SmeUser>, db: web::Data<crate::db::Db>| async move {
                            db.run(move |conn| caller.confirm(conn).map(|_| ()))
                                .await
                                .map(|()| HttpResponse::Ok().finish())
                        },
                    ),
                ),
        )
        .await;
        let mut req = test::TestRequest::get().uri(path);
        if let Some(token) = token {
            req = req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
        }
        test::call_service(&app, req.to_request())
            .await
            .status()
            .as_u16()
    }

    #[actix_web::test]
    async fn each_role_extractor_admits_its_role_only() {
        let tokens = AccessTokens::new(b"0123456789abcdef0123456789abcdef", 15);
        let token = |role| Some(tokens.issue("u", role).unwrap());
        for (path, admitted) in [
            ("/admin", Role::Admin),
            ("/vendor", Role::Vendor),
            ("/sme", Role::Sme),
            ("/sme-later", Role::Sme),
        ] {
            assert_eq!(status_for(path, None).await, 401, "{path} anonymous");
            assert_eq!(
                status_for(path, Some("garbage".into())).await,
                401,
                "{path} bad token"
            );
            for role in [Role::Admin, Role::Vendor, Role::Sme] {
                let expected = if role == admitted { 200 } else { 403 };
                assert_eq!(
                    status_for(path, token(role)).await,
                    expected,
                    "{path} as {role}"
                );
            }
        }
        for role in [Role::Admin, Role::Vendor, Role::Sme] {
            assert_eq!(status_for("/any", token(role)).await, 200);
        }
    }

    #[actix_web::test]
    async fn a_disabled_account_s_tokens_are_refused_at_once() {
        let tokens = AccessTokens::new(b"0123456789abcdef0123456789abcdef", 15);
        let off = Some(tokens.issue("off", Role::Sme).unwrap());
        assert_eq!(status_for("/sme", off.clone()).await, 401);
        assert_eq!(status_for("/sme-later", off.clone()).await, 401);
        assert_eq!(status_for("/any", off).await, 401);
        let gone = Some(tokens.issue("nobody", Role::Sme).unwrap());
        assert_eq!(status_for("/any", gone.clone()).await, 401);
        assert_eq!(status_for("/sme-later", gone).await, 401);
    }
}
