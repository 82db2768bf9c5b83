//! The risk indicators of PROGRAMME-RULES.md as pure functions over gathered facts: no I/O,
//! no clock. Each answers the flag it would raise (a [`Hit`]), or none. A flag is an alert for
//! a person to review, never a verdict.
//!
//! `super::store` gathers the facts and raises the hits; the thresholds come from the rules
//! ([`Thresholds`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::text_enum::text_enum;

text_enum! {
    /// The patterns the programme watches for.
    pub enum Indicator {
        PaymentReferenceReuse => "payment_reference_reuse",
        CeilingClustering => "ceiling_clustering",
        VendorVelocity => "vendor_velocity",
        SharedContact => "shared_contact",
        VendorRelatedParty => "vendor_related_party",
        SharedOrigin => "shared_origin",
        SequentialPaymentReferences => "sequential_payment_references",
        FastDelivery => "fast_delivery",
        PaymentBeforeApproval => "payment_before_approval",
        OfficerConcentration => "officer_concentration",
    }
}

text_enum! {
    /// How much a flag matters: `medium` and `high` hold the money.
    pub enum Severity {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
}

text_enum! {
    /// What a flag is about.
    pub enum SubjectType {
        Application => "application",
        Vendor => "vendor",
        Sme => "sme",
        User => "user",
    }
}

impl Indicator {
    /// The severity the rules give this indicator.
    pub fn severity(self) -> Severity {
        match self {
            Indicator::PaymentReferenceReuse
            | Indicator::CeilingClustering
            | Indicator::VendorRelatedParty
            | Indicator::SequentialPaymentReferences => Severity::High,
            Indicator::VendorVelocity
            | Indicator::SharedContact
            | Indicator::SharedOrigin
            | Indicator::FastDelivery
            | Indicator::OfficerConcentration => Severity::Medium,
            Indicator::PaymentBeforeApproval => Severity::Low,
        }
    }
}

impl Severity {
    /// Whether an open flag of this severity holds its applications' money.
    pub fn holds(self) -> bool {
        matches!(self, Severity::Medium | Severity::High)
    }
}

/// The thresholds of the indicators; the defaults are PROGRAMME-RULES.md's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// `ceiling_clustering`: a vendor's live applications in the window…
    #[schema(minimum = 1, maximum = 1000000)]
    pub ceiling_min_applications: i64,
    #[schema(minimum = 1, maximum = 3650)]
    pub ceiling_window_days: i64,
    /// …of which this share (basis points)…
    #[schema(minimum = 1, maximum = 10000)]
    pub ceiling_share_bps: i64,
    /// …have an eligible cost at or above this share (basis points) of the ceiling in force.
    #[schema(minimum = 1, maximum = 10000)]
    pub ceiling_near_bps: i64,
    /// `vendor_velocity`: at least max(floor, Q3 + k x IQR) applications in the window.
    #[schema(minimum = 1, maximum = 1000000)]
    pub velocity_floor: i64,
    #[schema(minimum = 0, maximum = 100)]
    pub velocity_iqr_multiple: i64,
    #[schema(minimum = 1, maximum = 3650)]
    pub velocity_window_days: i64,
    /// `shared_contact`: this many SMEs sharing one key.
    #[schema(minimum = 2, maximum = 1000)]
    pub shared_contact_min_smes: i64,
    /// `shared_origin`: this many SME accounts from one IP within the window, to one vendor.
    #[schema(minimum = 2, maximum = 1000)]
    pub shared_origin_min_accounts: i64,
    #[schema(minimum = 1, maximum = 3650)]
    pub shared_origin_window_days: i64,
    /// `sequential_payment_references`: this many SMEs' references within this span.
    #[schema(minimum = 2, maximum = 1000)]
    pub sequential_min_smes: i64,
    #[schema(minimum = 0, maximum = 1000000)]
    pub sequential_span: i64,
    /// `fast_delivery`: delivered within this many days of approval, for a package declaring at
    /// least the second figure.
    #[schema(minimum = 0, maximum = 3650)]
    pub fast_delivery_days: i64,
    #[schema(minimum = 1, maximum = 3650)]
    pub fast_delivery_min_deployment_days: i64,
    /// `officer_concentration`: one admin approved this share (basis points) of a vendor's
    /// approvals, of at least the second figure, in the window, with at least the third figure
    /// of admins approving in it.
    #[schema(minimum = 1, maximum = 10000)]
    pub officer_share_bps: i64,
    #[schema(minimum = 1, maximum = 1000000)]
    pub officer_min_approvals: i64,
    #[schema(minimum = 1, maximum = 1000)]
    pub officer_min_admins: i64,
    #[schema(minimum = 1, maximum = 3650)]
    pub officer_window_days: i64,
}

