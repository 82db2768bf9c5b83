//! The periodic scan: every indicator over the whole population, including those that need
//! statistics across vendors (`vendor_velocity`). It reads the facts from one snapshot, lets
//! the engine decide, and raises each hit in its own short transaction, so a long scan never
//! holds a lock that the money path waits for. Safe with several instances: raising is
//! idempotent.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use super::engine::{self, Hit, Thresholds};
use super::store::{self, LIVE};
use crate::auth::RequestMeta;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;

/// What a scan did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ScanReport {
    /// New flags opened.
    pub flags_raised: i64,
    /// Open flags that applications joined.
    pub flags_updated: i64,
    /// Live applications looked at.
    pub applications_scanned: i64,
}

#[derive(QueryableByName)]
struct VendorApp {
    #[diesel(sql_type = Text)]
    vendor_id: String,
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    key: String,
}

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = Text)]
    ip: String,
    #[diesel(sql_type = Text)]
    vendor_id: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Related {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    sme_id: String,
    #[diesel(sql_type = Text)]
    vendor_id: String,
}

#[derive(QueryableByName)]
struct Dated {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Timestamp)]
    approved_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    delivered_on: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    paid_on: Option<String>,
    #[diesel(sql_type = BigInt)]
    deployment_days: i64,
}

fn ids(
    conn: &mut DbConnection,
    sql: &str,
    since: Option<NaiveDateTime>,
) -> QueryResult<Vec<String>> {
    let q = diesel::sql_query(sql);
    let rows: Vec<Key> = match since {
        Some(s) => q.bind::<Timestamp, _>(s).load(conn)?,
        None => q.load(conn)?,
    };
    Ok(rows.into_iter().map(|k| k.key).collect())
}

/// Every hit the population gives now, with the number of live applications looked at.
pub fn gather(
    conn: &mut DbConnection,
    t: &Thresholds,
    now: NaiveDateTime,
) -> Result<(Vec<Hit>, i64), ApiError> {
    let days = |d: i64| now - chrono::Duration::days(d);
    let scanned: Count = diesel::sql_query(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM applications a WHERE {LIVE}"
    ))
    .get_result(conn)?;
    let mut hits = Vec::new();

    // vendor_velocity: every vendor's applications in the window, against the peers' fence.
    let rows: Vec<VendorApp> =
        diesel::sql_query("SELECT a.vendor_id, a.id FROM applications a WHERE a.created_at >= $1")
            .bind::<Timestamp, _>(days(t.velocity_window_days))
            .load(conn)?;
    let mut by_vendor: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        by_vendor.entry(r.vendor_id).or_default().push(r.id);
    }
    hits.extend(engine::vendor_velocity(t, &by_vendor));

    // ceiling_clustering: vendors with enough live applications in the window.
    let vendors = ids(
        conn,
        &format!(
            "SELECT a.vendor_id AS key FROM applications a WHERE a.created_at >= $1 \
             AND a.ceiling_cents IS NOT NULL AND {LIVE} GROUP BY a.vendor_id \
             HAVING COUNT(*) >= {}",
            t.ceiling_min_applications
        ),
        Some(days(t.ceiling_window_days)),
    )?;
    for v in vendors {
        hits.extend(store::ceiling_clustering_of(conn, t, &v, now, None)?);
    }

    // shared_contact: keys shared by enough SMEs.
    for (kind, column) in [
        (engine::ContactKind::Phone, "phone_key"),
        (engine::ContactKind::Address, "address_key"),
        (engine::ContactKind::EmailDomain, "email_domain"),
    ] {
        let keys = ids(
            conn,
            &format!(
                "SELECT {column} AS key FROM smes WHERE {column} IS NOT NULL GROUP BY {column} \
                 HAVING COUNT(*) >= {}",
                t.shared_contact_min_smes
            ),
            None,
        )?;
        for key in keys {
            let smes = store::sharing(conn, kind, &key)?;
            hits.extend(engine::shared_contact(t, kind, &key, &smes));
        }
    }

    // shared_origin: (IP, vendor) pairs with enough SME accounts, from applying or registering.
    let pairs: Vec<Pair> = diesel::sql_query(format!(
        "SELECT ip, vendor_id FROM ( \
           SELECT a.client_ip AS ip, a.vendor_id, a.sme_id FROM applications a \
           WHERE a.client_ip IS NOT NULL AND {LIVE} \
           UNION \
           SELECT u.registration_ip AS ip, a.vendor_id, a.sme_id FROM users u \
           JOIN smes s ON s.user_id = u.id JOIN applications a ON a.sme_id = s.id \
           WHERE u.registration_ip IS NOT NULL AND {LIVE} \
         ) origins GROUP BY ip, vendor_id HAVING COUNT(DISTINCT sme_id) >= {}",
        t.shared_origin_min_accounts
    ))
    .load(conn)?;
    for p in pairs {
        hits.extend(store::shared_origin_of(conn, t, &p.vendor_id, &p.ip, None)?);
    }

    // sequential_payment_references: vendors with references from enough SMEs.
    let vendors = ids(
        conn,
        &format!(
            "SELECT a.vendor_id AS key FROM applications a WHERE a.payment_reference IS NOT NULL \
             AND {LIVE} GROUP BY a.vendor_id HAVING COUNT(DISTINCT a.sme_id) >= {}",
            t.sequential_min_smes
        ),
        None,
    )?;
    for v in vendors {
        hits.extend(store::sequential_references_of(conn, t, &v)?);
    }

    // officer_concentration: vendors with enough approvals in the window.
    let vendors = ids(
        conn,
        &format!(
            "SELECT a.vendor_id AS key FROM applications a WHERE a.approved_at >= $1 \
             AND a.approved_by IS NOT NULL GROUP BY a.vendor_id HAVING COUNT(*) >= {}",
            t.officer_min_approvals
        ),
        Some(days(t.officer_window_days)),
    )?;
    for v in vendors {
        hits.extend(store::officer_concentration_of(conn, t, &v, now)?);
    }

    // vendor_related_party: applications whose SME shares a detail with the vendor.
    let related: Vec<Related> = diesel::sql_query(format!(
        "SELECT a.id, a.sme_id, a.vendor_id FROM applications a \
         JOIN smes s ON s.id = a.sme_id JOIN vendors v ON v.id = a.vendor_id \
         WHERE {LIVE} AND (s.br_number = v.br_number OR s.phone_key = v.phone_key \
           OR s.address_key = v.address_key OR s.email_domain = v.email_domain)"
    ))
    .load(conn)?;
    for r in related {
        let sme = store::sme_contact(conn, &r.sme_id)?;
        let vendor = store::vendor_contact(conn, &r.vendor_id)?;
        hits.extend(engine::vendor_related_party(&r.id, &sme, &vendor));
    }

    // fast_delivery and payment_before_approval: approved applications with the dates given.
    let dated: Vec<Dated> = diesel::sql_query(format!(
        "SELECT a.id, a.approved_at, a.delivered_on, a.paid_on, r.deployment_days \
         FROM applications a JOIN enquiries e ON e.id = a.enquiry_id \
         JOIN package_revisions r ON r.id = e.revision_id \
         WHERE a.approved_at IS NOT NULL AND (a.delivered_on IS NOT NULL OR a.paid_on IS NOT NULL) \
         AND {LIVE}"
    ))
    .load(conn)?;
    let day = |s: &Option<String>| {
        s.as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    for d in dated {
        let approved_on = crate::reports::drawdown::hk_date(d.approved_at);
        if let Some(delivered) = day(&d.delivered_on) {
            hits.extend(engine::fast_delivery(
                t,
                &d.id,
                approved_on,
                delivered,
                d.deployment_days,
            ));
        }
        if let Some(paid) = day(&d.paid_on) {
            hits.extend(engine::payment_before_approval(&d.id, paid, approved_on));
        }
    }
    Ok((hits, scanned.n))
}

