//! Building and running the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::header::{self, HeaderName};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::task::JoinHandle;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::accounts::AuthSettings;
use crate::auth::jwt::AccessTokens;
use crate::auth::rate_limit::AuthRateLimiter;
use crate::config::Settings;
use crate::db::{self, Db};
use crate::error::ApiError;
use crate::extract::refuse_nul;
use crate::fallback::{RouteTable, unmatched_route};
use crate::mail::{Mailer, OutboxWorker};
use crate::metrics::Metrics;
use crate::openapi;
use crate::request_context::{REQUEST_ID_HEADER, request_context};
use crate::telemetry::RequestSpan;

/// A bound, ready-to-run server, and its outbox worker.
pub struct Application {
    port: u16,
    server: Server,
    outbox: Arc<OutboxWorker>,
    outbox_task: JoinHandle<()>,
    expiry_task: Option<JoinHandle<()>>,
    risk_scan_task: Option<JoinHandle<()>>,
    reminder_task: Option<JoinHandle<()>>,
    /// Other instances' catalogue changes (PostgreSQL only); stops when dropped.
    catalogue_listener: Option<crate::catalogue::changes::Listener>,
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port, as tests do) and builds the server over
    /// `db`. It does not migrate; see [`migrate`].
    pub fn build(settings: &Settings, db: Db) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let db = web::Data::new(db);
        let metrics = web::Data::new(Metrics::new().context("cannot register metrics")?);
        // The document is served exactly as `dtspp openapi` prints it, and it tells the 404/405
        // fallback which paths exist.
        let spec = openapi::document();
        let routes = web::Data::new(RouteTable::from_openapi(&spec));
        let cors_origins = settings.cors_origins.clone();
        let access_tokens = web::Data::new(AccessTokens::new(
            settings.jwt_secret_bytes(),
            settings.access_token_minutes,
        ));
        let auth_settings = web::Data::new(AuthSettings {
            refresh_ttl: chrono::Duration::days(i64::from(settings.refresh_token_days)),
            public_url: settings.public_url.clone(),
        });
        let rate_limiter = web::Data::new(AuthRateLimiter::new(settings.auth_rate_limit));
        let catalogue_cache = web::Data::new(if settings.catalogue_cache {
            crate::catalogue::cache::CatalogueCache::default()
        } else {
            crate::catalogue::cache::CatalogueCache::disabled()
        });
        let offers_cache = web::Data::new(crate::finder::store::OffersCache::new(
            catalogue_cache.generation(),
        ));
        // Other instances' catalogue changes, told by PostgreSQL.
        let catalogue_listener = match &settings.database {
            crate::db::DatabaseTarget::Postgres { url } => Some(crate::catalogue::changes::listen(
                url.clone(),
                catalogue_cache.generation(),
            )),
            crate::db::DatabaseTarget::Sqlite { .. } => None,
        };
        let trusted_proxies = web::Data::new(settings.trusted_proxies.clone());
        let sharding = web::Data::new(settings.sharding());
        let outbox = Arc::new(OutboxWorker::new(
            db.get_ref().clone(),
            Mailer::from_settings(settings)?,
            settings.mail_from.clone(),
            settings.outbox_max_attempts,
        ));
        let outbox_task = tokio::spawn(
            outbox
                .clone()
                .run(Duration::from_millis(u64::from(settings.outbox_poll_ms))),
        );
        let expiry_task = (settings.expiry_interval_secs > 0).then(|| {
            tokio::spawn(crate::applications::expiry::run(
                db.get_ref().clone(),
                Duration::from_secs(u64::from(settings.expiry_interval_secs)),
            ))
        });
        let reminder_task = (settings.event_reminder_secs > 0).then(|| {
            tokio::spawn(crate::events::reminders::run(
                db.get_ref().clone(),
                Duration::from_secs(u64::from(settings.event_reminder_secs)),
            ))
        });
        let risk_scan_task = (settings.risk_scan_secs > 0).then(|| {
            tokio::spawn(crate::risk::scan::run(
                db.get_ref().clone(),
                Duration::from_secs(u64::from(settings.risk_scan_secs)),
            ))
        });

        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .openapi(openapi::ApiDoc::openapi())
                .configure(configure_routes)
                .split_for_parts();
            app.app_data(db.clone())
                .app_data(metrics.clone())
                .app_data(access_tokens.clone())
                .app_data(auth_settings.clone())
                .app_data(rate_limiter.clone())
                .app_data(catalogue_cache.clone())
                .app_data(offers_cache.clone())
                .app_data(trusted_proxies.clone())
                .app_data(sharding.clone())
                .app_data(routes.clone())
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|err, _| ApiError::invalid("query", err.to_string()).into()),
                )
                .app_data(web::PathConfig::default().error_handler(|_, _| {
                    ApiError::NotFound("No resource exists at this path.".to_owned()).into()
                }))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", spec.clone()))
                .service(web::redirect("/docs", "/docs/"))
                .default_service(web::to(unmatched_route))
                .wrap(from_fn(refuse_nul))
                .wrap(cors(&cors_origins))
                .wrap(security_headers())
                .wrap(TracingLogger::<RequestSpan>::new())
                .wrap(from_fn(request_context))
        })
        .listen(listener)?
        .shutdown_timeout(30)
        .run();
        Ok(Application {
            port,
            server,
            outbox,
            outbox_task,
            expiry_task,
            risk_scan_task,
            reminder_task,
            catalogue_listener,
        })
    }

    /// The outbox worker, for tests that drive delivery themselves.
    pub fn outbox(&self) -> Arc<OutboxWorker> {
        self.outbox.clone()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that can stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGINT, SIGTERM or its handle), draining requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        drop(self.catalogue_listener);
        self.outbox_task.abort();
        for task in [self.expiry_task, self.risk_scan_task, self.reminder_task]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
        result
    }
}

