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
        /// The risk indicators' thresholds (JSON); NULL for the defaults.
        risk_thresholds_json -> Nullable<Text>,
    }
}

diesel::table! {
    /// Everyone who can sign in: vendors, SMEs and admins.
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        email_verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
        registration_ip -> Nullable<Text>,
    }
}

diesel::table! {
    /// Solution providers; an admin verifies each before it may list packages.
    vendors (id) {
        id -> Text,
        user_id -> Text,
        company_name_en -> Text,
        company_name_zh -> Nullable<Text>,
        br_number -> Text,
        contact_name -> Text,
        phone -> Text,
        address -> Text,
        net_equity_positive -> Bool,
        track_record -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// Contact keys for the risk indicators (src/risk/normalise.rs).
        phone_key -> Nullable<Text>,
        address_key -> Nullable<Text>,
        email_domain -> Nullable<Text>,
        contact_name_key -> Nullable<Text>,
    }
}

diesel::table! {
    /// Small and medium enterprises, with their eligibility as evaluated at registration.
    smes (id) {
        id -> Text,
        user_id -> Text,
        business_name_en -> Text,
        business_name_zh -> Nullable<Text>,
        br_number -> Nullable<Text>,
        hawker_licence -> Nullable<Text>,
        sector -> Text,
        full_time_employees -> BigInt,
        district -> Text,
        address -> Text,
        phone -> Text,
        declared_listed_company -> Bool,
        declared_statutory_body -> Bool,
        declared_government_subvented -> Bool,
        eligible -> Bool,
        ineligibility_codes -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        subsidy_held_cents -> BigInt,
        /// Contact keys for the risk indicators (src/risk/normalise.rs).
        phone_key -> Nullable<Text>,
        address_key -> Nullable<Text>,
        /// The domain of the SME's email, unless a public one.
        email_domain -> Nullable<Text>,
        /// The contact person the SME named, if any, and its key.
        contact_name -> Nullable<Text>,
        contact_name_key -> Nullable<Text>,
    }
}

