//! Queries over SMEs.

use diesel::prelude::*;

use super::eligibility::Eligibility;
use super::model::{RegisterSme, SmeRow};
use crate::auth::{ActiveLater, Caller};
use crate::db::DbConnection;
use crate::db::schema::smes;

/// Whether an SME has this BR number.
pub fn br_number_taken(conn: &mut DbConnection, br_number: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        smes::table.filter(smes::br_number.eq(br_number)),
    ))
    .get_result(conn)
}

/// Whether an SME has this hawker licence.
pub fn hawker_licence_taken(conn: &mut DbConnection, licence: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        smes::table.filter(smes::hawker_licence.eq(licence)),
    ))
    .get_result(conn)
}

/// Creates the SME profile for `user_id` with its evaluated eligibility. `district` is the
/// canonical English name.
pub fn insert_sme(
    conn: &mut DbConnection,
    user_id: &str,
    form: &RegisterSme,
    district: &str,
    eligibility: &Eligibility,
) -> QueryResult<SmeRow> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = crate::time::now();
    let codes = serde_json::to_string(&eligibility.codes).unwrap_or_else(|_| "[]".to_owned());
    diesel::insert_into(smes::table)
        .values((
            smes::id.eq(&id),
            smes::user_id.eq(user_id),
            smes::business_name_en.eq(form.business_name_en.trim()),
            smes::business_name_zh.eq(form.business_name_zh.as_deref().map(str::trim)),
            smes::br_number.eq(form.br_number.as_deref()),
            smes::hawker_licence.eq(form.hawker_licence.as_deref().map(str::trim)),
            smes::sector.eq(&form.sector),
            smes::full_time_employees.eq(i64::from(form.full_time_employees)),
            smes::district.eq(district),
            smes::address.eq(form.address.trim()),
            smes::phone.eq(form.phone.trim()),
            smes::contact_name.eq(form.contact_name.as_deref().map(str::trim)),
            smes::contact_name_key.eq(form
                .contact_name
                .as_deref()
                .and_then(crate::risk::normalise::name_key)),
            smes::declared_listed_company.eq(form.declarations.listed_company),
            smes::declared_statutory_body.eq(form.declarations.statutory_body),
            smes::declared_government_subvented.eq(form.declarations.government_subvented),
            smes::eligible.eq(eligibility.eligible),
            smes::ineligibility_codes.eq(codes),
            smes::created_at.eq(now),
            smes::updated_at.eq(now),
        ))
        .execute(conn)?;
    crate::risk::store::set_sme_keys(conn, &id, &form.phone, &form.address, &form.email)?;
    smes::table
        .find(&id)
        .select(SmeRow::as_select())
        .first(conn)
}

/// The SME profile of a user, if it has one.
pub fn find_by_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<SmeRow>> {
    smes::table
        .filter(smes::user_id.eq(user_id))
        .select(SmeRow::as_select())
        .first(conn)
        .optional()
}

/// The profile of a calling SME user; 403 for an account without one.
pub fn profile_of(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<SmeRow, crate::error::ApiError> {
    find_by_user(conn, user_id)?.ok_or_else(no_profile)
}

/// The profile of a calling SME user that may enquire and apply, read in one query that also
/// confirms the account active ([`ActiveLater::confirm_read`]): see [`applicant_from`].
pub fn applicant_profile_of<'c, C: Caller>(
    conn: &mut DbConnection,
    caller: &'c ActiveLater<C>,
) -> Result<(&'c C, Applicant), crate::error::ApiError> {
    let found: Option<ApplicantRow> = smes::table
        .inner_join(crate::db::schema::users::table)
        .filter(smes::user_id.eq(caller.user_id()))
        .select(ApplicantRow::as_select())
        .first(conn)
        .optional()?;
    applicant_from(conn, caller, found)
}

/// An SME's profile as read with its account (`smes` joined with `users`), selected the same
/// way by every read of an applicant.
#[derive(Queryable, Selectable)]
#[diesel(table_name = smes)]
pub(crate) struct ApplicantRow {
    #[diesel(embed)]
    sme: SmeRow,
    #[diesel(select_expression = crate::db::schema::users::disabled_at)]
    disabled_at: Option<chrono::NaiveDateTime>,
    #[diesel(select_expression = crate::db::schema::users::email_verified_at)]
    email_verified_at: Option<chrono::NaiveDateTime>,
    #[diesel(select_expression = crate::db::schema::users::email)]
    email: String,
    /// Its contact keys, for the risk indicators.
    #[diesel(select_expression = crate::risk::store::SME_CONTACT)]
    #[diesel(select_expression_type = crate::risk::store::SmeContact)]
    keys: crate::risk::store::ContactRow,
}

/// The calling SME user as an applicant, from its profile as read on `conn` (`None`: the
/// account has no profile): 401 for a disabled account, 403 for an account without a
/// profile, 403 giving every reason for an ineligible SME, and 403 `email-unverified` until
/// the account's email address is confirmed.
pub(crate) fn applicant_from<'c, C: Caller>(
    conn: &mut DbConnection,
    caller: &'c ActiveLater<C>,
    found: Option<ApplicantRow>,
) -> Result<(&'c C, Applicant), crate::error::ApiError> {
    let Some(ApplicantRow {
        sme,
        disabled_at,
        email_verified_at: verified,
        email,
        keys,
    }) = found
    else {
        // No profile: a disabled (or gone) account still hears 401 first.
        caller.confirm(conn)?;
        return Err(no_profile());
    };
    let caller = caller.confirm_read(disabled_at)?;
    let sme = eligible(sme)?;
    if verified.is_none() {
        return Err(crate::auth::store::email_unverified());
    }
    Ok((
        caller,
        Applicant {
            sme,
            email,
            contact: crate::risk::store::contact(keys),
        },
    ))
}

/// An SME that may enquire and apply, with what applying reads of it besides its profile.
pub struct Applicant {
    pub sme: SmeRow,
    /// Its account's email address.
    pub email: String,
    /// Its contact keys, for the risk indicators.
    pub contact: crate::risk::engine::Contact,
}

fn no_profile() -> crate::error::ApiError {
    crate::error::ApiError::Forbidden("This account has no SME profile.".to_owned())
}

/// The SME, or 403 giving every reason it is not eligible.
fn eligible(sme: SmeRow) -> Result<SmeRow, crate::error::ApiError> {
    use crate::error::ApiError;
    if !sme.eligible {
        let codes: Vec<String> = serde_json::from_str(&sme.ineligibility_codes).unwrap_or_default();
        let reasons = super::eligibility::from_codes(&codes).reasons;
        return Err(ApiError::Forbidden(format!(
            "The SME is not eligible for the programme: {}",
            reasons.join("; ")
        )));
    }
    Ok(sme)
}

/// An SME and its account's email.
pub fn find_with_email(conn: &mut DbConnection, id: &str) -> QueryResult<(SmeRow, String)> {
    smes::table
        .inner_join(crate::db::schema::users::table)
        .filter(smes::id.eq(id))
        .select((SmeRow::as_select(), crate::db::schema::users::email))
        .first(conn)
}
