//! Sending the outbox: an SMTP transport (or, in development with no SMTP server, `.eml`
//! files), the bilingual templates, and the worker that delivers due rows with retries.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::db::Db;
use crate::error::ApiError;
use crate::outbox::{self, Claimed, Email};

/// How long a claimed row stays leased to one worker before another may retry it.
const LEASE: Duration = Duration::from_secs(300);
/// How many rows one pass claims.
const BATCH: i64 = 20;

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development only: each message becomes an `.eml` file in a directory.
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    /// SMTP when `DTSPP_SMTP_URL` is set; otherwise `.eml` files in `DTSPP_MAIL_DIR`
    /// (configuration refuses that in production).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Mailer> {
        match &settings.smtp_url {
            Some(url) => {
                let transport =
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())?
                        .timeout(Some(Duration::from_secs(20)))
                        .build();
                Ok(Mailer::Smtp(transport))
            }
            None => Mailer::files(&settings.mail_dir),
        }
    }

    /// Writes each message to `dir` as an `.eml` file.
    pub fn files(dir: &Path) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(dir)?;
        tracing::info!(dir = %dir.display(), "no DTSPP_SMTP_URL: outgoing mail is written as .eml files");
        Ok(Mailer::Files(AsyncFileTransport::<Tokio1Executor>::new(
            dir,
        )))
    }

    async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Mailer::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Mailer::Files(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

/// Builds the message for a claimed row. The body is base64-encoded, so that Chinese text
/// and long links survive any mail relay unchanged, and the Message-ID derives from the row,
/// so that a receiver can recognise a redelivery.
fn message(from: &Mailbox, row: &Claimed) -> Result<Message, String> {
    let to: Mailbox = row
        .recipient
        .parse()
        .map_err(|e| format!("bad recipient: {e}"))?;
    let body = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::Base64)
        .body(row.body_text.clone());
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(format!("<{}@outbox.dtspp>", row.id)));
    let built = match (
        &row.attachment_name,
        &row.attachment_type,
        &row.attachment_body,
    ) {
        (Some(name), Some(content_type), Some(content)) => {
            let content_type = ContentType::parse(content_type)
                .map_err(|e| format!("bad attachment type {content_type:?}: {e}"))?;
            let file =
                lettre::message::Attachment::new(name.clone()).body(content.clone(), content_type);
            builder.multipart(MultiPart::mixed().singlepart(body).singlepart(file))
        }
        _ => builder.singlepart(body),
    };
    built.map_err(|e| format!("cannot build the message: {e}"))
}

/// What one delivery pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
}

/// Delivers the outbox.
#[derive(Clone)]
pub struct OutboxWorker {
    db: Db,
    mailer: Mailer,
    from: Mailbox,
    max_attempts: u32,
}

impl OutboxWorker {
    pub fn new(db: Db, mailer: Mailer, from: Mailbox, max_attempts: u32) -> OutboxWorker {
        OutboxWorker {
            db,
            mailer,
            from,
            max_attempts,
        }
    }

