//! The `dtspp` command line: serve (the default), migrate, openapi.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dtspp::config::Settings;
use dtspp::db::Db;
use dtspp::{openapi, startup, telemetry};

/// The marketplace backend of Hong Kong's Digital Transformation Support Pilot Programme.
///
/// With no command, serves the HTTP API (migrating the database first). Configuration comes
/// from defaults, then dtspp.toml (or --config), then environment variables; see README.md.
#[derive(Debug, Parser)]
#[command(name = "dtspp", version, about, long_about)]
struct Cli {
    /// Configuration file to read. Without this option, ./dtspp.toml is read if it exists.
    #[arg(long, global = true, value_name = "FILE", env = "DTSPP_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API on DTSPP_BIND (default 127.0.0.1:8080), after applying pending
    /// migrations.
    Serve {
        /// Do not apply pending migrations before serving.
        #[arg(long)]
        no_migrate: bool,
        /// When the database has no vendor yet, load the demo fixtures and demo accounts first
        /// (what `seed --demo-accounts` does).
        #[arg(long)]
        seed_if_empty: bool,
    },
    /// Apply pending database migrations to DATABASE_URL, then exit.
    Migrate,
    /// Load the demo fixtures (44 vendors, about 190 packages in every state) into
    /// DATABASE_URL, migrating it first. Running it again changes nothing.
    Seed {
        /// Also create the demo admin, vendor and SME logins documented in README.md.
        #[arg(long)]
        demo_accounts: bool,
        /// Load this fixtures file instead of the built-in fixtures/catalogue.json.
        #[arg(long, value_name = "FILE")]
        fixtures: Option<PathBuf>,
    },
    /// For load tests: create COUNT eligible SMEs, each with a confirmed enquiry on the listed
    /// package PACKAGE, and write one `access_token,enquiry_id` line per SME to OUT. The
    /// accounts have no password; the tokens last DTSPP_ACCESS_TOKEN_MINUTES.
    BenchApplicants {
        #[arg(long)]
        package: String,
        #[arg(long)]
        count: usize,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the OpenAPI 3.1 document as JSON (refresh the committed copy with
    /// `dtspp openapi > openapi/openapi.json`).
    Openapi,
    /// Manage programme admins. No HTTP route creates an admin; this command does.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an admin account in DATABASE_URL (migrating it first if needed).
    Create {
        /// The admin's email address, used to log in.
        #[arg(long)]
        email: String,
        /// At least 12 characters, and not the email address.
        #[arg(long)]
        password: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve {
        no_migrate: false,
        seed_if_empty: false,
    });
    if let Command::Openapi = command {
        print!("{}", openapi::document_json());
        return ExitCode::SUCCESS;
    }

    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("dtspp: {error}");
            return ExitCode::from(2);
        }
    };
    let wants_demo_accounts = matches!(
        command,
        Command::Serve {
            seed_if_empty: true,
            ..
        } | Command::Seed {
            demo_accounts: true,
            ..
        }
    );
    if wants_demo_accounts && settings.is_production() {
        eprintln!(
            "dtspp: DTSPP_ENV=production refuses the demo accounts (their passwords are published); load fixtures with `dtspp seed` alone"
        );
        return ExitCode::from(2);
    }
    telemetry::init(&settings.log_filter, settings.log_format);

    let result = actix_web::rt::System::new().block_on(async move {
        match command {
            Command::Serve {
                no_migrate,
                seed_if_empty,
            } => startup::serve(settings, !no_migrate, seed_if_empty).await,
            Command::Seed {
                demo_accounts,
                fixtures,
            } => {
                let db = Db::open(&settings.database, 2)?;
                startup::migrate(&db).await?;
                let text = match fixtures {
                    Some(path) => std::fs::read_to_string(&path)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?,
                    None => dtspp::seed::BUILT_IN.to_owned(),
                };
                let report = dtspp::seed::seed(&db, &text, demo_accounts).await?;
                println!(
                    "seeded: {} vendors created, {} already there, {} packages, {} demo accounts, {} intake batches, {} guides, {} events",
                    report.vendors_created,
                    report.vendors_existing,
                    report.packages_created,
                    report.accounts_created,
                    report.batches_created,
                    report.guides_created,
                    report.events_created
                );
                if report.ring_applications + report.honest_applications > 0 {
                    println!(
                        "oversight demo: {} applications of a fraud ring, {} honest, {} risk flags raised",
                        report.ring_applications, report.honest_applications, report.flags_raised
                    );
                }
                Ok(())
            }
            Command::BenchApplicants {
                package,
                count,
                out,
            } => {
                use secrecy::ExposeSecret;
                let db = Db::open(&settings.database, 1)?;
                startup::migrate(&db).await?;
                let made = dtspp::db::run_blocking(move || {
                    let mut conn = db.connection().map_err(dtspp::error::ApiError::database_unavailable)?;
                    dtspp::seed::applicants::create(&mut conn, &package, count)
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                let tokens = dtspp::auth::jwt::AccessTokens::new(
                    settings.jwt_secret.expose_secret().as_bytes(),
                    settings.access_token_minutes,
                );
                let mut lines = String::new();
                for applicant in &made {
                    let token = tokens
                        .issue(&applicant.user_id, dtspp::auth::Role::Sme)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    lines.push_str(&format!("{token},{}\n", applicant.enquiry_id));
                }
                std::fs::write(&out, lines)?;
                println!("{} applicants written to {}", made.len(), out.display());
                Ok(())
            }
            Command::Migrate => {
                let db = Db::open(&settings.database, 1)?;
                let applied = startup::migrate(&db).await?;
                tracing::info!(
                    database = %settings.database,
                    applied = applied.len(),
                    versions = %applied.join(","),
                    "migrations applied"
                );
                Ok(())
            }
            Command::Admin {
                command: AdminCommand::Create { email, password },
            } => {
                let db = Db::open(&settings.database, 1)?;
                startup::migrate(&db).await?;
                let id = dtspp::auth::accounts::create_admin(&db, &email, &password).await?;
                println!("admin {id} created for {}", email.trim().to_lowercase());
                Ok(())
            }
            Command::Openapi => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "dtspp stopped");
            eprintln!("dtspp: {error:#}");
            ExitCode::FAILURE
        }
    }
}
