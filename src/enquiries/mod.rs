//! Enquiries: an SME asks a vendor for a listed package with chosen add-ons and a term; the
//! vendor confirms (freezing the quote: the revision, the add-ons' prices and the term) or
//! declines. A confirmed enquiry is what an SME applies on.

pub mod model;
pub mod routes;
pub mod store;
