//! Accounts for tests: registration forms, and tokens for each role.

use super::{Mail, TestApp, read_mail};

/// Request bodies and calls that many tests share.
impl TestApp {
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    /// Registers a vendor and returns the response body; panics unless 201.
    pub async fn register_vendor(&self, email: &str, br_number: &str) -> serde_json::Value {
        let res = self
            .post_json("/api/v1/vendors/register", &vendor_form(email, br_number))
            .await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        res.json().await.expect("a JSON body")
    }

    /// Registers an eligible SME and returns the response body; panics unless 201.
    pub async fn register_sme(&self, email: &str, br_number: &str) -> serde_json::Value {
        let res = self
            .post_json("/api/v1/smes/register", &sme_form(email, br_number))
            .await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        res.json().await.expect("a JSON body")
    }

    /// Logs in and returns the token pair; panics unless 200.
    pub async fn login(&self, email: &str, password: &str) -> serde_json::Value {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(
            res.status(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
        res.json().await.expect("a JSON body")
    }

    /// The access token of a fresh admin, created as `dtspp admin create` does.
    pub async fn admin_token(&self) -> String {
        let email = format!("admin-{}@dtspp.test", uuid::Uuid::new_v4().simple());
        dtspp::auth::accounts::create_admin(&self.db, &email, PASSWORD)
            .await
            .expect("create an admin");
        self.login(&email, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Marks an account's email verified, as following the emailed link does.
    pub fn verify_email(&self, email: &str) {
        use diesel::prelude::*;
        use dtspp::db::schema::users;
        let updated = diesel::update(users::table.filter(users::email.eq(email)))
            .set(users::email_verified_at.eq(dtspp::time::now()))
            .execute(&mut self.conn())
            .expect("verify the email");
        assert_eq!(updated, 1, "no account for {email}");
    }

    /// The access token of a fresh vendor whose email is verified.
    pub async fn vendor_token(&self) -> String {
        let email = format!("vendor-{}@dtspp.test", uuid::Uuid::new_v4().simple());
        self.register_vendor(&email, &unique_br()).await;
        self.verify_email(&email);
        self.login(&email, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The access token of a fresh SME whose email is verified.
    pub async fn sme_token(&self) -> String {
        let email = format!("sme-{}@dtspp.test", uuid::Uuid::new_v4().simple());
        self.register_sme(&email, &unique_br()).await;
        self.verify_email(&email);
        self.login(&email, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Delivers the outbox now and returns the mail written to the mail directory, once no
    /// email is pending (the app's own worker may be delivering some at the same moment).
    pub async fn deliver_mail(&self) -> Vec<Mail> {
        use diesel::prelude::*;
        use dtspp::db::schema::outbox;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            self.outbox
                .deliver_due(dtspp::time::now())
                .await
                .expect("deliver the outbox");
            let pending: i64 = outbox::table
                .filter(outbox::status.eq("pending"))
                .count()
                .get_result(&mut self.conn())
                .expect("count pending mail");
            if pending == 0 {
                return read_mail(self.mail_dir.path());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{pending} emails stayed pending"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery staple";

/// A BR number no other test uses.
/// Seven digits that follow from `seed`: a distinct phone number per BR number.
fn digits7(seed: &str) -> String {
    let n = seed
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    format!("{:07}", n % 10_000_000)
}

pub fn unique_br() -> String {
    format!("{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000)
}

pub fn vendor_form(email: &str, br_number: &str) -> serde_json::Value {
    serde_json::json!({
        "email": email,
        "password": PASSWORD,
        "company_name_en": "CloudPOS Solutions Limited",
        "company_name_zh": "雲端收銀方案有限公司",
        "br_number": br_number,
        "contact_name": "Chan Tai Man",
        // Distinct businesses have distinct contact details (the risk indicators compare them).
        "phone": format!("+852 2{}", digits7(br_number)),
        "address": format!("Unit {br_number}, Cyberport 3, Pok Fu Lam"),
        "net_equity_positive": true,
        "track_record": "POS systems for 120 restaurants since 2019."
    })
}

pub fn sme_form(email: &str, br_number: &str) -> serde_json::Value {
    serde_json::json!({
        "email": email,
        "password": PASSWORD,
        "business_name_en": "Lucky Tea House",
        "business_name_zh": "好運茶餐廳",
        "br_number": br_number,
        "sector": "food_and_beverage",
        "full_time_employees": 12,
        "district": "Wan Chai",
        "address": format!("G/F, {br_number} Spring Garden Lane, Wan Chai"),
        "phone": format!("+852 9{}", digits7(br_number)),
        "declarations": {"listed_company": false, "statutory_body": false, "government_subvented": false}
    })
}
