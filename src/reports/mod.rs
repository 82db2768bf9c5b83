//! Reports for programme admins: the budget's drawdown by period and by attribute (JSON, CSV and
//! a chart), and the grants in 360Giving's fields for open data.
//!
//! `drawdown` and `chart` are pure; `store` and `grants` read the database; `routes` is the
//! HTTP edge.

pub mod chart;
pub mod csv_out;
pub mod daily;
pub mod drawdown;
pub mod grants;
pub mod rollup;
pub mod routes;
pub mod store;
