//! The grants the programme awarded, in the fields of the 360Giving data standard, so that the
//! programme can publish what it funded: one record per application approved or later.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use super::csv_out::{Cell, CsvRow};
use super::drawdown::hk_date;
use crate::db::DbConnection;
use crate::money::Money;

/// The funder, as 360Giving names organisations.
pub const FUNDER_ID: &str = "HK-CYBERPORT";
pub const FUNDER_NAME: &str = "Hong Kong Cyberport Management Company Limited (Digital Transformation Support Pilot Programme)";

/// The statuses of an awarded grant: approved, and every step after.
pub const AWARDED: &str =
    "'approved', 'delivered', 'delivery_confirmed', 'claim_verified', 'disbursed'";

/// An organisation: `id` is its identifier (for an SME, its BR number).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Organization {
    pub id: String,
    pub name: String,
}

/// The intake batch a grant was awarded in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrantProgramme {
    pub code: String,
    pub title: String,
}

/// A code from one of our vocabularies (`dtspp:sector`, `dtspp:category`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Classification {
    pub vocabulary: String,
    pub code: String,
    pub title: String,
}

/// One grant in 360Giving's fields. Amounts follow this API's rule (decimal strings).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// `360G-dtspp-<application id>`.
    #[schema(example = "360G-dtspp-1b4e28ba-2fa1-11d2-883f-0016d3cca427")]
    pub id: String,
    pub title: String,
    pub description: String,
    /// Always `HKD`.
    pub currency: String,
    pub amount_awarded: Money,
    pub amount_disbursed: Money,
    /// The day (Hong Kong time) the application was approved.
    #[schema(value_type = String, format = Date)]
    pub award_date: chrono::NaiveDate,
    pub recipient_organization: Vec<Organization>,
    pub funding_organization: Vec<Organization>,
    pub grant_programme: Vec<GrantProgramme>,
    pub classifications: Vec<Classification>,
    #[schema(value_type = String, example = "2026-01-31T09:00:00Z")]
    #[serde(serialize_with = "crate::time::serialize")]
    pub date_modified: NaiveDateTime,
}

/// 360Giving's flattened column titles, in the order [`Grant::cells`] writes them.
pub const CSV_HEADER: &[&str] = &[
    "Identifier",
    "Title",
    "Description",
    "Currency",
    "Amount Awarded",
    "Amount Disbursed",
    "Award Date",
    "Recipient Org:Identifier",
    "Recipient Org:Name",
    "Funding Org:Identifier",
    "Funding Org:Name",
    "Grant Programme:Code",
    "Grant Programme:Title",
    "Classifications:0:Vocabulary",
    "Classifications:0:Code",
    "Classifications:0:Title",
    "Classifications:1:Vocabulary",
    "Classifications:1:Code",
    "Classifications:1:Title",
    "Last Modified",
];

impl CsvRow for Grant {
    fn cells(&self) -> Vec<Cell<'_>> {
        fn id(o: &[Organization]) -> &str {
            o.first().map(|o| o.id.as_str()).unwrap_or("")
        }
        fn name(o: &[Organization]) -> &str {
            o.first().map(|o| o.name.as_str()).unwrap_or("")
        }
        let programme = self.grant_programme.first();
        let class = |i: usize| self.classifications.get(i);
        let mut cells = vec![
            Cell::plain(self.id.as_str()),
            Cell::Text(&self.title),
            Cell::Text(&self.description),
            Cell::plain(self.currency.as_str()),
            Cell::plain(self.amount_awarded.to_string()),
            Cell::plain(self.amount_disbursed.to_string()),
            Cell::plain(self.award_date.format("%Y-%m-%d").to_string()),
            Cell::Text(id(&self.recipient_organization)),
            Cell::Text(name(&self.recipient_organization)),
            Cell::Text(id(&self.funding_organization)),
            Cell::Text(name(&self.funding_organization)),
            Cell::plain(programme.map(|p| p.code.as_str()).unwrap_or("")),
            Cell::Text(programme.map(|p| p.title.as_str()).unwrap_or("")),
        ];
        for i in 0..2 {
            match class(i) {
                Some(c) => cells.extend([
                    Cell::plain(c.vocabulary.as_str()),
                    Cell::plain(c.code.as_str()),
                    Cell::Text(&c.title),
                ]),
                None => cells.extend([Cell::plain(""), Cell::plain(""), Cell::plain("")]),
            }
        }
        cells.push(Cell::plain(
            self.date_modified.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ));
        cells
    }
}