/// Applies the pending migrations, on the blocking pool. Returns the versions applied.
pub async fn migrate(db: &Db) -> anyhow::Result<Vec<String>> {
    let db = db.clone();
    actix_web::web::block(move || {
        let mut conn = db.connection().context("cannot connect to the database")?;
        let applied = db::run_migrations(&mut conn)?;
        // The migration that added the risk indicators' contact keys cannot compute them (the
        // normalisation is Rust's): fill them for the SMEs and vendors that existed before it.
        if applied.iter().any(|v| v == RISK_KEYS_MIGRATION) {
            let filled =
                db::write_transaction(&mut conn, |tx| Ok(crate::risk::store::backfill_keys(tx)?))
                    .map_err(|e| {
                    anyhow::anyhow!("filling the risk indicators' contact keys failed: {e}")
                })?;
            if filled > 0 {
                tracing::info!(
                    filled,
                    "filled the contact keys of existing SMEs and vendors"
                );
            }
        }
        Ok(applied)
    })
    .await?
}

/// The migration that added `smes.phone_key` and the other contact keys.
const RISK_KEYS_MIGRATION: &str = "20261128000010";

/// The `serve` command: open the database, migrate unless `run_migrations` is false, load the
/// demo fixtures when asked and the database is empty, serve.
pub async fn serve(
    settings: Settings,
    run_migrations: bool,
    seed_if_empty: bool,
) -> anyhow::Result<()> {
    let db = Db::open_with(
        &settings.database,
        settings.db_pool_size,
        settings.db_acquire_timeout,
    )?;
    if seed_if_empty {
        migrate(&db).await?;
        if crate::seed::is_empty(&db).await? {
            let report = crate::seed::seed(&db, crate::seed::BUILT_IN, true).await?;
            tracing::info!(
                vendors = report.vendors_created,
                packages = report.packages_created,
                "loaded the demo fixtures"
            );
        }
    }
    if run_migrations {
        let applied = migrate(&db).await?;
        tracing::info!(database = %settings.database, applied = applied.len(), "database migrated");
    }
    if !settings.is_production()
        && settings.jwt_secret_bytes() == crate::config::DEVELOPMENT_JWT_SECRET.as_bytes()
    {
        tracing::warn!(
            "using the built-in development JWT secret; set DTSPP_JWT_SECRET for anything shared"
        );
    }
    let app = Application::build(&settings, db)?;
    tracing::info!(
        address = %format!("http://{}:{}", settings.bind.ip(), app.port()),
        database = %settings.database,
        docs = "/docs/",
        "dtspp listening"
    );
    app.run_until_stopped().await?;
    Ok(())
}

/// Registers every documented route. The server and [`openapi::document`] both call this.
pub fn configure_routes(cfg: &mut ServiceConfig) {
    crate::ops::configure(cfg);
    crate::vendors::routes::configure(cfg);
    crate::vendors::admin_routes::configure(cfg);
    crate::packages::routes::configure(cfg);
    crate::packages::admin_routes::configure(cfg);
    crate::catalogue::routes::configure(cfg);
    crate::smes::routes::configure(cfg);
    crate::auth::routes::configure(cfg);
    crate::auth::admin_users::configure(cfg);
    crate::oversight::routes::configure(cfg);
    crate::programme::routes::configure(cfg);
    crate::enquiries::routes::configure(cfg);
    crate::applications::routes::configure(cfg);
    crate::applications::admin_routes::configure(cfg);
    crate::oversight::budget::configure(cfg);
    crate::reports::routes::configure(cfg);
    crate::risk::routes::configure(cfg);
    crate::finder::routes::configure(cfg);
    crate::guides::routes::configure(cfg);
    crate::events::routes::configure(cfg);
}

/// Cross-origin access for the configured browser origins only; `*` allows any.
fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_NONE_MATCH,
            HeaderName::from_static("idempotency-key"),
            REQUEST_ID_HEADER,
        ])
        .expose_headers([
            REQUEST_ID_HEADER,
            header::ETAG,
            header::RETRY_AFTER,
            header::LOCATION,
        ])
        .max_age(3600)
        .block_on_origin_mismatch(false);
    if origins.iter().any(|o| o == "*") {
        cors.allow_any_origin().send_wildcard()
    } else {
        origins
            .iter()
            .fold(cors, |cors, origin| cors.allowed_origin(origin))
    }
}

/// Headers every response carries.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}