/// Each threshold's allowed range (inclusive), as the schema declares it.
pub const THRESHOLD_RANGES: &[(&str, i64, i64)] = &[
    ("ceiling_min_applications", 1, 1000000),
    ("ceiling_window_days", 1, 3650),
    ("ceiling_share_bps", 1, 10000),
    ("ceiling_near_bps", 1, 10000),
    ("velocity_floor", 1, 1000000),
    ("velocity_iqr_multiple", 0, 100),
    ("velocity_window_days", 1, 3650),
    ("shared_contact_min_smes", 2, 1000),
    ("shared_origin_min_accounts", 2, 1000),
    ("shared_origin_window_days", 1, 3650),
    ("sequential_min_smes", 2, 1000),
    ("sequential_span", 0, 1000000),
    ("fast_delivery_days", 0, 3650),
    ("fast_delivery_min_deployment_days", 1, 3650),
    ("officer_share_bps", 1, 10000),
    ("officer_min_approvals", 1, 1000000),
    ("officer_min_admins", 1, 1000),
    ("officer_window_days", 1, 3650),
];

impl Thresholds {
    fn get(&self, field: &str) -> Option<i64> {
        match field {
            "ceiling_min_applications" => Some(self.ceiling_min_applications),
            "ceiling_window_days" => Some(self.ceiling_window_days),
            "ceiling_share_bps" => Some(self.ceiling_share_bps),
            "ceiling_near_bps" => Some(self.ceiling_near_bps),
            "velocity_floor" => Some(self.velocity_floor),
            "velocity_iqr_multiple" => Some(self.velocity_iqr_multiple),
            "velocity_window_days" => Some(self.velocity_window_days),
            "shared_contact_min_smes" => Some(self.shared_contact_min_smes),
            "shared_origin_min_accounts" => Some(self.shared_origin_min_accounts),
            "shared_origin_window_days" => Some(self.shared_origin_window_days),
            "sequential_min_smes" => Some(self.sequential_min_smes),
            "sequential_span" => Some(self.sequential_span),
            "fast_delivery_days" => Some(self.fast_delivery_days),
            "fast_delivery_min_deployment_days" => Some(self.fast_delivery_min_deployment_days),
            "officer_share_bps" => Some(self.officer_share_bps),
            "officer_min_approvals" => Some(self.officer_min_approvals),
            "officer_min_admins" => Some(self.officer_min_admins),
            "officer_window_days" => Some(self.officer_window_days),
            _ => None,
        }
    }

    /// Each threshold outside its range: `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        THRESHOLD_RANGES
            .iter()
            .filter_map(|&(field, lo, hi)| {
                let v = self.get(field)?;
                (!(lo..=hi).contains(&v)).then(|| (field, format!("must be from {lo} to {hi}")))
            })
            .collect()
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            ceiling_min_applications: 20,
            ceiling_window_days: 90,
            ceiling_share_bps: 8_000,
            ceiling_near_bps: 9_500,
            velocity_floor: 50,
            velocity_iqr_multiple: 3,
            velocity_window_days: 30,
            shared_contact_min_smes: 3,
            shared_origin_min_accounts: 3,
            shared_origin_window_days: 7,
            sequential_min_smes: 3,
            sequential_span: 20,
            fast_delivery_days: 2,
            fast_delivery_min_deployment_days: 14,
            officer_share_bps: 8_000,
            officer_min_approvals: 20,
            officer_min_admins: 3,
            officer_window_days: 90,
        }
    }
}