/// Runs the scan now: gathers from one snapshot, then raises each hit in its own transaction.
pub async fn run_once(db: &Db) -> Result<ScanReport, ApiError> {
    let (hits, scanned) = db
        .run(|conn| {
            crate::db::read_snapshot(conn, |conn| {
                let t = store::thresholds(conn)?;
                gather(conn, &t, crate::time::now())
            })
        })
        .await?;
    let mut report = ScanReport {
        applications_scanned: scanned,
        ..ScanReport::default()
    };
    for hit in hits {
        let raised = db
            .write(move |tx| {
                let vendor = hit_vendor(tx, &hit)?;
                store::raise(tx, &RequestMeta::default(), &hit, vendor.as_deref())
            })
            .await?;
        if raised.opened {
            report.flags_raised += 1;
        } else if raised.joined > 0 {
            report.flags_updated += 1;
        }
    }
    Ok(report)
}

/// The vendor a hit concerns: its subject, or its applications' vendor.
fn hit_vendor(conn: &mut DbConnection, hit: &Hit) -> Result<Option<String>, ApiError> {
    use crate::db::schema::applications;
    if hit.subject.kind == engine::SubjectType::Vendor {
        return Ok(Some(hit.subject.id.clone()));
    }
    let Some(first) = hit.application_ids.iter().next() else {
        return Ok(None);
    };
    Ok(applications::table
        .find(first)
        .select(applications::vendor_id)
        .first(conn)
        .optional()?)
}

/// Runs [`run_once`] every `interval` until the process stops.
pub async fn run(db: Db, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let started = std::time::Instant::now();
        match run_once(&db).await {
            Ok(r) => tracing::info!(
                raised = r.flags_raised,
                updated = r.flags_updated,
                scanned = r.applications_scanned,
                ms = started.elapsed().as_millis() as u64,
                "risk scan"
            ),
            Err(e) => tracing::warn!(error = %e, "the risk scan failed"),
        }
    }
}