    /// Claims the rows due at `now` and tries each once.
    pub async fn deliver_due(&self, now: NaiveDateTime) -> Result<DeliveryReport, ApiError> {
        let claimed = self
            .db
            .run(move |conn| Ok(outbox::claim_due(conn, now, LEASE, BATCH)?))
            .await?;
        let mut report = DeliveryReport::default();
        for row in claimed {
            let outcome = match message(&self.from, &row) {
                Ok(message) => self.mailer.send(message).await,
                Err(e) => Err(e),
            };
            let max_attempts = self.max_attempts;
            let done = crate::time::now();
            match outcome {
                Ok(()) => {
                    let id = row.id.clone();
                    self.db
                        .run(move |conn| Ok(outbox::mark_sent(conn, &id, done)?))
                        .await?;
                    tracing::info!(outbox_id = %row.id, attempt = row.attempts, "email sent");
                    report.sent += 1;
                }
                Err(error) => {
                    let (id, attempt) = (row.id.clone(), row.attempts);
                    let error_text = error.clone();
                    let dead = self
                        .db
                        .run(move |conn| {
                            Ok(outbox::mark_failed(
                                conn,
                                &row,
                                max_attempts,
                                &error_text,
                                done,
                            )?)
                        })
                        .await?;
                    if dead {
                        tracing::error!(outbox_id = %id, attempt, %error, "email dead after its last attempt");
                        report.dead += 1;
                    } else {
                        tracing::warn!(outbox_id = %id, attempt, %error, "email send failed; will retry");
                        report.retrying += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Delivers every `poll` until the task is aborted.
    pub async fn run(self: Arc<Self>, poll: Duration) {
        let mut interval = tokio::time::interval(poll);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = self.deliver_due(crate::time::now()).await {
                tracing::warn!(error = %error, "outbox delivery pass failed");
            }
        }
    }
}

/// The bilingual (English, then Traditional Chinese) emails the service sends.
pub mod templates {
    use super::Email;

    /// The link to confirm an email address.
    pub fn verify_email(to: &str, public_url: &str, token: &str) -> Email {
        let link = format!("{public_url}/verify-email?token={token}");
        Email {
            template: "verify_email",
            to: to.to_owned(),
            subject: "Confirm your email address 確認您的電郵地址 — DTSPP".to_owned(),
            body: format!(
                "Welcome to the Digital Transformation Support Pilot Programme.\n\n\
                 Please confirm your email address by opening this link within 48 hours:\n\n\
                 {link}\n\n\
                 If you did not register, you can ignore this email.\n\n\
                 ----\n\n\
                 歡迎使用數碼轉型支援先導計劃。\n\n\
                 請於 48 小時內開啟以下連結，確認您的電郵地址：\n\n\
                 {link}\n\n\
                 如您並未登記，請忽略本電郵。\n"
            ),
        }
    }

    /// A vendor's verification status changed.
    pub fn vendor_status(to: &str, company: &str, status: &str, reason: Option<&str>) -> Email {
        let (en, zh) = match status {
            "approved" => (
                "has been approved. You can now submit packages for listing.",
                "已獲批核，現可提交方案上架申請。",
            ),
            "rejected" => ("has not been approved.", "未獲批核。"),
            "suspended" => (
                "has been suspended. Its packages are no longer listed.",
                "已被暫停，其方案已從目錄下架。",
            ),
            _ => ("has changed status.", "狀態已更新。"),
        };
        let reason_en = reason
            .map(|r| format!("\nReason: {r}\n"))
            .unwrap_or_default();
        let reason_zh = reason.map(|r| format!("\n原因：{r}\n")).unwrap_or_default();
        Email {
            template: "vendor_status",
            to: to.to_owned(),
            subject: format!("Vendor registration {status} 供應商登記狀態更新 — DTSPP"),
            body: format!(
                "Your vendor registration for {company} {en}\n{reason_en}\n\
                 ----\n\n\
                 {company} 的供應商登記{zh}\n{reason_zh}"
            ),
        }
    }

    /// A step of a package's review: submitted, returned, listed, rejected, suspended…
    pub fn package_status(
        to: &str,
        company: &str,
        package: &str,
        action: &str,
        status: &str,
        comment: Option<&str>,
    ) -> Email {
        let (en, zh) = match action {
            "submit" => ("was received and awaits review.", "已收到，正等候審批。"),
            "withdraw" => ("was withdrawn from the programme.", "已撤回。"),
            "approve" => ("is now listed in the catalogue.", "已上架。"),
            "request_changes" => (
                "needs changes before it can be listed.",
                "需要修改後方可上架。",
            ),
            "reject" => ("was not approved.", "未獲批核。"),
            "suspend" => (
                "has been suspended and removed from the catalogue.",
                "已被暫停並從目錄下架。",
            ),
            _ => ("has changed status.", "狀態已更新。"),
        };
        let comment_en = comment
            .map(|c| format!("\nComment from the programme office: {c}\n"))
            .unwrap_or_default();
        let comment_zh = comment
            .map(|c| format!("\n計劃辦事處意見：{c}\n"))
            .unwrap_or_default();
        Email {
            template: "package_status",
            to: to.to_owned(),
            subject: format!("Package {status}: {package} 方案狀態更新 — DTSPP"),
            body: format!(
                "Dear {company},\n\nYour package \"{package}\" {en}\n{comment_en}\n\
                 ----\n\n\
                 {company}：\n\n閣下的方案「{package}」{zh}\n{comment_zh}"
            ),
        }
    }

    /// The link to choose a new password.
    pub fn password_reset(to: &str, public_url: &str, token: &str) -> Email {
        let link = format!("{public_url}/reset-password?token={token}");
        Email {
            template: "password_reset",
            to: to.to_owned(),
            subject: "Reset your password 重設您的密碼 — DTSPP".to_owned(),
            body: format!(
                "Someone asked to reset the password of your DTSPP account.\n\n\
                 To choose a new password, open this link within one hour:\n\n\
                 {link}\n\n\
                 If it was not you, ignore this email: your password stays as it is.\n\n\
                 ----\n\n\
                 有人要求重設您的數碼轉型支援先導計劃帳戶密碼。\n\n\
                 如要設定新密碼，請於一小時內開啟以下連結：\n\n\
                 {link}\n\n\
                 如並非您本人提出，請忽略本電郵，您的密碼將維持不變。\n"
            ),
        }
    }
}