/// What a flag is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: SubjectType,
    pub id: String,
}

impl PartialOrd for SubjectType {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SubjectType {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// A flag an indicator would raise: about `subject`, naming the applications it concerns, with
/// the facts that fired it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub indicator: Indicator,
    pub subject: Subject,
    pub application_ids: BTreeSet<String>,
    pub evidence: serde_json::Value,
}

impl Hit {
    fn new(
        indicator: Indicator,
        kind: SubjectType,
        id: &str,
        applications: impl IntoIterator<Item = String>,
        evidence: serde_json::Value,
    ) -> Hit {
        Hit {
            indicator,
            subject: Subject {
                kind,
                id: id.to_owned(),
            },
            application_ids: applications.into_iter().collect(),
            evidence,
        }
    }

    pub fn severity(&self) -> Severity {
        self.indicator.severity()
    }
}

/// `payment_reference_reuse`: application `app` gave a reference that `others` already use.
pub fn payment_reference_reuse(app: &str, others: &[String], reference_key: &str) -> Option<Hit> {
    (!others.is_empty()).then(|| {
        Hit::new(
            Indicator::PaymentReferenceReuse,
            SubjectType::Application,
            app,
            std::iter::once(app.to_owned()).chain(others.iter().cloned()),
            json!({"reference_key": reference_key, "also_used_by": others}),
        )
    })
}

/// One live application of a vendor, for `ceiling_clustering`.
#[derive(Debug, Clone)]
pub struct CostFact {
    pub application_id: String,
    pub eligible_cost_cents: i64,
    pub ceiling_cents: i64,
}

/// Whether `cost` is at or above `bps` basis points of `ceiling`.
/// Whether `cost` is at or above `bps` basis points of `ceiling`.
pub fn near(cost: i64, ceiling: i64, bps: i64) -> bool {
    i128::from(cost) * 10_000 >= i128::from(ceiling) * i128::from(bps)
}

/// `ceiling_clustering`: at least `ceiling_min_applications` live applications of a vendor in
/// the window, and at least `ceiling_share_bps` of them near the ceiling; flags those near it.
pub fn ceiling_clustering(t: &Thresholds, vendor_id: &str, apps: &[CostFact]) -> Option<Hit> {
    let total = apps.len() as i64;
    if total < t.ceiling_min_applications || total == 0 {
        return None;
    }
    let at_ceiling: Vec<&CostFact> = apps
        .iter()
        .filter(|a| near(a.eligible_cost_cents, a.ceiling_cents, t.ceiling_near_bps))
        .collect();
    let share_bps = at_ceiling.len() as i64 * 10_000 / total;
    (share_bps >= t.ceiling_share_bps).then(|| {
        Hit::new(
            Indicator::CeilingClustering,
            SubjectType::Vendor,
            vendor_id,
            at_ceiling.iter().map(|a| a.application_id.clone()),
            json!({
                "live_applications": total,
                "at_or_near_ceiling": at_ceiling.len(),
                "share_percent": share_bps as f64 / 100.0,
                "window_days": t.ceiling_window_days,
            }),
        )
    })
}

/// The first quartile, median and third quartile of `values`, by linear interpolation between
/// order statistics (the method of R's default `quantile`, type 7). `None` for no values.
pub fn quartiles(values: &[i64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let h = (v.len() - 1) as f64 * p;
        let lo = h.floor() as usize;
        let hi = h.ceil() as usize;
        v[lo] + (h - lo as f64) * (v[hi] - v[lo])
    };
    Some((q(0.25), q(0.5), q(0.75)))
}

/// `vendor_velocity`'s fence: max(floor, Q3 + k x IQR) over every vendor's count.
pub fn velocity_fence(t: &Thresholds, counts: &[i64]) -> f64 {
    let upper = quartiles(counts)
        .map(|(q1, _, q3)| q3 + t.velocity_iqr_multiple as f64 * (q3 - q1))
        .unwrap_or(0.0);
    upper.max(t.velocity_floor as f64)
}

/// `vendor_velocity`: the vendors whose applications in the window reach the fence, each with
/// those applications. `counts` holds every vendor with any application in the window.
pub fn vendor_velocity(t: &Thresholds, counts: &BTreeMap<String, Vec<String>>) -> Vec<Hit> {
    let all: Vec<i64> = counts.values().map(|a| a.len() as i64).collect();
    let fence = velocity_fence(t, &all);
    counts
        .iter()
        .filter(|(_, apps)| apps.len() as f64 >= fence)
        .map(|(vendor, apps)| {
            Hit::new(
                Indicator::VendorVelocity,
                SubjectType::Vendor,
                vendor,
                apps.iter().cloned(),
                json!({
                    "applications_in_window": apps.len(),
                    "fence": fence,
                    "window_days": t.velocity_window_days,
                    "vendors_compared": all.len(),
                }),
            )
        })
        .collect()
}

/// Which contact detail SMEs share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Phone,
    Address,
    EmailDomain,
}

