//! Queries over packages, their revisions, add-ons and review history.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{
    OptionRow, Package, PackageContent, PackageRow, ReviewRow, Revision, RevisionRow,
};
use super::rules::reference_price;
use super::workflow::{PackageStatus, RevisionStatus};
use crate::auth::Role;
use crate::db::DbConnection;
use crate::db::schema::{package_options, package_reviews, package_revisions, packages};
use crate::programme::model::ProgrammeRules;

/// The id of the vendor's package already holding (category, sector), other than `except`.
pub fn slot_holder(
    conn: &mut DbConnection,
    vendor_id: &str,
    category: &str,
    sector: &str,
    except: Option<&str>,
) -> QueryResult<Option<String>> {
    let mut query = packages::table
        .filter(packages::vendor_id.eq(vendor_id))
        .filter(packages::category.eq(category))
        .filter(packages::target_sector.eq(sector))
        .filter(packages::status.ne_all([
            PackageStatus::Rejected.as_str(),
            PackageStatus::Withdrawn.as_str(),
        ]))
        .select(packages::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(packages::id.ne(id.to_owned()));
    }
    query.first(conn).optional()
}

/// Creates a draft package with revision 1 holding `content`; returns the package id.
pub fn insert_package(
    conn: &mut DbConnection,
    vendor_id: &str,
    category: &str,
    sector: &str,
    content: &PackageContent,
    rules: &ProgrammeRules,
) -> QueryResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    let revision_id = uuid::Uuid::new_v4().to_string();
    let now = crate::time::now();
    diesel::insert_into(packages::table)
        .values((
            packages::id.eq(&id),
            packages::vendor_id.eq(vendor_id),
            packages::category.eq(category),
            packages::target_sector.eq(sector),
            packages::status.eq(PackageStatus::Draft),
            packages::current_revision_id.eq(&revision_id),
            packages::created_at.eq(now),
            packages::updated_at.eq(now),
        ))
        .execute(conn)?;
    insert_revision(conn, &revision_id, &id, 1, content, rules)?;
    Ok(id)
}

/// Adds revision `number` of a package, as a draft holding `content`.
pub fn insert_revision(
    conn: &mut DbConnection,
    revision_id: &str,
    package_id: &str,
    number: i64,
    content: &PackageContent,
    rules: &ProgrammeRules,
) -> QueryResult<()> {
    let now = crate::time::now();
    let p = &content.pricing;
    diesel::insert_into(package_revisions::table)
        .values((
            package_revisions::id.eq(revision_id),
            package_revisions::package_id.eq(package_id),
            package_revisions::number.eq(number),
            package_revisions::status.eq(RevisionStatus::Draft),
            package_revisions::name_en.eq(content.name_en.trim()),
            package_revisions::name_zh.eq(content.name_zh.trim()),
            package_revisions::summary_en.eq(content.summary_en.trim()),
            package_revisions::summary_zh.eq(content.summary_zh.trim()),
            package_revisions::pricing_model.eq(p.model.as_str()),
            package_revisions::price_cents.eq(p.price),
            package_revisions::monthly_price_cents.eq(p.monthly_price),
            package_revisions::min_term_months.eq(p.min_term_months.map(i64::from)),
            package_revisions::deployment_days.eq(i64::from(content.deployment_days)),
            package_revisions::components_json.eq(components_json(content)),
            package_revisions::rules_version.eq(rules.version),
            package_revisions::reference_price_cents.eq(reference_price(content, rules)),
            package_revisions::created_at.eq(now),
            package_revisions::updated_at.eq(now),
        ))
        .execute(conn)?;
    insert_options(conn, revision_id, content)
}

fn components_json(content: &PackageContent) -> String {
    serde_json::to_string(&content.components).unwrap_or_else(|_| "[]".to_owned())
}

