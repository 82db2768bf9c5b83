//! The SME journey's bilingual emails (English, then Traditional Chinese).

use super::workflow::Status;
use crate::outbox::Email;

/// To a vendor: an SME enquired on one of its packages.
pub fn enquiry_received(to: &str, company: &str, sme: &str, package: &str) -> Email {
    Email {
        template: "enquiry_received",
        to: to.to_owned(),
        subject: "New enquiry 新查詢 — DTSPP".to_owned(),
        body: format!(
            "Dear {company},\n\n{sme} has enquired about \"{package}\". Please confirm or decline \
             it in the vendor portal.\n\n----\n\n{company}：\n\n{sme} 查詢了「{package}」，請於供應商\
             平台確認或婉拒。\n"
        ),
    }
}

/// To an SME: the vendor confirmed or declined its enquiry.
pub fn enquiry_answered(
    to: &str,
    sme: &str,
    vendor: &str,
    status: &str,
    reason: Option<&str>,
) -> Email {
    let (en, zh) = if status == "confirmed" {
        (
            "confirmed your enquiry. You can now apply for the subsidy.",
            "已確認您的查詢，您現可申請資助。",
        )
    } else {
        ("declined your enquiry.", "婉拒了您的查詢。")
    };
    let reason_en = reason
        .map(|r| format!("\nReason: {r}\n"))
        .unwrap_or_default();
    let reason_zh = reason.map(|r| format!("\n原因：{r}\n")).unwrap_or_default();
    Email {
        template: "enquiry_answered",
        to: to.to_owned(),
        subject: format!("Enquiry {status} 查詢回覆 — DTSPP"),
        body: format!(
            "Dear {sme},\n\n{vendor} {en}\n{reason_en}\n----\n\n{sme}：\n\n{vendor} {zh}\n{reason_zh}"
        ),
    }
}

/// What the application's new status means, in both languages.
fn meaning(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Reserved => ("The subsidy is reserved for it.", "資助款項已預留。"),
        Status::Waitlisted => (
            "The budget cannot fund it now; it is on the waitlist, first come first served.",
            "預算暫未能支付，申請已按先到先得次序列入輪候名單。",
        ),
        Status::Approved => (
            "It is approved. The vendor must deliver by the deadline.",
            "申請已獲批核，供應商須於限期前交付。",
        ),
        Status::Rejected => ("It has been rejected.", "申請未獲批核。"),
        Status::Withdrawn => ("It has been withdrawn.", "申請已撤回。"),
        Status::Expired => (
            "It expired: delivery did not come within the deadline.",
            "申請已逾期：未於限期內交付。",
        ),
        Status::Delivered => (
            "The vendor reports delivery. The SME should confirm it with proof of payment.",
            "供應商已報告交付，中小企須連同付款證明確認。",
        ),
        Status::DeliveryConfirmed => ("Delivery and payment are confirmed.", "交付及付款已確認。"),
        Status::ClaimVerified => ("The claim is verified.", "申領已核實。"),
        Status::Disbursed => ("The subsidy has been disbursed.", "資助款項已發放。"),
    }
}

/// To an SME or vendor: an application moved.
pub fn application_status(
    to: &str,
    name: &str,
    package: &str,
    status: Status,
    subsidy: &str,
    comment: Option<&str>,
) -> Email {
    let (en, zh) = meaning(status);
    let comment_en = comment
        .map(|c| format!("\nComment: {c}\n"))
        .unwrap_or_default();
    let comment_zh = comment
        .map(|c| format!("\n備註：{c}\n"))
        .unwrap_or_default();
    Email {
        template: "application_status",
        to: to.to_owned(),
        subject: format!("Application {status} 申請狀態更新 — DTSPP"),
        body: format!(
            "Dear {name},\n\nThe application for \"{package}\" (subsidy HK${subsidy}) is now {status}. \
             {en}\n{comment_en}\n----\n\n{name}：\n\n「{package}」的申請（資助額 港幣 {subsidy} 元）{zh}\n{comment_zh}"
        ),
    }
}
