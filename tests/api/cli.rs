//! The `dtspp` command line, run as a user would run it.

use std::process::{Command, Output};

fn dtspp(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_dtspp"));
    command.args(args).current_dir(dir.path()).env_clear();
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run dtspp")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_invalid_variable_stops_start_up_with_one_line_naming_it() {
    for (var, value) in [
        ("DTSPP_DB_POOL_SIZE", "lots"),
        ("DTSPP_BIND", "8080"),
        ("DATABASE_URL", "mysql://root@localhost/dtspp"),
        ("DTSPP_LOG_FORMAT", "xml"),
    ] {
        let output = dtspp(&["serve"], &[(var, value)]);
        assert_eq!(output.status.code(), Some(2), "{var}={value}");
        let err = stderr(&output);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains(var), "{err}");
    }
}

#[test]
fn production_refuses_to_start_without_a_real_jwt_secret() {
    let output = dtspp(
        &["serve"],
        &[
            ("DTSPP_ENV", "production"),
            ("DTSPP_SMTP_URL", "smtp://127.0.0.1:2525"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("DTSPP_JWT_SECRET"),
        "{}",
        stderr(&output)
    );
    let output = dtspp(
        &["serve"],
        &[
            ("DTSPP_ENV", "production"),
            ("DTSPP_SMTP_URL", "smtp://127.0.0.1:2525"),
            ("DTSPP_JWT_SECRET", dtspp::config::DEVELOPMENT_JWT_SECRET),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("development secret"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_explicit_config_file_that_is_missing_is_an_error() {
    let output = dtspp(&["--config", "/nonexistent/dtspp.toml", "migrate"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("/nonexistent/dtspp.toml"));
}

#[test]
fn migrate_creates_and_migrates_a_fresh_sqlite_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/dtspp.db");
    let url = format!("sqlite://{}", path.display());
    let env = [("DATABASE_URL", url.as_str()), ("DTSPP_LOG_FORMAT", "json")];
    let first = dtspp(&["migrate"], &env);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(path.exists());
    let log = String::from_utf8_lossy(&first.stdout);
    let mut versions: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.split('_').next().unwrap().replace('-', "")
            })
            .collect();
    versions.sort();
    let expected = format!(r#""versions":"{}""#, versions.join(","));
    assert!(log.contains(&expected), "expected {expected} in {log}");
    let second = dtspp(&["migrate"], &env);
    assert!(second.status.success());
    let log = String::from_utf8_lossy(&second.stdout);
    assert!(log.contains(r#""applied":0"#), "{log}");
}

#[test]
fn openapi_prints_the_committed_spec() {
    let output = dtspp(&["openapi"], &[]);
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap_or_default();
    assert!(
        printed == committed,
        "openapi/openapi.json is stale; run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn help_lists_every_command() {
    let output = dtspp(&["--help"], &[]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in ["serve", "migrate", "openapi", "--config"] {
        assert!(help.contains(word), "--help lacks {word}: {help}");
    }
}

/// A `dtspp` process that is killed and reaped when dropped, whatever the test's outcome.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `dtspp serve` with JSON logs, waits for its "listening" line, and returns the process,
/// its address, and a channel of its log lines.
fn serve_in_background(
    env: &[(&str, &str)],
    args: &[&str],
) -> (Running, String, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut command = Command::new(env!("CARGO_BIN_EXE_dtspp"));
    command
        .args(args)
        .env_clear()
        .env("DTSPP_BIND", "127.0.0.1:0")
        .env("DTSPP_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = Running(command.spawn().expect("start dtspp serve"));
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx
            .recv_timeout(remaining)
            .expect("dtspp serve did not report listening");
        let json: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        if json["message"] == "dtspp listening" {
            let address = json["address"].as_str().unwrap().to_owned();
            return (child, address, rx);
        }
    }
}

#[tokio::test]
async fn failures_are_logged_as_json_with_the_request_id_and_cause_but_answered_opaquely() {
    let (child, address, logs) = serve_in_background(
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/dtspp")],
        &["serve", "--no-migrate"],
    );
    let res = reqwest::Client::new()
        .get(format!("{address}/readyz"))
        .header("x-request-id", "probe-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("probe-4711") && !body.to_lowercase().contains("refused"),
        "{body}"
    );

    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let found = loop {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        match logs.recv_timeout(remaining) {
            Ok(line) => {
                let json: serde_json::Value = serde_json::from_str(&line).unwrap();
                let is_cause = json["span"]["request_id"] == "probe-4711"
                    && json["level"] == "WARN"
                    && json["error"]
                        .as_str()
                        .is_some_and(|e| e.contains("database unavailable"));
                seen.push(line);
                if is_cause {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    drop(child);
    assert!(
        found,
        "no log line with the request id and the cause; saw:\n{}",
        seen.join("\n")
    );
}

#[test]
fn admin_create_makes_an_admin_once_and_refuses_weak_input() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dtspp.db").display());
    let env = [("DATABASE_URL", url.as_str())];
    let create = |email: &str, password: &str| {
        dtspp(
            &["admin", "create", "--email", email, "--password", password],
            &env,
        )
    };
    let ok = create("Chief@DTSPP.test", "a long admin passphrase");
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("chief@dtspp.test"));

    let again = create("chief@dtspp.test", "another long passphrase");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let weak = create("second@dtspp.test", "short");
    assert_eq!(weak.status.code(), Some(1));
    assert!(stderr(&weak).contains("--password"), "{}", stderr(&weak));
    let bad_email = create("not-an-email", "a long admin passphrase");
    assert!(
        stderr(&bad_email).contains("--email"),
        "{}",
        stderr(&bad_email)
    );
}

/// Every line the server logged at trace level, after a session of registering, logging in,
/// refreshing and resetting a password, is free of the secrets that passed through it.
#[tokio::test]
async fn no_password_token_or_hash_ever_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dtspp.db").display());
    let mail_dir = dir.path().join("mail");
    let mail_dir_text = mail_dir.display().to_string();
    let admin_password = "the admin's long passphrase";
    let created = dtspp(
        &[
            "admin",
            "create",
            "--email",
            "root@dtspp.test",
            "--password",
            admin_password,
        ],
        &[("DATABASE_URL", url.as_str())],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let (child, address, logs) = serve_in_background(
        &[
            ("DATABASE_URL", url.as_str()),
            ("DTSPP_LOG", "trace"),
            ("DTSPP_MAIL_DIR", mail_dir_text.as_str()),
            ("DTSPP_OUTBOX_POLL_MS", "50"),
        ],
        &["serve"],
    );
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client.post(format!("{address}{path}")).json(&body).send()
    };
    let password = "vendor's secret passphrase 42";
    let mut form = crate::helpers::vendor_form("quiet@vendor.hk", "56565656");
    form["password"] = serde_json::json!(password);
    assert_eq!(
        post("/api/v1/vendors/register", form)
            .await
            .unwrap()
            .status(),
        201
    );
    let login = |email: &'static str, password: &'static str| {
        post(
            "/api/v1/auth/login",
            serde_json::json!({"email": email, "password": password}),
        )
    };
    let pair: serde_json::Value = login("quiet@vendor.hk", password)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refreshed: serde_json::Value = post(
        "/api/v1/auth/refresh",
        serde_json::json!({"refresh_token": pair["refresh_token"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        login("quiet@vendor.hk", "a wrong password")
            .await
            .unwrap()
            .status(),
        401
    );
    let admin: serde_json::Value = login("root@dtspp.test", admin_password)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    post(
        "/api/v1/auth/password-reset",
        serde_json::json!({"email": "quiet@vendor.hk"}),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mail = crate::helpers::read_mail(&mail_dir);
    assert_eq!(mail.len(), 2, "verification and reset emails");
    drop(child);

    // The process is gone: read its output to the end.
    let mut logged = Vec::new();
    while let Ok(line) = logs.recv_timeout(std::time::Duration::from_secs(5)) {
        logged.push(line);
    }
    let lines = logged.len();
    let logged = logged.join("\n");
    for route in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/vendors/register",
    ] {
        assert!(
            logged.contains(&format!("\"route\":\"{route}\"")),
            "{route} was not logged"
        );
    }
    assert!(
        logged.contains("\"level\":\"TRACE\"") || lines > 20,
        "a trace-level log: {lines} lines"
    );
    let mut secrets = vec![
        password.to_owned(),
        admin_password.to_owned(),
        "a wrong password".to_owned(),
        "$argon2".to_owned(),
    ];
    for value in [&pair, &refreshed, &admin] {
        secrets.push(value["access_token"].as_str().unwrap().to_owned());
        secrets.push(value["refresh_token"].as_str().unwrap().to_owned());
        secrets.push(dtspp::auth::tokens::hash_token(
            value["refresh_token"].as_str().unwrap(),
        ));
    }
    for message in &mail {
        secrets.push(message.link_token());
        secrets.push(dtspp::auth::tokens::hash_token(&message.link_token()));
    }
    for secret in &secrets {
        assert!(
            !logged.contains(secret.as_str()),
            "a secret reached the logs: {secret}"
        );
    }
}

#[test]
fn production_refuses_the_demo_accounts_whose_passwords_are_published() {
    let production = [
        ("DTSPP_ENV", "production"),
        ("DTSPP_SMTP_URL", "smtp://127.0.0.1:2525"),
        (
            "DTSPP_JWT_SECRET",
            "a production secret of at least thirty-two characters",
        ),
        ("DATABASE_URL", "sqlite://./never-created.db"),
    ];
    for args in [
        &["seed", "--demo-accounts"][..],
        &["serve", "--seed-if-empty"][..],
    ] {
        let output = dtspp(args, &production);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains("demo accounts"), "{err}");
    }
}
