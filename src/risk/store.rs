//! Gathers the facts the indicators need, with index lookups, and raises the engine's hits:
//! one open flag per indicator and subject, which later applications join.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::engine::{self, Contact, Hit, Severity, SubjectType, Thresholds};
use super::normalise;
use crate::audit::{self, NewEvent};
use crate::auth::RequestMeta;
use crate::db::schema::{applications, risk_flag_applications, risk_flags, smes, users, vendors};
use crate::db::{DbConnection, Prepare, lock_name};
use crate::error::ApiError;

/// The statuses of a live application: all but withdrawn, rejected and expired.
pub const LIVE: &str = "a.status NOT IN ('withdrawn', 'rejected', 'expired')";
/// The statuses that are not live (the ones [`LIVE`] leaves out).
const NOT_LIVE: [&str; 3] = ["withdrawn", "rejected", "expired"];

/// What raising a hit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Raised {
    /// A new flag was opened.
    pub opened: bool,
    /// Applications that joined an open flag (or the new one).
    pub joined: usize,
}

/// Raises `hit`: opens a flag, or adds its new applications to the open flag of the same
/// indicator and subject. Concurrent raisers of one flag take turns (a name lock), so there is
/// never a second open flag; the partial unique index `risk_flags_one_open` backs that.
pub fn raise(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    hit: &Hit,
    vendor_id: Option<&str>,
) -> Result<Raised, ApiError> {
    let key = format!("{}:{}:{}", hit.indicator, hit.subject.kind, hit.subject.id);
    lock_name(conn, "risk_flag", &key)?;
    let now = crate::time::now();
    let evidence = hit.evidence.to_string();
    let existing: Option<String> = risk_flags::table
        .filter(risk_flags::indicator.eq(hit.indicator.as_str()))
        .filter(risk_flags::subject_type.eq(hit.subject.kind.as_str()))
        .filter(risk_flags::subject_id.eq(&hit.subject.id))
        .filter(risk_flags::status.eq("open"))
        .select(risk_flags::id)
        .first(conn)
        .optional()?;
    let (flag_id, opened) = match existing {
        Some(id) => (id, false),
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            diesel::insert_into(risk_flags::table)
                .values((
                    risk_flags::id.eq(&id),
                    risk_flags::indicator.eq(hit.indicator.as_str()),
                    risk_flags::severity.eq(hit.severity().as_str()),
                    risk_flags::status.eq("open"),
                    risk_flags::subject_type.eq(hit.subject.kind.as_str()),
                    risk_flags::subject_id.eq(&hit.subject.id),
                    risk_flags::vendor_id.eq(vendor_id),
                    risk_flags::evidence_json.eq(&evidence),
                    risk_flags::raised_at.eq(now),
                    risk_flags::updated_at.eq(now),
                ))
                .execute(conn)?;
            (id, true)
        }
    };
    // Which of the hit's applications the flag holds already: a lookup bounded by the hit, not
    // by the flag (a ring's flag can hold thousands).
    let linked: Vec<String> = risk_flag_applications::table
        .filter(risk_flag_applications::flag_id.eq(&flag_id))
        .filter(risk_flag_applications::application_id.eq_any(&hit.application_ids))
        .select(risk_flag_applications::application_id)
        .load(conn)?;
    let new: Vec<&String> = hit
        .application_ids
        .iter()
        .filter(|a| !linked.contains(a))
        .collect();
    if !new.is_empty() {
        // One row at a time: a multi-row INSERT is not portable across both backends here.
        for a in &new {
            diesel::insert_into(risk_flag_applications::table)
                .values((
                    risk_flag_applications::flag_id.eq(&flag_id),
                    risk_flag_applications::application_id.eq(*a),
                    risk_flag_applications::added_at.eq(now),
                ))
                .execute(conn)?;
        }
        if !opened {
            diesel::update(risk_flags::table.find(&flag_id))
                .set((
                    risk_flags::evidence_json.eq(&evidence),
                    risk_flags::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    if opened || !new.is_empty() {
        let action = if opened {
            "risk_flag.raised"
        } else {
            "risk_flag.joined"
        };
        audit::record(
            conn,
            meta,
            NewEvent::new(action, "risk_flag", Some(&flag_id))
                .by_system("risk")
                .after(serde_json::json!({
                    "indicator": hit.indicator,
                    "severity": hit.severity(),
                    "subject": hit.subject,
                    "application_ids_added": new,
                    "evidence": hit.evidence,
                })),
        )?;
    }
    Ok(Raised {
        opened,
        joined: new.len(),
    })
}

/// The open flags of severity medium or high on application `id`: what holds its money.
pub fn holds(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    risk_flag_applications::table
        .inner_join(risk_flags::table)
        .filter(risk_flag_applications::application_id.eq(id))
        .filter(risk_flags::status.eq("open"))
        .filter(risk_flags::severity.eq_any([Severity::Medium.as_str(), Severity::High.as_str()]))
        .select(risk_flags::id)
        .order(risk_flags::id)
        .load(conn)
}

/// The open flags concerning `ids`: (application, flag, severity), in flag order.
pub fn open_flags_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<(String, String, String)>> {
    risk_flag_applications::table
        .inner_join(risk_flags::table)
        .filter(risk_flag_applications::application_id.eq_any(ids))
        .filter(risk_flags::status.eq("open"))
        .select((
            risk_flag_applications::application_id,
            risk_flags::id,
            risk_flags::severity,
        ))
        .order((risk_flags::raised_at, risk_flags::id))
        .load(conn)
}

/// When each of `ids` that a confirmed flag marked for recovery was marked.
pub fn recoveries_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    use crate::db::schema::application_recoveries as r;
    r::table
        .filter(r::application_id.eq_any(ids))
        .select((r::application_id, r::marked_at))
        .load(conn)
}

/// The thresholds of the rules in force.
pub fn thresholds(conn: &mut DbConnection) -> Result<Thresholds, ApiError> {
    crate::programme::store::risk_thresholds(conn)
}

/// The derived contact keys of an SME, filled when it registers or changes its details.
pub fn set_sme_keys(
    conn: &mut DbConnection,
    sme_id: &str,
    phone: &str,
    address: &str,
    email: &str,
) -> QueryResult<()> {
    diesel::update(smes::table.find(sme_id))
        .set((
            smes::phone_key.eq(normalise::phone_key(phone)),
            smes::address_key.eq(normalise::address_key(address)),
            smes::email_domain.eq(normalise::private_email_domain(email)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The derived contact keys of a vendor.
pub fn set_vendor_keys(
    conn: &mut DbConnection,
    vendor_id: &str,
    phone: &str,
    address: &str,
    email: &str,
    contact_name: &str,
) -> QueryResult<()> {
    diesel::update(vendors::table.find(vendor_id))
        .set((
            vendors::phone_key.eq(normalise::phone_key(phone)),
            vendors::address_key.eq(normalise::address_key(address)),
            vendors::email_domain.eq(normalise::private_email_domain(email)),
            vendors::contact_name_key.eq(normalise::name_key(contact_name)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Fills the keys of SMEs and vendors that have none (rows from before the keys existed);
/// returns how many it filled. Cheap when there is nothing to do.
pub fn backfill_keys(conn: &mut DbConnection) -> QueryResult<usize> {
    let smes_without: Vec<(String, String, String, String)> = smes::table
        .inner_join(users::table)
        .filter(smes::phone_key.is_null())
        .filter(smes::address_key.is_null())
        .select((smes::id, smes::phone, smes::address, users::email))
        .load(conn)?;
    for (id, phone, address, email) in &smes_without {
        set_sme_keys(conn, id, phone, address, email)?;
    }
    let vendors_without: Vec<(String, String, String, String, String)> = vendors::table
        .inner_join(users::table)
        .filter(vendors::phone_key.is_null())
        .filter(vendors::address_key.is_null())
        .select((
            vendors::id,
            vendors::phone,
            vendors::address,
            users::email,
            vendors::contact_name,
        ))
        .load(conn)?;
    for (id, phone, address, email, name) in &vendors_without {
        set_vendor_keys(conn, id, phone, address, email, name)?;
    }
    Ok(smes_without.len() + vendors_without.len())
}

/// The most SMEs one `shared_contact` flag lists at once.
const SHARING_MAX: i64 = 500;

fn key_column(kind: engine::ContactKind) -> &'static str {
    match kind {
        engine::ContactKind::Phone => "phone_key",
        engine::ContactKind::Address => "address_key",
        engine::ContactKind::EmailDomain => "email_domain",
    }
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The query of the first `limit` SMEs, in order of registration, sharing the contact key of
/// `kind` bound as parameter `$param`: a range of the key's index, however many share it.
fn head_query(kind: engine::ContactKind, param: usize, limit: i64) -> String {
    let column = key_column(kind);
    format!(
        "SELECT id, created_at FROM smes WHERE {column} = ${param} \
         ORDER BY created_at, id LIMIT {limit}"
    )
}

/// The first `limit` SMEs, in order of registration, sharing contact key `key` of `kind`
/// ([`head_query`]).
fn sharing_head(
    conn: &mut DbConnection,
    kind: engine::ContactKind,
    key: &str,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let rows: Vec<IdRow> = diesel::sql_query(head_query(kind, 1, limit))
        .bind::<Text, _>(key)
        .prepared()
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The contact keys SMEs are compared by for `shared_contact`, in the order checked.
const SHARED_KEYS: [engine::ContactKind; 3] = [
    engine::ContactKind::Phone,
    engine::ContactKind::Address,
    engine::ContactKind::EmailDomain,
];

#[derive(QueryableByName)]
struct HeadRow {
    #[diesel(sql_type = BigInt)]
    key: i64,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
}

/// For each of [`SHARED_KEYS`], the first `limit` SMEs in order of registration sharing `me`'s
/// key (none for a key `me` lacks), all in one statement ([`head_query`] per key).
fn sharing_heads(
    conn: &mut DbConnection,
    me: &Contact,
    limit: i64,
) -> QueryResult<[Vec<String>; 3]> {
    let part = |(n, kind): (usize, &engine::ContactKind)| {
        let head = head_query(*kind, n + 1, limit);
        format!("SELECT CAST({n} AS BIGINT) AS key, id, created_at FROM ({head}) AS k{n}")
    };
    let sql: Vec<String> = SHARED_KEYS.iter().enumerate().map(part).collect();
    let [phone, address, domain] = SHARED_KEYS.map(|kind| kind.key_of(me));
    let mut rows: Vec<HeadRow> = diesel::sql_query(sql.join(" UNION ALL "))
        .bind::<Nullable<Text>, _>(phone)
        .bind::<Nullable<Text>, _>(address)
        .bind::<Nullable<Text>, _>(domain)
        .prepared()
        .load(conn)?;
    rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut heads: [Vec<String>; 3] = Default::default();
    for row in rows {
        if let Some(head) = usize::try_from(row.key).ok().and_then(|k| heads.get_mut(k)) {
            head.push(row.id);
        }
    }
    Ok(heads)
}

/// The SMEs sharing contact key `key` of `kind` (in order of registration, at most
/// [`SHARING_MAX`]), with their live applications.
pub(crate) fn sharing(
    conn: &mut DbConnection,
    kind: engine::ContactKind,
    key: &str,
) -> QueryResult<Vec<engine::SmeApplications>> {
    let head = sharing_head(conn, kind, key, SHARING_MAX)?;
    let live: Vec<(String, String)> = applications::table
        .filter(applications::sme_id.eq_any(&head))
        .filter(applications::status.ne_all(NOT_LIVE))
        .select((applications::sme_id, applications::id))
        .order(applications::id)
        .load(conn)?;
    Ok(head
        .into_iter()
        .map(|sme_id| engine::SmeApplications {
            application_ids: live
                .iter()
                .filter(|(s, _)| *s == sme_id)
                .map(|(_, a)| a.clone())
                .collect(),
            sme_id,
        })
        .collect())
}

/// The evidence of the open flag of `indicator` on `subject`, if there is one.
fn open_flag_evidence(
    conn: &mut DbConnection,
    indicator: engine::Indicator,
    subject: &engine::Subject,
) -> QueryResult<Option<serde_json::Value>> {
    let evidence: Option<String> = risk_flags::table
        .filter(risk_flags::indicator.eq(indicator.as_str()))
        .filter(risk_flags::subject_type.eq(subject.kind.as_str()))
        .filter(risk_flags::subject_id.eq(&subject.id))
        .filter(risk_flags::status.eq("open"))
        .select(risk_flags::evidence_json)
        .first(conn)
        .optional()?;
    Ok(evidence.map(|e| serde_json::from_str(&e).unwrap_or(serde_json::Value::Null)))
}

/// `shared_contact` for one SME: its phone, address and private email domain each checked
/// against the SMEs that share it.
pub fn shared_contact_of(
    conn: &mut DbConnection,
    t: &Thresholds,
    sme_id: &str,
) -> QueryResult<Vec<Hit>> {
    let me = sme_contact(conn, sme_id)?;
    shared_contact_with(conn, t, sme_id, &me, None)
}

/// `shared_contact` for an SME whose keys are `me`, counting `new_application` as its own.
fn shared_contact_with(
    conn: &mut DbConnection,
    t: &Thresholds,
    sme_id: &str,
    me: &Contact,
    new_application: Option<&str>,
) -> QueryResult<Vec<Hit>> {
    let mut hits = Vec::new();
    // A new application: if its SME's cluster is already under an open flag, it joins that
    // flag, and the cluster is not read again. The clusters' heads are read at once.
    let heads = match new_application {
        Some(_) => sharing_heads(conn, me, t.shared_contact_min_smes)?,
        None => Default::default(),
    };
    for (kind, head) in SHARED_KEYS.into_iter().zip(heads) {
        let Some(key) = kind.key_of(me) else { continue };
        if let Some(app) = new_application {
            let Some(anchor) = head.first() else { continue };
            if (head.len() as i64) < t.shared_contact_min_smes {
                continue;
            }
            let subject = engine::Subject {
                kind: SubjectType::Sme,
                id: anchor.clone(),
            };
            let indicator = engine::Indicator::SharedContact;
            if let Some(evidence) = open_flag_evidence(conn, indicator, &subject)? {
                hits.push(engine::joining_open_flag(
                    indicator,
                    subject,
                    app,
                    Some(sme_id),
                    evidence,
                ));
                continue;
            }
        }
        let mut smes = sharing(conn, kind, key)?;
        if let Some(app) = new_application
            && let Some(mine) = smes.iter_mut().find(|s| s.sme_id == sme_id)
        {
            mine.application_ids.push(app.to_owned());
        }
        hits.extend(engine::shared_contact(t, kind, key, &smes));
    }
    Ok(hits)
}

/// A contact's BR number, phone, address, email domain and contact-name keys, as selected
/// ([`SME_CONTACT`], [`vendor_contact_columns`]).
pub(crate) type ContactRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The columns of [`SME_CONTACT`].
pub(crate) type SmeContact = (
    smes::br_number,
    smes::phone_key,
    smes::address_key,
    smes::email_domain,
    smes::contact_name_key,
);

/// An SME's contact keys, to select (as a [`ContactRow`]) beside its other columns.
pub(crate) const SME_CONTACT: SmeContact = (
    smes::br_number,
    smes::phone_key,
    smes::address_key,
    smes::email_domain,
    smes::contact_name_key,
);

/// A vendor's contact keys, to select (as a [`ContactRow`]) beside its other columns.
#[allow(clippy::type_complexity)]
pub(crate) fn vendor_contact_columns() -> (
    diesel::dsl::Nullable<vendors::br_number>,
    vendors::phone_key,
    vendors::address_key,
    vendors::email_domain,
    vendors::contact_name_key,
) {
    (
        vendors::br_number.nullable(),
        vendors::phone_key,
        vendors::address_key,
        vendors::email_domain,
        vendors::contact_name_key,
    )
}

pub(crate) fn contact((br, phone, address, domain, name): ContactRow) -> Contact {
    Contact {
        br_number: br,
        phone_key: phone,
        address_key: address,
        email_domain: domain,
        name_key: name,
    }
}

pub(crate) fn sme_contact(conn: &mut DbConnection, sme_id: &str) -> QueryResult<Contact> {
    smes::table
        .find(sme_id)
        .select(SME_CONTACT)
        .first::<ContactRow>(conn)
        .map(contact)
}

pub(crate) fn vendor_contact(conn: &mut DbConnection, vendor_id: &str) -> QueryResult<Contact> {
    vendors::table
        .find(vendor_id)
        .select(vendor_contact_columns())
        .first::<ContactRow>(conn)
        .map(contact)
}

#[derive(QueryableByName)]
struct OriginRow {
    #[diesel(sql_type = Text)]
    sme_id: String,
    #[diesel(sql_type = Text)]
    application_id: String,
    #[diesel(sql_type = Timestamp)]
    at: NaiveDateTime,
}

/// `shared_origin` for one vendor and IP: live applications to the vendor made from the IP, or
/// by SMEs that registered from it.
pub(crate) fn shared_origin_of(
    conn: &mut DbConnection,
    t: &Thresholds,
    vendor_id: &str,
    ip: &str,
    new_application: Option<engine::OriginFact>,
) -> QueryResult<Option<Hit>> {
    if engine::uninformative_ip(ip) {
        return Ok(None);
    }
    let facts: Vec<OriginRow> = diesel::sql_query(format!(
        "SELECT a.sme_id, a.id AS application_id, a.created_at AS at FROM applications a \
         WHERE a.client_ip = $1 AND a.vendor_id = $2 AND {LIVE} \
         UNION ALL \
         SELECT a.sme_id, a.id AS application_id, u.created_at AS at FROM users u \
         JOIN smes s ON s.user_id = u.id JOIN applications a ON a.sme_id = s.id \
         WHERE u.registration_ip = $1 AND a.vendor_id = $2 AND {LIVE}"
    ))
    .bind::<Text, _>(ip)
    .bind::<Text, _>(vendor_id)
    .load(conn)?;
    let facts: Vec<engine::OriginFact> = facts
        .into_iter()
        .map(|r| engine::OriginFact {
            sme_id: r.sme_id,
            application_id: r.application_id,
            at: r.at,
        })
        .chain(new_application)
        .collect();
    Ok(engine::shared_origin(t, vendor_id, ip, &facts))
}

#[derive(QueryableByName)]
struct ClusterCount {
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    near: i64,
}

#[derive(QueryableByName)]
struct CostRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    eligible_cost_cents: i64,
    #[diesel(sql_type = BigInt)]
    ceiling_cents: i64,
}

/// `ceiling_clustering` for one vendor: counted in SQL, and the applications loaded only when
/// it fires.
pub fn ceiling_clustering_of(
    conn: &mut DbConnection,
    t: &Thresholds,
    vendor_id: &str,
    now: NaiveDateTime,
    new_application: Option<engine::CostFact>,
) -> QueryResult<Option<Hit>> {
    if let Some(a) = &new_application {
        // A new application below the ceiling can only lower the vendor's share, and only
        // applications near the ceiling are flagged: nothing to check. One near it joins the
        // vendor's open flag if there is one, without counting the vendor's window again.
        if !engine::near(a.eligible_cost_cents, a.ceiling_cents, t.ceiling_near_bps) {
            return Ok(None);
        }
        let subject = engine::Subject {
            kind: SubjectType::Vendor,
            id: vendor_id.to_owned(),
        };
        let indicator = engine::Indicator::CeilingClustering;
        if let Some(evidence) = open_flag_evidence(conn, indicator, &subject)? {
            return Ok(Some(engine::joining_open_flag(
                indicator,
                subject,
                &a.application_id,
                None,
                evidence,
            )));
        }
    }
    let since = now - Duration::days(t.ceiling_window_days);
    let near = format!(
        "a.eligible_cost_cents * 10000 >= a.ceiling_cents * {}",
        t.ceiling_near_bps
    );
    let count: ClusterCount = diesel::sql_query(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS total, \
         CAST(COALESCE(SUM(CASE WHEN {near} THEN 1 ELSE 0 END), 0) AS BIGINT) AS near \
         FROM applications a WHERE a.vendor_id = $1 AND a.created_at >= $2 \
         AND a.ceiling_cents IS NOT NULL AND {LIVE}"
    ))
    .bind::<Text, _>(vendor_id)
    .bind::<Timestamp, _>(since)
    .get_result(conn)?;
    let (mut total, mut near_count) = (count.total, count.near);
    if let Some(a) = &new_application {
        total += 1;
        if engine::near(a.eligible_cost_cents, a.ceiling_cents, t.ceiling_near_bps) {
            near_count += 1;
        }
    }
    if total < t.ceiling_min_applications || near_count * 10_000 < total * t.ceiling_share_bps {
        return Ok(None);
    }
    let rows: Vec<CostRow> = diesel::sql_query(format!(
        "SELECT a.id, a.eligible_cost_cents, a.ceiling_cents FROM applications a \
         WHERE a.vendor_id = $1 AND a.created_at >= $2 AND a.ceiling_cents IS NOT NULL AND {LIVE}"
    ))
    .bind::<Text, _>(vendor_id)
    .bind::<Timestamp, _>(since)
    .load(conn)?;
    let facts: Vec<engine::CostFact> = rows
        .into_iter()
        .map(|r| engine::CostFact {
            application_id: r.id,
            eligible_cost_cents: r.eligible_cost_cents,
            ceiling_cents: r.ceiling_cents,
        })
        .chain(new_application)
        .collect();
    Ok(engine::ceiling_clustering(t, vendor_id, &facts))
}

#[derive(QueryableByName)]
struct RefRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    sme_id: String,
    #[diesel(sql_type = Text)]
    payment_reference: String,
}

/// `sequential_payment_references` for one vendor.
pub fn sequential_references_of(
    conn: &mut DbConnection,
    t: &Thresholds,
    vendor_id: &str,
) -> QueryResult<Option<Hit>> {
    let rows: Vec<RefRow> = diesel::sql_query(format!(
        "SELECT a.id, a.sme_id, a.payment_reference FROM applications a \
         WHERE a.vendor_id = $1 AND a.payment_reference IS NOT NULL AND {LIVE}"
    ))
    .bind::<Text, _>(vendor_id)
    .load(conn)?;
    let facts: Vec<engine::ReferenceFact> = rows
        .into_iter()
        .map(|r| engine::ReferenceFact {
            application_id: r.id,
            sme_id: r.sme_id,
            reference: r.payment_reference,
        })
        .collect();
    Ok(engine::sequential_payment_references(t, vendor_id, &facts))
}

#[derive(QueryableByName)]
struct ApprovalRow {
    #[diesel(sql_type = Text)]
    approved_by: String,
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `officer_concentration` for one vendor; the programme-wide count of approving admins is
/// read only when the vendor's own approvals could fire it.
pub fn officer_concentration_of(
    conn: &mut DbConnection,
    t: &Thresholds,
    vendor_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Hit>> {
    let since = now - Duration::days(t.officer_window_days);
    let rows: Vec<ApprovalRow> = diesel::sql_query(
        "SELECT a.approved_by, a.id FROM applications a WHERE a.vendor_id = $1 \
         AND a.approved_at >= $2 AND a.approved_by IS NOT NULL",
    )
    .bind::<Text, _>(vendor_id)
    .bind::<Timestamp, _>(since)
    .load(conn)?;
    if (rows.len() as i64) < t.officer_min_approvals {
        return Ok(None);
    }
    let admins: CountRow = diesel::sql_query(
        "SELECT CAST(COUNT(DISTINCT a.approved_by) AS BIGINT) AS n FROM applications a \
         WHERE a.approved_at >= $1 AND a.approved_by IS NOT NULL",
    )
    .bind::<Timestamp, _>(since)
    .get_result(conn)?;
    let facts: Vec<engine::ApprovalFact> = rows
        .into_iter()
        .map(|r| engine::ApprovalFact {
            admin_id: r.approved_by,
            application_id: r.id,
        })
        .collect();
    Ok(engine::officer_concentration(
        t, vendor_id, &facts, admins.n,
    ))
}

/// What the event-time checks of a new application need to know about it.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub id: String,
    pub sme_id: String,
    pub vendor_id: String,
    pub client_ip: Option<String>,
    pub eligible_cost_cents: i64,
    pub ceiling_cents: i64,
    /// The SME's and the vendor's contact keys, read with their rows by the caller.
    pub sme_contact: Contact,
    pub vendor_contact: Contact,
}

/// The indicators a new application changes (related party, shared contact, shared origin,
/// ceiling clustering), decided before it is inserted: the facts are read before the apply
/// transaction locks the SME and the budget pool, so the checks add nothing to the time the
/// pool is held. The caller raises the hits with [`raise_all`] once the application row exists,
/// in the same transaction.
pub fn before_apply(
    conn: &mut DbConnection,
    t: &Thresholds,
    app: &NewApplication,
) -> Result<Vec<Hit>, ApiError> {
    let now = crate::time::now();
    let mut hits = Vec::new();
    let (sme, vendor) = (&app.sme_contact, &app.vendor_contact);
    hits.extend(engine::vendor_related_party(&app.id, sme, vendor));
    hits.extend(shared_contact_with(
        conn,
        t,
        &app.sme_id,
        sme,
        Some(&app.id),
    )?);
    if let Some(ip) = &app.client_ip {
        let me = engine::OriginFact {
            sme_id: app.sme_id.clone(),
            application_id: app.id.clone(),
            at: now,
        };
        hits.extend(shared_origin_of(conn, t, &app.vendor_id, ip, Some(me))?);
    }
    let me = engine::CostFact {
        application_id: app.id.clone(),
        eligible_cost_cents: app.eligible_cost_cents,
        ceiling_cents: app.ceiling_cents,
    };
    hits.extend(ceiling_clustering_of(
        conn,
        t,
        &app.vendor_id,
        now,
        Some(me),
    )?);
    Ok(hits)
}

/// After a registration: does the new SME complete a cluster of shared contacts?
pub fn after_registration(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    sme_id: &str,
) -> Result<Raised, ApiError> {
    let t = thresholds(conn)?;
    let hits = shared_contact_of(conn, &t, sme_id)?;
    raise_all(conn, meta, &hits, None)
}

/// After a delivery: was it implausibly fast for the package?
pub fn after_delivery(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    application_id: &str,
) -> Result<Raised, ApiError> {
    use crate::db::schema::{enquiries, package_revisions};
    let t = thresholds(conn)?;
    let (approved_at, delivered_on, vendor_id, deployment_days): (
        Option<NaiveDateTime>,
        Option<String>,
        String,
        i64,
    ) = applications::table
        .inner_join(enquiries::table.on(enquiries::id.eq(applications::enquiry_id)))
        .inner_join(package_revisions::table.on(package_revisions::id.eq(enquiries::revision_id)))
        .filter(applications::id.eq(application_id))
        .select((
            applications::approved_at,
            applications::delivered_on,
            applications::vendor_id,
            package_revisions::deployment_days,
        ))
        .first(conn)?;
    let (Some(approved_at), Some(delivered)) = (approved_at, delivered_on.as_deref().and_then(day))
    else {
        return Ok(Raised::default());
    };
    let approved_on = crate::reports::drawdown::hk_date(approved_at);
    let hits: Vec<Hit> =
        engine::fast_delivery(&t, application_id, approved_on, delivered, deployment_days)
            .into_iter()
            .collect();
    raise_all(conn, meta, &hits, Some(&vendor_id))
}

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// After the SME's payment proof: a payment dated before approval, and references in sequence
/// with other SMEs' for the same vendor.
pub fn after_payment(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    application_id: &str,
) -> Result<Raised, ApiError> {
    let t = thresholds(conn)?;
    let (approved_at, paid_on, vendor_id): (Option<NaiveDateTime>, Option<String>, String) =
        applications::table
            .find(application_id)
            .select((
                applications::approved_at,
                applications::paid_on,
                applications::vendor_id,
            ))
            .first(conn)?;
    let mut hits = Vec::new();
    if let (Some(approved_at), Some(paid)) = (approved_at, paid_on.as_deref().and_then(day)) {
        let approved_on = crate::reports::drawdown::hk_date(approved_at);
        hits.extend(engine::payment_before_approval(
            application_id,
            paid,
            approved_on,
        ));
    }
    hits.extend(sequential_references_of(conn, &t, &vendor_id)?);
    raise_all(conn, meta, &hits, Some(&vendor_id))
}

/// After an approval: does one officer approve most of this vendor's applications?
pub fn after_approval(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    vendor_id: &str,
) -> Result<Raised, ApiError> {
    let t = thresholds(conn)?;
    let hits: Vec<Hit> = officer_concentration_of(conn, &t, vendor_id, crate::time::now())?
        .into_iter()
        .collect();
    raise_all(conn, meta, &hits, Some(vendor_id))
}

/// `payment_reference_reuse`: application `id` gave reference `key`, already used by `others`.
pub fn payment_reuse(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    id: &str,
    vendor_id: &str,
    others: &[String],
    key: &str,
) -> Result<Raised, ApiError> {
    let hits: Vec<Hit> = engine::payment_reference_reuse(id, others, key)
        .into_iter()
        .collect();
    raise_all(conn, meta, &hits, Some(vendor_id))
}

/// Raises each hit; the flag's vendor is the subject when the subject is a vendor.
pub fn raise_all(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    hits: &[Hit],
    vendor_id: Option<&str>,
) -> Result<Raised, ApiError> {
    let mut total = Raised::default();
    for hit in hits {
        let vendor = match hit.subject.kind {
            SubjectType::Vendor => Some(hit.subject.id.as_str()),
            _ => vendor_id,
        };
        let r = raise(conn, meta, hit, vendor)?;
        total.opened |= r.opened;
        total.joined += r.joined;
    }
    Ok(total)
}
