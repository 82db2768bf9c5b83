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
    assert!(
        log.contains(r#""versions":"20261126000001,20261126000002""#),
        "{log}"
    );
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
