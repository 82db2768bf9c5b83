//! Queries over guides: writing them with their rendering, tags and search document, and
//! listing them by search text, category and sector.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Double, Text};

use super::model::{AdminGuide, Guide, GuideForm, GuideLink, GuideRow};
use super::render;
use crate::catalogue::search::{self, Query};
use crate::db::schema::{guide_tags, guides};
use crate::db::{Backend, DbConnection};
use crate::error::ApiError;

/// The most guides one listing answers.
pub const MAX_LISTED: i64 = 100;

/// What a guide says, as its admin wrote it.
#[derive(Debug, Clone)]
pub struct Content {
    pub title_en: String,
    pub title_zh: String,
    pub body_markdown_en: String,
    pub body_markdown_zh: String,
    pub categories: Vec<String>,
    pub sectors: Vec<String>,
}

impl Content {
    /// What the admin's form says.
    pub fn of(form: &GuideForm) -> Content {
        Content {
            title_en: form.title_en.clone(),
            title_zh: form.title_zh.clone(),
            body_markdown_en: form.body_markdown_en.clone(),
            body_markdown_zh: form.body_markdown_zh.clone(),
            categories: form.categories.clone(),
            sectors: form.sectors.clone(),
        }
    }
}

/// Refuses tags that are not category or sector codes, naming the field (`categories[1]`).
pub fn check_tags(conn: &mut DbConnection, content: &Content) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (i, code) in content.categories.iter().enumerate() {
        if crate::programme::store::category_active(conn, code)?.is_none() {
            errors.push(crate::error::FieldError::new(
                format!("categories[{i}]"),
                format!("is not a category code: {code:?}"),
            ));
        }
    }
    for (i, code) in content.sectors.iter().enumerate() {
        if crate::programme::store::sector_active(conn, code)?.is_none() {
            errors.push(crate::error::FieldError::new(
                format!("sectors[{i}]"),
                format!("is not a sector code: {code:?}"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn document(c: &Content) -> String {
    search::document(&[
        &c.title_en,
        &c.title_zh,
        &render::to_text(&c.body_markdown_en),
        &render::to_text(&c.body_markdown_zh),
    ])
}

/// Whether [`save`] publishes a new guide (by an admin, or by the seed with none) or rewrites
/// a stored one.
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    New { author_id: Option<&'a str> },
    Existing,
}

/// Writes a guide, its tags and its search index.
pub fn save(
    conn: &mut DbConnection,
    slug: &str,
    content: &Content,
    write: Write<'_>,
) -> Result<(), ApiError> {
    check_tags(conn, content)?;
    let now = crate::time::now();
    let doc = document(content);
    let values = (
        guides::title_en.eq(content.title_en.trim()),
        guides::title_zh.eq(content.title_zh.trim()),
        guides::body_markdown_en.eq(&content.body_markdown_en),
        guides::body_markdown_zh.eq(&content.body_markdown_zh),
        guides::body_html_en.eq(render::to_html(&content.body_markdown_en)),
        guides::body_html_zh.eq(render::to_html(&content.body_markdown_zh)),
        guides::search_document.eq(&doc),
        guides::updated_at.eq(now),
    );
    if let Write::New { author_id } = write {
        diesel::insert_into(guides::table)
            .values((
                guides::slug.eq(slug),
                values,
                guides::published_at.eq(now),
                guides::author_id.eq(author_id),
            ))
            .execute(conn)?;
    } else {
        diesel::update(guides::table.find(slug))
            .set(values)
            .execute(conn)?;
        diesel::delete(guide_tags::table.filter(guide_tags::slug.eq(slug))).execute(conn)?;
    }
    let mut tags: Vec<(&str, &String)> = content
        .categories
        .iter()
        .map(|c| ("category", c))
        .chain(content.sectors.iter().map(|s| ("sector", s)))
        .collect();
    tags.sort();
    tags.dedup();
    for (kind, code) in tags {
        diesel::insert_into(guide_tags::table)
            .values((
                guide_tags::slug.eq(slug),
                guide_tags::kind.eq(kind),
                guide_tags::code.eq(code),
            ))
            .execute(conn)?;
    }
    if conn.backend() == Backend::Sqlite {
        diesel::sql_query("DELETE FROM guide_search WHERE slug = ?")
            .bind::<Text, _>(slug)
            .execute(conn)?;
        diesel::sql_query("INSERT INTO guide_search (slug, document) VALUES (?, ?)")
            .bind::<Text, _>(slug)
            .bind::<Text, _>(&doc)
            .execute(conn)?;
    }
    Ok(())
}

/// The guide at `slug`, if any.
pub fn find(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<GuideRow>> {
    guides::table
        .find(slug)
        .select(GuideRow::as_select())
        .first(conn)
        .optional()
}

/// A guide's category codes and sector codes.
type Tags = (Vec<String>, Vec<String>);

/// Each guide's categories and sectors.
fn tags_of(conn: &mut DbConnection, slugs: &[String]) -> QueryResult<BTreeMap<String, Tags>> {
    let rows: Vec<(String, String, String)> = guide_tags::table
        .filter(guide_tags::slug.eq_any(slugs))
        .order((guide_tags::slug, guide_tags::kind, guide_tags::code))
        .select((guide_tags::slug, guide_tags::kind, guide_tags::code))
        .load(conn)?;
    let mut out: BTreeMap<String, Tags> = BTreeMap::new();
    for (slug, kind, code) in rows {
        let entry = out.entry(slug).or_default();
        if kind == "category" {
            entry.0.push(code);
        } else {
            entry.1.push(code);
        }
    }
    Ok(out)
}

/// The guides of `rows`, with their tags, in the same order.
pub fn views(conn: &mut DbConnection, rows: Vec<GuideRow>) -> QueryResult<Vec<Guide>> {
    let slugs: Vec<String> = rows.iter().map(|r| r.slug.clone()).collect();
    let mut tags = tags_of(conn, &slugs)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (categories, sectors) = tags.remove(&r.slug).unwrap_or_default();
            Guide {
                slug: r.slug,
                title_en: r.title_en,
                title_zh: r.title_zh,
                body_html_en: r.body_html_en,
                body_html_zh: r.body_html_zh,
                categories,
                sectors,
                published_at: r.published_at,
                updated_at: r.updated_at,
            }
        })
        .collect())
}

/// One guide as its admins see it.
pub fn admin_view(conn: &mut DbConnection, row: GuideRow) -> QueryResult<AdminGuide> {
    let (md_en, md_zh) = (row.body_markdown_en.clone(), row.body_markdown_zh.clone());
    let guide = views(conn, vec![row])?.remove(0);
    Ok(AdminGuide {
        guide,
        body_markdown_en: md_en,
        body_markdown_zh: md_zh,
    })
}

#[derive(QueryableByName)]
struct Scored {
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Double)]
    score: f64,
}

/// What a listing asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub query: Option<Query>,
    pub category: Option<String>,
    pub sector: Option<String>,
}