fn insert_options(
    conn: &mut DbConnection,
    revision_id: &str,
    content: &PackageContent,
) -> QueryResult<()> {
    for (position, option) in content.options.iter().enumerate() {
        diesel::insert_into(package_options::table)
            .values((
                package_options::id.eq(uuid::Uuid::new_v4().to_string()),
                package_options::revision_id.eq(revision_id),
                package_options::position.eq(i64::try_from(position).unwrap_or(i64::MAX)),
                package_options::name_en.eq(option.name_en.trim()),
                package_options::name_zh.eq(option.name_zh.as_deref().map(str::trim)),
                package_options::price_cents.eq(option.price),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces a draft revision's content (and its add-ons) with `content`.
pub fn replace_content(
    conn: &mut DbConnection,
    revision_id: &str,
    content: &PackageContent,
    rules: &ProgrammeRules,
) -> QueryResult<()> {
    let p = &content.pricing;
    diesel::update(package_revisions::table.find(revision_id))
        .set((
            package_revisions::name_en.eq(content.name_en.trim()),
            package_revisions::name_zh.eq(content.name_zh.trim()),
            package_revisions::summary_en.eq(content.summary_en.trim()),
            package_revisions::summary_zh.eq(content.summary_zh.trim()),
            package_revisions::pricing_model.eq(p.model.as_str()),
            package_revisions::price_cents.eq(p.price),
            package_revisions::monthly_price_cents.eq(p.monthly_price),
            package_revisions::min_term_months.eq(p.min_term_months.map(i64::from)),
            package_revisions::deployment_days.eq(i64::from(content.deployment_days)),
            package_revisions::components_json.eq(components_json(content)),
            package_revisions::rules_version.eq(rules.version),
            package_revisions::reference_price_cents.eq(reference_price(content, rules)),
            package_revisions::updated_at.eq(crate::time::now()),
        ))
        .execute(conn)?;
    diesel::delete(package_options::table.filter(package_options::revision_id.eq(revision_id)))
        .execute(conn)?;
    insert_options(conn, revision_id, content)
}

/// The package with this id.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<PackageRow> {
    packages::table
        .find(id)
        .select(PackageRow::as_select())
        .first(conn)
}

/// The vendor's package with this id; NotFound when it is another vendor's.
pub fn find_for_vendor(
    conn: &mut DbConnection,
    vendor_id: &str,
    id: &str,
) -> QueryResult<PackageRow> {
    packages::table
        .filter(packages::id.eq(id))
        .filter(packages::vendor_id.eq(vendor_id))
        .select(PackageRow::as_select())
        .first(conn)
}

/// A revision and its add-ons, in order.
pub fn revision(
    conn: &mut DbConnection,
    revision_id: &str,
) -> QueryResult<(RevisionRow, Vec<OptionRow>)> {
    let row = package_revisions::table
        .find(revision_id)
        .select(RevisionRow::as_select())
        .first(conn)?;
    let options = package_options::table
        .filter(package_options::revision_id.eq(revision_id))
        .order(package_options::position)
        .select(OptionRow::as_select())
        .load(conn)?;
    Ok((row, options))
}

/// The package as its vendor and admins see it.
pub fn view(conn: &mut DbConnection, row: &PackageRow) -> QueryResult<Package> {
    let (revision, options) = revision(conn, &row.current_revision_id)?;
    let live_revision_number = match &row.live_revision_id {
        Some(id) if *id == row.current_revision_id => Some(revision.number),
        Some(id) => Some(
            package_revisions::table
                .find(id)
                .select(package_revisions::number)
                .first(conn)?,
        ),
        None => None,
    };
    Ok(Package {
        id: row.id.clone(),
        vendor_id: row.vendor_id.clone(),
        status: row.status(),
        category: row.category.clone(),
        target_sector: row.target_sector.clone(),
        revision: Revision::from_rows(&revision, &options),
        live_revision_number,
        listed_at: row.listed_at.map(crate::time::rfc3339),
        created_at: crate::time::rfc3339(row.created_at),
        updated_at: crate::time::rfc3339(row.updated_at),
    })
}

/// The new pointers and status of a package after a transition.
pub struct NewState<'a> {
    pub status: PackageStatus,
    pub live_revision_id: Option<&'a str>,
    pub current_revision_id: &'a str,
    pub listed_at: Option<NaiveDateTime>,
}

/// Moves a package to `to`, only if it is still in `from` on the same current revision;
/// returns whether it moved.
pub fn set_state(conn: &mut DbConnection, row: &PackageRow, to: NewState<'_>) -> QueryResult<bool> {
    let updated = diesel::update(
        packages::table
            .filter(packages::id.eq(&row.id))
            .filter(packages::status.eq(&row.status))
            .filter(packages::current_revision_id.eq(&row.current_revision_id)),
    )
    .set((
        packages::status.eq(to.status),
        packages::live_revision_id.eq(to.live_revision_id),
        packages::current_revision_id.eq(to.current_revision_id),
        packages::listed_at.eq(to.listed_at),
        packages::updated_at.eq(crate::time::now()),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Sets a revision's status, stamping when it was submitted or decided.
pub fn set_revision_status(
    conn: &mut DbConnection,
    revision_id: &str,
    to: RevisionStatus,
) -> QueryResult<()> {
    let now = crate::time::now();
    let target = package_revisions::table.find(revision_id);
    match to {
        RevisionStatus::Submitted => diesel::update(target)
            .set((
                package_revisions::status.eq(to),
                package_revisions::submitted_at.eq(now),
            ))
            .execute(conn)?,
        RevisionStatus::Draft => diesel::update(target)
            .set(package_revisions::status.eq(to))
            .execute(conn)?,
        _ => diesel::update(target)
            .set((
                package_revisions::status.eq(to),
                package_revisions::decided_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// One step of the review history.
pub struct ReviewEntry<'a> {
    pub package_id: &'a str,
    pub revision_id: &'a str,
    pub actor_id: &'a str,
    pub actor_role: Role,
    pub action: &'a str,
    pub comment: Option<&'a str>,
    pub from: PackageStatus,
    pub to: PackageStatus,
}

/// Appends a step to the review history.
pub fn record_review(conn: &mut DbConnection, entry: ReviewEntry<'_>) -> QueryResult<()> {
    diesel::insert_into(package_reviews::table)
        .values((
            package_reviews::id.eq(uuid::Uuid::new_v4().to_string()),
            package_reviews::package_id.eq(entry.package_id),
            package_reviews::revision_id.eq(entry.revision_id),
            package_reviews::actor_id.eq(entry.actor_id),
            package_reviews::actor_role.eq(entry.actor_role.as_str()),
            package_reviews::action.eq(entry.action),
            package_reviews::comment.eq(entry.comment),
            package_reviews::from_status.eq(entry.from),
            package_reviews::to_status.eq(entry.to),
            package_reviews::created_at.eq(crate::time::now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A package's review history, oldest first.
pub fn reviews(conn: &mut DbConnection, package_id: &str) -> QueryResult<Vec<ReviewRow>> {
    package_reviews::table
        .filter(package_reviews::package_id.eq(package_id))
        .order((package_reviews::created_at, package_reviews::id))
        .select(ReviewRow::as_select())
        .load(conn)
}

/// Packages of `vendor_id` (any vendor when `None`) in `status` (any when `None`), newest
/// first, after the keyset position `after`.
pub fn list(
    conn: &mut DbConnection,
    vendor_id: Option<&str>,
    status: Option<PackageStatus>,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<PackageRow>> {
    let mut query = packages::table.select(PackageRow::as_select()).into_boxed();
    if let Some(vendor_id) = vendor_id {
        query = query.filter(packages::vendor_id.eq(vendor_id.to_owned()));
    }
    if let Some(status) = status {
        query = query.filter(packages::status.eq(status));
    }
    if let Some((created_at, id)) = after {
        query = query.filter(
            packages::created_at
                .lt(created_at)
                .or(packages::created_at.eq(created_at).and(packages::id.lt(id))),
        );
    }
    query
        .order((packages::created_at.desc(), packages::id.desc()))
        .limit(limit)
        .load(conn)
}