diesel::table! {
    /// Refresh tokens, by hash; a family is one login's chain of rotations.
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Single-use email tokens (verification, password reset), by hash.
    email_tokens (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The append-only audit trail.
    audit_events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Nullable<Text>,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        request_id -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    /// Email waiting to be sent, sent, or given up on.
    outbox (id) {
        id -> Text,
        template -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        dedupe_key -> Nullable<Text>,
        attachment_name -> Nullable<Text>,
        attachment_type -> Nullable<Text>,
        attachment_body -> Nullable<Text>,
    }
}

diesel::table! {
    /// Vendors' solution packages; the catalogue shows each listed package's live revision.
    packages (id) {
        id -> Text,
        vendor_id -> Text,
        category -> Text,
        target_sector -> Text,
        status -> Text,
        live_revision_id -> Nullable<Text>,
        current_revision_id -> Text,
        listed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        search_document -> Nullable<Text>,
        /// Listed, with a live revision, of an approved vendor (kept by triggers).
        visible -> Bool,
        /// The live revision's reference price (kept by triggers).
        reference_price_cents -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// The content of a package at one revision.
    package_revisions (id) {
        id -> Text,
        package_id -> Text,
        number -> BigInt,
        status -> Text,
        name_en -> Text,
        name_zh -> Text,
        summary_en -> Text,
        summary_zh -> Text,
        pricing_model -> Text,
        price_cents -> Nullable<BigInt>,
        monthly_price_cents -> Nullable<BigInt>,
        min_term_months -> Nullable<BigInt>,
        deployment_days -> BigInt,
        components_json -> Text,
        rules_version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
        reference_price_cents -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Optional add-ons of a revision.
    package_options (id) {
        id -> Text,
        revision_id -> Text,
        position -> BigInt,
        name_en -> Text,
        name_zh -> Nullable<Text>,
        price_cents -> BigInt,
    }
}

diesel::table! {
    /// The review history of packages.
    package_reviews (id) {
        id -> Text,
        package_id -> Text,
        revision_id -> Text,
        actor_id -> Text,
        actor_role -> Text,
        action -> Text,
        comment -> Nullable<Text>,
        from_status -> Text,
        to_status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The programme budget's rows: the root 'programme' and its escrow shards
    /// 'programme/NN'. Each row's buckets, in cents, sum to its total; the programme's are the
    /// sums over the rows.
    budget_pools (id) {
        id -> Text,
        total_cents -> BigInt,
        available_cents -> BigInt,
        reserved_cents -> BigInt,
        committed_cents -> BigInt,
        disbursed_cents -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Intake windows, each with an optional quota of subsidy.
    intake_batches (id) {
        id -> Text,
        name -> Text,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        quota_cents -> Nullable<BigInt>,
        used_cents -> BigInt,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// SMEs' enquiries on packages; a confirmed one freezes the quote.
    enquiries (id) {
        id -> Text,
        sme_id -> Text,
        package_id -> Text,
        vendor_id -> Text,
        revision_id -> Text,
        options_json -> Text,
        term_months -> Nullable<BigInt>,
        message -> Nullable<Text>,
        status -> Text,
        eligible_cost_cents -> BigInt,
        vendor_note -> Nullable<Text>,
        decline_reason -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Subsidy applications and where each is in its lifecycle.
    applications (id) {
        id -> Text,
        sme_id -> Text,
        package_id -> Text,
        vendor_id -> Text,
        enquiry_id -> Text,
        batch_id -> Text,
        rules_version -> BigInt,
        status -> Text,
        eligible_cost_cents -> BigInt,
        subsidy_cents -> BigInt,
        sme_pays_cents -> BigInt,
        queued_at -> Timestamp,
        reserved_at -> Nullable<Timestamp>,
        approved_at -> Nullable<Timestamp>,
        deadline_at -> Nullable<Timestamp>,
        delivered_on -> Nullable<Text>,
        delivery_note -> Nullable<Text>,
        payment_reference -> Nullable<Text>,
        payment_reference_key -> Nullable<Text>,
        amount_paid_cents -> Nullable<BigInt>,
        paid_on -> Nullable<Text>,
        verified_by -> Nullable<Text>,
        verified_at -> Nullable<Timestamp>,
        disbursed_by -> Nullable<Text>,
        disbursed_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        last_comment -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        client_ip -> Nullable<Text>,
        /// The admin who approved it.
        approved_by -> Nullable<Text>,
        /// The price ceiling in force for its pricing model when it was made, in cents.
        ceiling_cents -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Every movement of budget money, append-only.
    budget_ledger (id) {
        id -> Text,
        pool_id -> Text,
        kind -> Text,
        amount_cents -> BigInt,
        application_id -> Nullable<Text>,
        batch_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        occurred_at -> Timestamp,
        /// The entry's number, given after it committed; 0 until then.
        seq -> BigInt,
    }
}

diesel::table! {
    /// Stored responses for `Idempotency-Key` replays, per user.
    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        request_hash -> Text,
        status_code -> Nullable<BigInt>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Signals of possible fraud for admins to review: one open flag per indicator and subject.
    risk_flags (id) {
        id -> Text,
        indicator -> Text,
        severity -> Text,
        status -> Text,
        subject_type -> Text,
        subject_id -> Text,
        vendor_id -> Nullable<Text>,
        evidence_json -> Text,
        raised_at -> Timestamp,
        updated_at -> Timestamp,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        resolution_comment -> Nullable<Text>,
    }
}

diesel::table! {
    /// The applications a flag concerns.
    risk_flag_applications (flag_id, application_id) {
        flag_id -> Text,
        application_id -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    /// Disbursed applications a confirmed risk flag marked for recovery.
    application_recoveries (application_id) {
        application_id -> Text,
        flag_id -> Text,
        amount_cents -> BigInt,
        marked_by -> Text,
        marked_at -> Timestamp,
    }
}

diesel::table! {
    /// The ledger's applications' money summed by Hong Kong day and kind (the report's rollup).
    ledger_daily (day, kind) {
        day -> Text,
        kind -> Text,
        cents -> BigInt,
        entries -> BigInt,
    }
}

diesel::table! {
    /// How far `ledger_daily` has summed the ledger.
    ledger_daily_state (id) {
        id -> Text,
        through_seq -> BigInt,
    }
}

diesel::table! {
    /// Conflicts of interest admins declared with vendors.
    admin_conflicts (id) {
        id -> Text,
        admin_id -> Text,
        vendor_id -> Text,
        reason -> Text,
        declared_at -> Timestamp,
    }
}

diesel::joinable!(vendors -> users (user_id));
diesel::joinable!(packages -> vendors (vendor_id));
diesel::joinable!(package_options -> package_revisions (revision_id));
diesel::joinable!(smes -> users (user_id));
diesel::joinable!(smes -> sectors (sector));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(applications -> smes (sme_id));
diesel::joinable!(applications -> packages (package_id));
diesel::joinable!(enquiries -> smes (sme_id));
diesel::joinable!(enquiries -> packages (package_id));
diesel::joinable!(risk_flag_applications -> risk_flags (flag_id));
diesel::joinable!(risk_flag_applications -> applications (application_id));

diesel::table! {
    /// Guidance articles: bilingual Markdown, its sanitised HTML, and a search document.
    guides (slug) {
        slug -> Text,
        title_en -> Text,
        title_zh -> Text,
        body_markdown_en -> Text,
        body_markdown_zh -> Text,
        body_html_en -> Text,
        body_html_zh -> Text,
        search_document -> Text,
        published_at -> Timestamp,
        updated_at -> Timestamp,
        author_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// A guide's categories and sectors.
    guide_tags (slug, kind, code) {
        slug -> Text,
        kind -> Text,
        code -> Text,
    }
}

diesel::joinable!(guide_tags -> guides (slug));

diesel::table! {
    /// Seminars and events, with their seat counts.
    events (id) {
        id -> Text,
        title_en -> Text,
        title_zh -> Text,
        description_en -> Text,
        description_zh -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        venue_en -> Nullable<Text>,
        venue_zh -> Nullable<Text>,
        online_url -> Nullable<Text>,
        language -> Text,
        capacity -> BigInt,
        confirmed_count -> BigInt,
        waitlisted_count -> BigInt,
        registration_closes_at -> Timestamp,
        audience -> Text,
        status -> Text,
        sequence -> BigInt,
        cancel_reason -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// An event's topics: category codes.
    event_topics (event_id, code) {
        event_id -> Text,
        code -> Text,
    }
}

diesel::table! {
    /// Who registered for which event, and how it stands.
    event_registrations (id) {
        id -> Text,
        event_id -> Text,
        user_id -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        attended_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(event_topics -> events (event_id));
diesel::joinable!(event_registrations -> events (event_id));
diesel::joinable!(event_registrations -> users (user_id));

diesel::table! {
    /// SQLite only: the FTS5 index of package search documents (PostgreSQL searches its
    /// postings, `package_terms`: src/catalogue/terms.rs).
    package_search (package_id) {
        package_id -> Text,
        document -> Text,
    }
}

diesel::table! {
    /// Visible packages per (category, sector), kept by triggers on `packages`.
    catalogue_facet_counts (category, target_sector) {
        category -> Text,
        target_sector -> Text,
        package_count -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    catalogue_facet_counts,
    package_search,
    events,
    event_topics,
    event_registrations,
    guides,
    guide_tags,
    sectors,
    categories,
    programme_rules,
    users,
    vendors,
    smes,
    refresh_tokens,
    email_tokens,
    audit_events,
    outbox,
    packages,
    package_revisions,
    package_options,
    package_reviews,
    budget_pools,
    intake_batches,
    enquiries,
    applications,
    budget_ledger,
    idempotency_keys,
    risk_flags,
    risk_flag_applications,
    admin_conflicts,
    application_recoveries,
    ledger_daily,
    ledger_daily_state,
);