/// Guides matching `filter`: by relevance when searching, otherwise newest first; at most
/// [`MAX_LISTED`].
pub fn list(conn: &mut DbConnection, filter: &Filter) -> QueryResult<Vec<GuideRow>> {
    let mut q = guides::table.select(GuideRow::as_select()).into_boxed();
    for (kind, code) in [("category", &filter.category), ("sector", &filter.sector)] {
        if let Some(code) = code {
            q = q.filter(
                guides::slug.eq_any(
                    guide_tags::table
                        .filter(guide_tags::kind.eq(kind))
                        .filter(guide_tags::code.eq(code.clone()))
                        .select(guide_tags::slug),
                ),
            );
        }
    }
    let Some(query) = &filter.query else {
        return q
            .order((guides::published_at.desc(), guides::slug))
            .limit(MAX_LISTED)
            .load(conn);
    };
    let scored: Vec<Scored> = match conn.backend() {
        Backend::Postgres => diesel::sql_query(
            "SELECT slug, ts_rank(search_vector, CAST($1 AS tsquery))::float8 AS score \
             FROM guides WHERE search_vector @@ CAST($1 AS tsquery)",
        )
        .bind::<Text, _>(query.tsquery())
        .load(conn)?,
        Backend::Sqlite => diesel::sql_query(
            "SELECT slug, -bm25(guide_search) AS score FROM guide_search WHERE guide_search MATCH ?",
        )
        .bind::<Text, _>(query.fts5())
        .load(conn)?,
    };
    let scores: BTreeMap<String, f64> = scored.into_iter().map(|s| (s.slug, s.score)).collect();
    let slugs: Vec<&String> = scores.keys().collect();
    let mut rows: Vec<GuideRow> = q.filter(guides::slug.eq_any(slugs)).load(conn)?;
    let score = |r: &GuideRow| scores.get(&r.slug).copied().unwrap_or(0.0);
    rows.sort_by(|a, b| {
        score(b)
            .total_cmp(&score(a))
            .then_with(|| a.slug.cmp(&b.slug))
    });
    rows.truncate(usize::try_from(MAX_LISTED).unwrap_or(100));
    Ok(rows)
}

/// The guides for each of `categories` that suit `sector` (tagged with it, or with no sector at
/// all), newest first: `(category, link)` pairs.
pub fn links(
    conn: &mut DbConnection,
    categories: &[String],
    sector: &str,
) -> QueryResult<Vec<(String, GuideLink)>> {
    let tagged: Vec<(String, String)> = guide_tags::table
        .filter(guide_tags::kind.eq("category"))
        .filter(guide_tags::code.eq_any(categories))
        .select((guide_tags::slug, guide_tags::code))
        .load(conn)?;
    let slugs: Vec<&String> = tagged.iter().map(|(slug, _)| slug).collect();
    let sectors: Vec<(String, String)> = guide_tags::table
        .filter(guide_tags::kind.eq("sector"))
        .filter(guide_tags::slug.eq_any(&slugs))
        .select((guide_tags::slug, guide_tags::code))
        .load(conn)?;
    let suits = |slug: &str| {
        let mut own = sectors.iter().filter(|(s, _)| s == slug).peekable();
        own.peek().is_none() || own.any(|(_, code)| code == sector)
    };
    let guides: Vec<(String, String, String)> = guides::table
        .filter(guides::slug.eq_any(&slugs))
        .order((guides::published_at.desc(), guides::slug))
        .select((guides::slug, guides::title_en, guides::title_zh))
        .load(conn)?;
    let mut out = Vec::new();
    for (slug, title_en, title_zh) in guides {
        if !suits(&slug) {
            continue;
        }
        for (_, category) in tagged.iter().filter(|(s, _)| *s == slug) {
            out.push((
                category.clone(),
                GuideLink {
                    url: format!("/api/v1/guides/{slug}"),
                    slug: slug.clone(),
                    title_en: title_en.clone(),
                    title_zh: title_zh.clone(),
                },
            ));
        }
    }
    Ok(out)
}
