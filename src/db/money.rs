//! How [`Money`] is stored: a `BIGINT` of cents on both backends. Reading refuses a negative
//! amount, so a corrupt row is an error rather than a wrong figure.
//!
//! These are the impls `#[derive(AsExpression, FromSqlRow)]` would write, kept here so that
//! `src/money.rs` stays part of the pure engine; `Bound` is the path that derive itself uses.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::internal::derives::as_expression::Bound;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{BigInt, Nullable};
use diesel::sqlite::Sqlite;

use super::MultiBackend;
use crate::money::Money;

impl ToSql<BigInt, Pg> for Money {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        let cents = self.cents();
        <i64 as ToSql<BigInt, Pg>>::to_sql(&cents, &mut out.reborrow())
    }
}

impl ToSql<BigInt, Sqlite> for Money {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.cents());
        Ok(IsNull::No)
    }
}

impl ToSql<BigInt, MultiBackend> for Money {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((BigInt, self));
        Ok(IsNull::No)
    }
}

impl<DB> ToSql<Nullable<BigInt>, DB> for Money
where
    DB: Backend,
    Money: ToSql<BigInt, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <Money as ToSql<BigInt, DB>>::to_sql(self, out)
    }
}

impl<DB> FromSql<BigInt, DB> for Money
where
    DB: Backend,
    i64: FromSql<BigInt, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let cents = i64::from_sql(bytes)?;
        Money::from_cents(cents).map_err(|e| format!("stored amount of {cents} cents {e}").into())
    }
}

/// A `Money` field of a row struct reads straight from its column.
impl<DB> Queryable<BigInt, DB> for Money
where
    DB: Backend,
    Money: FromSql<BigInt, DB>,
{
    type Row = Money;

    fn build(row: Money) -> deserialize::Result<Self> {
        Ok(row)
    }
}

macro_rules! money_as_expression {
    ($($sql_type:ty),*) => {$(
        impl AsExpression<$sql_type> for Money {
            type Expression = Bound<$sql_type, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<$sql_type> for &'a Money {
            type Expression = Bound<$sql_type, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }
    )*};
}

money_as_expression!(BigInt, Nullable<BigInt>);
