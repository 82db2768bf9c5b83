//! Guides: bilingual guidance articles that help SMEs choose (issue 12, part C). Admins write
//! Markdown; `render` (pure) turns it into sanitised HTML; `store` keeps it with its tags and
//! the catalogue's bilingual search document; `routes` is the HTTP edge.

pub mod model;
pub mod render;
pub mod routes;
pub mod store;
