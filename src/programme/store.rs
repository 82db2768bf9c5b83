//! Queries over the programme's reference tables.

use diesel::prelude::*;

use super::model::{CodeName, ProgrammeRules};
use crate::db::DbConnection;
use crate::db::schema::{categories, programme_rules, sectors};

/// The rules in force: the highest version.
pub fn current_rules(conn: &mut DbConnection) -> QueryResult<ProgrammeRules> {
    programme_rules::table
        .order(programme_rules::version.desc())
        .select(ProgrammeRules::as_select())
        .first(conn)
}

/// The risk indicators' thresholds in force.
pub fn risk_thresholds(
    conn: &mut DbConnection,
) -> Result<crate::risk::engine::Thresholds, crate::error::ApiError> {
    Ok(current_rules(conn)?.risk_thresholds())
}

/// One version of the rules.
pub fn rules_version(conn: &mut DbConnection, version: i64) -> QueryResult<ProgrammeRules> {
    programme_rules::table
        .find(version)
        .select(ProgrammeRules::as_select())
        .first(conn)
}

/// All sectors, in display order.
pub fn sectors(conn: &mut DbConnection) -> QueryResult<Vec<CodeName>> {
    sectors::table
        .order((sectors::sort_order, sectors::code))
        .select((
            sectors::code,
            sectors::name_en,
            sectors::name_zh,
            sectors::active,
        ))
        .load(conn)
}

/// All solution categories, in display order.
pub fn categories(conn: &mut DbConnection) -> QueryResult<Vec<CodeName>> {
    categories::table
        .order((categories::sort_order, categories::code))
        .select((
            categories::code,
            categories::name_en,
            categories::name_zh,
            categories::active,
        ))
        .load(conn)
}

/// A sector's active flag, or `None` for an unknown sector.
pub fn sector_active(conn: &mut DbConnection, code: &str) -> QueryResult<Option<bool>> {
    sectors::table
        .find(code)
        .select(sectors::active)
        .first(conn)
        .optional()
}

/// A category's active flag, or `None` for an unknown category.
pub fn category_active(conn: &mut DbConnection, code: &str) -> QueryResult<Option<bool>> {
    categories::table
        .find(code)
        .select(categories::active)
        .first(conn)
        .optional()
}
