//! The one schema both backends share: Text ids, BigInt cents, Bool, naive UTC timestamps.
//!
//! Kept by hand in step with `migrations/postgres` and `migrations/sqlite`; the integration
//! test `migrations::both_trees_create_the_same_tables_and_columns` checks the two trees agree.

diesel::table! {
    /// Target sectors an SME may operate in and a package may target.
    sectors (code) {
        code -> Text,
        name_en -> Text,
        name_zh -> Text,
        active -> Bool,
        sort_order -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Solution categories a package is listed under.
    categories (code) {
        code -> Text,
        name_en -> Text,
        name_zh -> Text,
        active -> Bool,
        sort_order -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Versioned programme parameters; the highest version is in force.
    programme_rules (version) {
        version -> BigInt,
        budget_total_cents -> BigInt,
        matching_ratio_bps -> BigInt,
        per_sme_cap_cents -> BigInt,
        one_off_ceiling_cents -> BigInt,
        subscription_ceiling_cents -> BigInt,
        fundable_months -> BigInt,
        implementation_deadline_days -> BigInt,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(sectors, categories, programme_rules);