#[derive(QueryableByName)]
struct GrantRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    subsidy_cents: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    approved_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Timestamp)]
    updated_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    batch_id: String,
    #[diesel(sql_type = Text)]
    batch_name: String,
    #[diesel(sql_type = Text)]
    business_name_en: String,
    #[diesel(sql_type = Nullable<Text>)]
    br_number: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    hawker_licence: Option<String>,
    #[diesel(sql_type = Text)]
    sector: String,
    #[diesel(sql_type = Text)]
    sector_name: String,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = Text)]
    category_name: String,
    #[diesel(sql_type = Text)]
    package_name: String,
    #[diesel(sql_type = Text)]
    vendor_name: String,
}

impl GrantRow {
    fn into_grant(self) -> Result<Grant, crate::money::MoneyError> {
        let awarded = Money::from_cents(self.subsidy_cents)?;
        let recipient_id = match (self.br_number, self.hawker_licence) {
            (Some(br), _) => br,
            (None, Some(licence)) => format!("hawker-licence:{licence}"),
            (None, None) => String::new(),
        };
        Ok(Grant {
            id: format!("360G-dtspp-{}", self.id),
            title: format!("Digital transformation: {}", self.package_name),
            description: format!(
                "A 1:1 matching subsidy for {} to adopt \"{}\" ({}) from {}.",
                self.business_name_en, self.package_name, self.category_name, self.vendor_name
            ),
            currency: "HKD".into(),
            amount_awarded: awarded,
            amount_disbursed: if self.status == "disbursed" {
                awarded
            } else {
                Money::ZERO
            },
            award_date: hk_date(self.approved_at.unwrap_or(self.updated_at)),
            recipient_organization: vec![Organization {
                id: recipient_id,
                name: self.business_name_en,
            }],
            funding_organization: vec![Organization {
                id: FUNDER_ID.into(),
                name: FUNDER_NAME.into(),
            }],
            grant_programme: vec![GrantProgramme {
                code: self.batch_id,
                title: self.batch_name,
            }],
            classifications: vec![
                Classification {
                    vocabulary: "dtspp:sector".into(),
                    code: self.sector,
                    title: self.sector_name,
                },
                Classification {
                    vocabulary: "dtspp:category".into(),
                    code: self.category,
                    title: self.category_name,
                },
            ],
            date_modified: self.updated_at,
        })
    }
}

/// The next `limit` grants after application `after`, in id order (a keyset page).
pub fn page(
    conn: &mut DbConnection,
    after: &str,
    limit: i64,
) -> Result<Vec<Grant>, crate::error::ApiError> {
    let rows: Vec<GrantRow> = diesel::sql_query(format!(
        "SELECT a.id, a.subsidy_cents, a.status, a.approved_at, a.updated_at, a.batch_id, \
         b.name AS batch_name, s.business_name_en, s.br_number, s.hawker_licence, s.sector, \
         sec.name_en AS sector_name, p.category, c.name_en AS category_name, \
         r.name_en AS package_name, v.company_name_en AS vendor_name \
         FROM applications a \
         JOIN smes s ON s.id = a.sme_id \
         JOIN enquiries e ON e.id = a.enquiry_id \
         JOIN package_revisions r ON r.id = e.revision_id \
         JOIN packages p ON p.id = a.package_id \
         JOIN vendors v ON v.id = a.vendor_id \
         JOIN intake_batches b ON b.id = a.batch_id \
         JOIN sectors sec ON sec.code = s.sector \
         JOIN categories c ON c.code = p.category \
         WHERE a.status IN ({AWARDED}) AND a.id > $1 \
         ORDER BY a.id LIMIT {limit}"
    ))
    .bind::<Text, _>(after)
    .load(conn)?;
    rows.into_iter()
        .map(|r| r.into_grant().map_err(crate::error::ApiError::internal))
        .collect()
}
