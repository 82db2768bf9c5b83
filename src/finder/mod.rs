//! The solution finder (issue 12, part A): the best subsidised bundles of packages for an SME.
//! `optimise` is the pure search; the HTTP route is not built yet.

pub mod optimise;