impl ContactKind {
    /// This kind's key in `contact`, if it has one.
    pub fn key_of(self, contact: &Contact) -> Option<&str> {
        match self {
            ContactKind::Phone => contact.phone_key.as_deref(),
            ContactKind::Address => contact.address_key.as_deref(),
            ContactKind::EmailDomain => contact.email_domain.as_deref(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Phone => "phone",
            ContactKind::Address => "address",
            ContactKind::EmailDomain => "email_domain",
        }
    }
}

/// An SME sharing a contact key, in order of registration, with its live applications.
#[derive(Debug, Clone)]
pub struct SmeApplications {
    pub sme_id: String,
    pub application_ids: Vec<String>,
}

/// `shared_contact`: at least `shared_contact_min_smes` SMEs share one normalised phone,
/// address or private email domain. The flag is about the first SME to register with it, so
/// that later ones join the same flag; it names the SMEs' live applications. No flag while
/// none of them has applied.
pub fn shared_contact(
    t: &Thresholds,
    kind: ContactKind,
    key: &str,
    smes: &[SmeApplications],
) -> Option<Hit> {
    let distinct: BTreeSet<&str> = smes.iter().map(|s| s.sme_id.as_str()).collect();
    let apps: Vec<String> = smes
        .iter()
        .flat_map(|s| s.application_ids.iter().cloned())
        .collect();
    if (distinct.len() as i64) < t.shared_contact_min_smes || apps.is_empty() {
        return None;
    }
    let anchor = &smes.first()?.sme_id;
    Some(Hit::new(
        Indicator::SharedContact,
        SubjectType::Sme,
        anchor,
        apps,
        json!({"shared": kind.as_str(), "key": key, "sme_ids": distinct}),
    ))
}

/// An application joining a cluster already under an open flag of `indicator` on `subject`:
/// the flag keeps its evidence, with `sme_id` (if given) added to its `sme_ids` list. The
/// event-time checks use it so that an application to a large flagged cluster costs one row,
/// not a re-reading of the cluster (the periodic scan re-reads it).
pub fn joining_open_flag(
    indicator: Indicator,
    subject: Subject,
    application_id: &str,
    sme_id: Option<&str>,
    mut evidence: serde_json::Value,
) -> Hit {
    if let Some(sme_id) = sme_id
        && let Some(ids) = evidence
            .get_mut("sme_ids")
            .and_then(serde_json::Value::as_array_mut)
        && !ids.iter().any(|v| v.as_str() == Some(sme_id))
    {
        ids.push(sme_id.into());
    }
    Hit {
        indicator,
        subject,
        application_ids: BTreeSet::from([application_id.to_owned()]),
        evidence,
    }
}

/// The contact details of an SME or a vendor, normalised.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub br_number: Option<String>,
    pub phone_key: Option<String>,
    pub address_key: Option<String>,
    pub email_domain: Option<String>,
    pub name_key: Option<String>,
}

