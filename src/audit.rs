//! The append-only audit trail: who did what to which entity, from what to what, when, from
//! where. [`record`] writes inside the caller's transaction, so an event exists exactly when
//! its change commits. Database triggers refuse any UPDATE or DELETE of an event.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::{RequestMeta, Role};
use crate::db::DbConnection;
use crate::db::schema::audit_events;
use crate::db::together::{self, Write};

/// Object keys that never reach the trail, at any depth: secrets and their hashes.
const SECRET_KEY_PARTS: &[&str] = &["password", "token", "hash", "secret"];

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewEvent {
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    actor_id: Option<String>,
    actor_role: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
}

impl NewEvent {
    /// `action` (e.g. `vendor.registered`) on the entity `entity_type`/`entity_id`.
    pub fn new(action: &str, entity_type: &str, entity_id: Option<&str>) -> NewEvent {
        NewEvent {
            action: action.to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.map(str::to_owned),
            actor_id: None,
            actor_role: None,
            before: None,
            after: None,
        }
    }

    /// Who acted; without this the actor is anonymous (or the system).
    pub fn by(mut self, actor_id: &str, role: Role) -> NewEvent {
        self.actor_id = Some(actor_id.to_owned());
        self.actor_role = Some(role.as_str().to_owned());
        self
    }

    /// An actor that is not a user, such as `cli` or `system`.
    pub fn by_system(mut self, name: &str) -> NewEvent {
        self.actor_role = Some(name.to_owned());
        self
    }

    pub fn before(mut self, state: impl Serialize) -> NewEvent {
        self.before = serde_json::to_value(state).ok();
        self
    }

    pub fn after(mut self, state: impl Serialize) -> NewEvent {
        self.after = serde_json::to_value(state).ok();
        self
    }
}

/// Appends `event`, in the caller's transaction.
pub fn record(conn: &mut DbConnection, meta: &RequestMeta, event: NewEvent) -> QueryResult<()> {
    together::execute(conn, recording(meta, event))?;
    Ok(())
}

/// The statement [`record`] runs, to send with others ([`crate::db::together::Together`]).
pub fn recording(meta: &RequestMeta, event: NewEvent) -> impl Write + use<> {
    let to_text = |value: Option<Value>| value.map(|v| redact(v).to_string());
    diesel::insert_into(audit_events::table).values((
        audit_events::occurred_at.eq(crate::time::now()),
        audit_events::actor_id.eq(event.actor_id),
        audit_events::actor_role.eq(event.actor_role),
        audit_events::action.eq(event.action),
        audit_events::entity_type.eq(event.entity_type),
        audit_events::entity_id.eq(event.entity_id),
        audit_events::before_json.eq(to_text(event.before)),
        audit_events::after_json.eq(to_text(event.after)),
        audit_events::request_id.eq(meta.request_id.clone()),
        audit_events::ip.eq(meta.ip.clone()),
    ))
}

/// Removes every object key that names a secret, at any depth.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(key, _)| {
                    let key = key.to_ascii_lowercase();
                    !SECRET_KEY_PARTS.iter().any(|part| key.contains(part))
                })
                .map(|(key, value)| (key, redact(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// A recorded event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

/// An audit event as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: i64,
    #[schema(example = "2026-01-31T09:00:00Z")]
    pub occurred_at: String,
    pub actor_id: Option<String>,
    #[schema(example = "admin")]
    pub actor_role: Option<String>,
    #[schema(example = "vendor.registered")]
    pub action: String,
    #[schema(example = "vendor")]
    pub entity_type: String,
    pub entity_id: Option<String>,
    /// The entity's state before the change, if it existed.
    pub before: Option<Value>,
    /// The entity's state after the change, without any secret.
    pub after: Option<Value>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

impl From<AuditRow> for AuditEvent {
    fn from(row: AuditRow) -> Self {
        let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        AuditEvent {
            id: row.id,
            occurred_at: crate::time::rfc3339(row.occurred_at),
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            before: parse(row.before_json),
            after: parse(row.after_json),
            request_id: row.request_id,
            ip: row.ip,
        }
    }
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
}

/// Events matching `filter`, newest first, with ids below `before_id`, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    filter: &Filter,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_events::table
        .select(AuditRow::as_select())
        .into_boxed();
    if let Some(v) = &filter.entity_type {
        query = query.filter(audit_events::entity_type.eq(v.clone()));
    }
    if let Some(v) = &filter.entity_id {
        query = query.filter(audit_events::entity_id.eq(v.clone()));
    }
    if let Some(v) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(v.clone()));
    }
    if let Some(v) = &filter.action {
        query = query.filter(audit_events::action.eq(v.clone()));
    }
    if let Some(id) = before_id {
        query = query.filter(audit_events::id.lt(id));
    }
    query.order(audit_events::id.desc()).limit(limit).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redaction_drops_secret_keys_at_any_depth() {
        let value = json!({
            "email": "a@example.org",
            "password": "x",
            "password_hash": "$argon2id$",
            "profile": {"refresh_token": "t", "name": "A", "items": [{"secret": 1, "ok": 2}]},
        });
        assert_eq!(
            redact(value),
            json!({"email": "a@example.org", "profile": {"name": "A", "items": [{"ok": 2}]}})
        );
    }
}
