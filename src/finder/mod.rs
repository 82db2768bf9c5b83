//! The solution finder (issue 12, part A): the best subsidised bundles of packages for an SME's
//! needs, budget and remaining cap. `optimise` is the pure search and `explain` the pure
//! wording; `store` reads the candidates and `routes` serves `POST /solution-finder`.

pub mod explain;
pub mod optimise;
pub mod routes;
pub mod store;
