//! The audit trail: atomic with its change, append-only, free of secrets, and browsable.

use diesel::prelude::*;
use dtspp::audit::{self, NewEvent};
use dtspp::auth::{RequestMeta, Role, store};
use dtspp::db::schema::{audit_events, users};
use dtspp::db::write_transaction;
use dtspp::error::ApiError;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, unique_br};
use crate::test_on_both_backends;

fn count_events(app: &crate::helpers::TestApp, action: &str) -> i64 {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

test_on_both_backends! {
    async fn an_audit_event_exists_exactly_when_its_change_commits(app) {
        let mut conn = app.conn();
        let attempt = |conn: &mut _, email: &str, fail: bool| {
            write_transaction(conn, |tx| {
                let id = store::insert_user(tx, email, "hash", Role::Sme, None, None)?;
                audit::record(tx, &RequestMeta::default(), NewEvent::new("test.user_created", "user", Some(&id)))?;
                if fail {
                    return Err(ApiError::Conflict("rolled back on purpose".to_owned()));
                }
                Ok(id)
            })
        };
        assert!(attempt(&mut conn, "rolled@back.hk", true).is_err());
        assert_eq!(count_events(&app, "test.user_created"), 0, "no event without its change");
        let users_named: i64 = users::table.filter(users::email.eq("rolled@back.hk")).count().get_result(&mut conn).unwrap();
        assert_eq!(users_named, 0, "no change without its event");

        let id = attempt(&mut conn, "committed@ok.hk", false).unwrap();
        assert_eq!(count_events(&app, "test.user_created"), 1);
        let entity: Option<String> = audit_events::table
            .filter(audit_events::action.eq("test.user_created"))
            .select(audit_events::entity_id)
            .first(&mut conn)
            .unwrap();
        assert_eq!(entity, Some(id));
    }

    async fn audit_events_can_be_neither_changed_nor_deleted(app) {
        app.register_sme("trail@shop.hk", &unique_br()).await;
        let mut conn = app.conn();
        let update = diesel::update(audit_events::table).set(audit_events::action.eq("tampered")).execute(&mut conn);
        let refused_by_trigger = |r: &QueryResult<usize>| {
            matches!(r, Err(e) if e.to_string().contains("audit_events is append-only"))
        };
        assert!(refused_by_trigger(&update), "UPDATE must be refused by the trigger: {update:?}");
        let delete = diesel::delete(audit_events::table).execute(&mut conn);
        assert!(refused_by_trigger(&delete), "DELETE must be refused by the trigger: {delete:?}");
        assert_eq!(count_events(&app, "sme.registered"), 1);
    }

    async fn registrations_are_audited_without_secrets_and_browsable_by_page(app) {
        for i in 0..3 {
            app.register_vendor(&format!("v{i}@vendor.hk"), &unique_br()).await;
        }
        let admin = app.admin_token().await;
        let first: Value = app.get_as("/api/v1/admin/audit-events?entity_type=vendor&limit=2", &admin).await.json().await.unwrap();
        let items = first["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64(), "newest first");
        assert_eq!(items[0]["action"], "vendor.registered");
        assert_eq!(items[0]["actor_role"], "vendor");
        assert!(items[0]["request_id"].as_str().is_some_and(|r| !r.is_empty()));
        assert_eq!(items[0]["ip"], "127.0.0.1");
        assert_eq!(items[0]["after"]["status"], "pending");
        let cursor = first["next_cursor"].as_str().unwrap();
        let second: Value = app
            .get_as(&format!("/api/v1/admin/audit-events?entity_type=vendor&limit=2&cursor={cursor}"), &admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(second["items"].as_array().unwrap().len(), 1);
        assert!(second["next_cursor"].is_null());

        let actor = items[0]["actor_id"].as_str().unwrap();
        let mine: Value = app.get_as(&format!("/api/v1/admin/audit-events?actor_id={actor}"), &admin).await.json().await.unwrap();
        assert!(mine["items"].as_array().unwrap().iter().all(|e| e["actor_id"] == actor));

        let everything: Value = app.get_as("/api/v1/admin/audit-events?limit=100", &admin).await.json().await.unwrap();
        let text = everything.to_string();
        assert!(!text.contains(PASSWORD) && !text.contains("argon2"), "secrets in the trail: {text}");

        for bad in ["limit=0", "limit=101", "cursor=bogus"] {
            let res = app.get_as(&format!("/api/v1/admin/audit-events?{bad}"), &admin).await;
            assert_eq!(res.status(), 422, "{bad}");
        }
    }

    async fn a_burst_of_failed_logins_is_recorded(app) {
        app.register_sme("target@shop.hk", &unique_br()).await;
        for _ in 0..6 {
            let res = app.post_json("/api/v1/auth/login", &json!({"email": "target@shop.hk", "password": "wrong wrong wrong"})).await;
            assert_eq!(res.status(), 401);
        }
        assert_eq!(count_events(&app, "auth.login_failed"), 6);
        assert_eq!(count_events(&app, "auth.login_failure_burst"), 1, "one burst event per burst");
    }
}