/// `vendor_related_party`: the SME shares a BR number, phone, address, private email domain or
/// contact name with the vendor of its application.
pub fn vendor_related_party(application_id: &str, sme: &Contact, vendor: &Contact) -> Option<Hit> {
    let same =
        |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x == y);
    let shared: Vec<&str> = [
        ("br_number", same(&sme.br_number, &vendor.br_number)),
        ("phone", same(&sme.phone_key, &vendor.phone_key)),
        ("address", same(&sme.address_key, &vendor.address_key)),
        (
            "email_domain",
            same(&sme.email_domain, &vendor.email_domain),
        ),
        ("contact_name", same(&sme.name_key, &vendor.name_key)),
    ]
    .into_iter()
    .filter_map(|(what, yes)| yes.then_some(what))
    .collect();
    (!shared.is_empty()).then(|| {
        Hit::new(
            Indicator::VendorRelatedParty,
            SubjectType::Application,
            application_id,
            [application_id.to_owned()],
            json!({"shared_with_vendor": shared}),
        )
    })
}

/// An SME account's registration or application from an IP, and its application to the vendor
/// in question.
#[derive(Debug, Clone)]
pub struct OriginFact {
    pub sme_id: String,
    pub application_id: String,
    pub at: NaiveDateTime,
}

/// `shared_origin`: at least `shared_origin_min_accounts` SME accounts registered or applied
/// from `ip` within a window of `shared_origin_window_days`, and applied to this vendor; flags
/// their applications to it. `facts` are every such event from `ip` concerning the vendor.
pub fn shared_origin(
    t: &Thresholds,
    vendor_id: &str,
    ip: &str,
    facts: &[OriginFact],
) -> Option<Hit> {
    if uninformative_ip(ip) {
        return None;
    }
    let mut sorted: Vec<&OriginFact> = facts.iter().collect();
    sorted.sort_by_key(|f| f.at);
    let window = chrono::Duration::days(t.shared_origin_window_days);
    let mut flagged: BTreeSet<String> = BTreeSet::new();
    let mut smes: BTreeSet<String> = BTreeSet::new();
    for (i, first) in sorted.iter().enumerate() {
        let inside: Vec<&&OriginFact> = sorted[i..]
            .iter()
            .take_while(|f| f.at - first.at <= window)
            .collect();
        let accounts: BTreeSet<&str> = inside.iter().map(|f| f.sme_id.as_str()).collect();
        if accounts.len() as i64 >= t.shared_origin_min_accounts {
            flagged.extend(inside.iter().map(|f| f.application_id.clone()));
            smes.extend(accounts.into_iter().map(str::to_owned));
        }
    }
    (!flagged.is_empty()).then(|| {
        Hit::new(
            Indicator::SharedOrigin,
            SubjectType::Vendor,
            vendor_id,
            flagged,
            json!({"client_ip": ip, "sme_ids": smes, "window_days": t.shared_origin_window_days}),
        )
    })
}

/// Whether `ip` says nothing about who the client was: a loopback or unspecified address means
/// the client was on the server itself (a script, a test, a misconfigured proxy).
pub fn uninformative_ip(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>()
        .map(|a| a.is_loopback() || a.is_unspecified())
        .unwrap_or(false)
}

/// A payment reference given for one of a vendor's applications.
#[derive(Debug, Clone)]
pub struct ReferenceFact {
    pub application_id: String,
    pub sme_id: String,
    pub reference: String,
}

