-- Reference data every capability builds on: target sectors, solution categories, and the
-- versioned programme parameters. Sectors and categories are rows, not enums, because later
-- programme rounds add them. Money is BIGINT cents; ratios are BIGINT basis points.

CREATE TABLE sectors (
    code        TEXT NOT NULL PRIMARY KEY CHECK (length(code) BETWEEN 2 AND 63 AND code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z0-9_]*'),
    name_en     TEXT NOT NULL CHECK (length(name_en) > 0),
    name_zh     TEXT NOT NULL CHECK (length(name_zh) > 0),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    sort_order  BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE categories (
    code        TEXT NOT NULL PRIMARY KEY CHECK (length(code) BETWEEN 2 AND 63 AND code GLOB '[a-z]*' AND code NOT GLOB '*[^a-z0-9_]*'),
    name_en     TEXT NOT NULL CHECK (length(name_en) > 0),
    name_zh     TEXT NOT NULL CHECK (length(name_zh) > 0),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    sort_order  BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- One row per version; the highest version is in force. Applications snapshot the version.
CREATE TABLE programme_rules (
    version                      BIGINT NOT NULL PRIMARY KEY CHECK (version > 0),
    budget_total_cents           BIGINT NOT NULL CHECK (budget_total_cents > 0),
    matching_ratio_bps           BIGINT NOT NULL CHECK (matching_ratio_bps BETWEEN 1 AND 10000),
    per_sme_cap_cents            BIGINT NOT NULL CHECK (per_sme_cap_cents > 0),
    one_off_ceiling_cents        BIGINT NOT NULL CHECK (one_off_ceiling_cents > 0),
    subscription_ceiling_cents   BIGINT NOT NULL CHECK (subscription_ceiling_cents > 0),
    fundable_months              BIGINT NOT NULL CHECK (fundable_months BETWEEN 1 AND 120),
    implementation_deadline_days BIGINT NOT NULL CHECK (implementation_deadline_days BETWEEN 1 AND 3650),
    created_at                   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_by                   TEXT
);

INSERT INTO sectors (code, name_en, name_zh, sort_order) VALUES
    ('food_and_beverage', 'Food and beverage', '餐飲', 1),
    ('retail', 'Retail', '零售', 2),
    ('tourism', 'Tourism', '旅遊', 3),
    ('personal_services', 'Personal services', '個人服務', 4);

INSERT INTO categories (code, name_en, name_zh, sort_order) VALUES
    ('e_payment_pos', 'E-payment and point-of-sale systems', '電子支付及銷售點系統', 1),
    ('online_marketing', 'Online promotion and marketing', '網上推廣及營銷', 2),
    ('crm_loyalty', 'Customer management, loyalty and coupons', '客戶管理、會員及優惠券系統', 3);

-- The programme's published defaults: HK$500m budget, 1:1 matching, HK$50,000 per SME,
-- HK$100,000 ceilings, 24 fundable months, six months (183 days) to implement.
INSERT INTO programme_rules (
    version, budget_total_cents, matching_ratio_bps, per_sme_cap_cents, one_off_ceiling_cents,
    subscription_ceiling_cents, fundable_months, implementation_deadline_days
) VALUES (1, 50000000000, 5000, 5000000, 10000000, 10000000, 24, 183);
