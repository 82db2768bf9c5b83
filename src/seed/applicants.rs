//! Applicants in bulk, for load tests and concurrency tests: eligible SMEs, each with an
//! enquiry on one listed package already confirmed by its vendor, ready to apply. Their
//! accounts cannot log in (no password); callers mint access tokens for them.

use diesel::prelude::*;

use crate::auth::Role;
use crate::db::schema::{enquiries, smes};
use crate::db::{DbConnection, write_transaction};
use crate::error::ApiError;
use crate::programme::quoting::{self, Ask};

/// One ready applicant.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub user_id: String,
    pub sme_id: String,
    pub enquiry_id: String,
}

/// Creates `n` applicants for listed package `package_id`, in one transaction.
pub fn create(
    conn: &mut DbConnection,
    package_id: &str,
    n: usize,
) -> Result<Vec<Applicant>, ApiError> {
    write_transaction(conn, |tx| {
        let ((package, revision, (vendor_id, _, _)), _) =
            crate::catalogue::store::find(tx, package_id)?;
        let rules = crate::programme::store::current_rules(tx)?;
        let pricing = revision.pricing();
        let q = quoting::quote(&Ask::basic(&pricing), &rules, rules.per_sme_cap)?;
        let now = crate::time::now();
        let run = uuid::Uuid::new_v4().simple().to_string();
        let mut made = Vec::with_capacity(n);
        for i in 0..n {
            let email = format!("applicant-{run}-{i}@load.dtspp.test");
            // "!" is no password hash: these accounts cannot log in.
            let user_id =
                crate::auth::store::insert_user(tx, &email, "!", Role::Sme, Some(now), None)?;
            let sme_id = uuid::Uuid::new_v4().to_string();
            // Distinct contact details, as distinct businesses have.
            let phone = format!("+852 3{:07}", uuid::Uuid::new_v4().as_u128() % 10_000_000);
            let address = format!("Shop {i}, Block {run}, 1 Queen's Road Central");
            diesel::insert_into(smes::table)
                .values((
                    smes::id.eq(&sme_id),
                    smes::user_id.eq(&user_id),
                    smes::business_name_en.eq(format!("Load Test Shop {i}")),
                    smes::hawker_licence.eq(format!("LOAD-{run}-{i}")),
                    smes::sector.eq(&package.target_sector),
                    smes::full_time_employees.eq(5),
                    smes::district.eq("Central and Western"),
                    smes::address.eq(&address),
                    smes::phone.eq(&phone),
                    smes::declared_listed_company.eq(false),
                    smes::declared_statutory_body.eq(false),
                    smes::declared_government_subvented.eq(false),
                    smes::eligible.eq(true),
                    smes::ineligibility_codes.eq("[]"),
                    smes::created_at.eq(now),
                    smes::updated_at.eq(now),
                ))
                .execute(tx)?;
            crate::risk::store::set_sme_keys(tx, &sme_id, &phone, &address, &email)?;
            let enquiry_id = uuid::Uuid::new_v4().to_string();
            diesel::insert_into(enquiries::table)
                .values((
                    enquiries::id.eq(&enquiry_id),
                    enquiries::sme_id.eq(&sme_id),
                    enquiries::package_id.eq(&package.id),
                    enquiries::vendor_id.eq(&vendor_id),
                    enquiries::revision_id.eq(&revision.id),
                    enquiries::options_json.eq("[]"),
                    enquiries::status.eq(crate::enquiries::model::EnquiryStatus::Confirmed),
                    enquiries::eligible_cost_cents.eq(q.eligible_cost.cents()),
                    enquiries::answered_at.eq(now),
                    enquiries::created_at.eq(now),
                    enquiries::updated_at.eq(now),
                ))
                .execute(tx)?;
            made.push(Applicant {
                user_id,
                sme_id,
                enquiry_id,
            });
        }
        Ok(made)
    })
}