/// `sequential_payment_references`: the references of at least `sequential_min_smes` SMEs for
/// one vendor differ only in a trailing number, all within a span of `sequential_span`.
pub fn sequential_payment_references(
    t: &Thresholds,
    vendor_id: &str,
    refs: &[ReferenceFact],
) -> Option<Hit> {
    let mut by_prefix: BTreeMap<String, Vec<(u64, &ReferenceFact)>> = BTreeMap::new();
    for r in refs {
        if let Some((prefix, n)) = super::normalise::trailing_number(&r.reference) {
            by_prefix.entry(prefix).or_default().push((n, r));
        }
    }
    let span = u64::try_from(t.sequential_span).unwrap_or(0);
    let mut flagged: BTreeSet<String> = BTreeSet::new();
    let mut runs = Vec::new();
    for (prefix, mut numbered) in by_prefix {
        numbered.sort_by_key(|(n, _)| *n);
        for i in 0..numbered.len() {
            let start = numbered[i].0;
            let inside: Vec<&(u64, &ReferenceFact)> = numbered[i..]
                .iter()
                .take_while(|(n, _)| n - start <= span)
                .collect();
            let smes: BTreeSet<&str> = inside.iter().map(|(_, r)| r.sme_id.as_str()).collect();
            if smes.len() as i64 >= t.sequential_min_smes {
                flagged.extend(inside.iter().map(|(_, r)| r.application_id.clone()));
                runs.push(
                    json!({"prefix": prefix, "from": start, "to": inside.last().map(|x| x.0)}),
                );
            }
        }
    }
    (!flagged.is_empty()).then(|| {
        Hit::new(
            Indicator::SequentialPaymentReferences,
            SubjectType::Vendor,
            vendor_id,
            flagged,
            json!({"runs": runs, "span": t.sequential_span}),
        )
    })
}

/// `fast_delivery`: delivered within `fast_delivery_days` of approval, for a package whose
/// declared deployment time is at least `fast_delivery_min_deployment_days`.
pub fn fast_delivery(
    t: &Thresholds,
    application_id: &str,
    approved_on: NaiveDate,
    delivered_on: NaiveDate,
    deployment_days: i64,
) -> Option<Hit> {
    let days = (delivered_on - approved_on).num_days();
    (deployment_days >= t.fast_delivery_min_deployment_days && days <= t.fast_delivery_days).then(
        || {
            Hit::new(
                Indicator::FastDelivery,
                SubjectType::Application,
                application_id,
                [application_id.to_owned()],
                json!({"approved_on": approved_on, "delivered_on": delivered_on, "days": days, "declared_deployment_days": deployment_days}),
            )
        },
    )
}

/// `payment_before_approval`: the SME's declared payment date is before the approval date.
pub fn payment_before_approval(
    application_id: &str,
    paid_on: NaiveDate,
    approved_on: NaiveDate,
) -> Option<Hit> {
    (paid_on < approved_on).then(|| {
        Hit::new(
            Indicator::PaymentBeforeApproval,
            SubjectType::Application,
            application_id,
            [application_id.to_owned()],
            json!({"paid_on": paid_on, "approved_on": approved_on}),
        )
    })
}

/// One approval of one of a vendor's applications.
#[derive(Debug, Clone)]
pub struct ApprovalFact {
    pub admin_id: String,
    pub application_id: String,
}

/// `officer_concentration`: one admin approved at least `officer_share_bps` of a vendor's
/// approvals (at least `officer_min_approvals` of them) in the window, while at least
/// `officer_min_admins` admins approved applications in it (`admins_approving`, programme-wide).
pub fn officer_concentration(
    t: &Thresholds,
    vendor_id: &str,
    approvals: &[ApprovalFact],
    admins_approving: i64,
) -> Option<Hit> {
    let total = approvals.len() as i64;
    if total < t.officer_min_approvals || admins_approving < t.officer_min_admins || total == 0 {
        return None;
    }
    let mut by_admin: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in approvals {
        by_admin
            .entry(a.admin_id.as_str())
            .or_default()
            .push(a.application_id.as_str());
    }
    let (admin, apps) = by_admin.into_iter().max_by_key(|(_, apps)| apps.len())?;
    let share_bps = apps.len() as i64 * 10_000 / total;
    (share_bps >= t.officer_share_bps).then(|| {
        Hit::new(
            Indicator::OfficerConcentration,
            SubjectType::Vendor,
            vendor_id,
            apps.iter().map(|s| (*s).to_owned()),
            json!({"admin_id": admin, "approved": apps.len(), "of": total, "share_percent": share_bps as f64 / 100.0, "admins_approving": admins_approving, "window_days": t.officer_window_days}),
        )
    })
}

#[cfg(test)]
mod tests;
