-- Guidance articles for SMEs (issue 12, part C): bilingual Markdown as the admin wrote it, the
-- sanitised HTML rendered from it by the application (src/guides/render.rs), tags by category
-- and sector, and the same normalised search document as packages (src/catalogue/search.rs).
CREATE TABLE guides (
    slug              TEXT NOT NULL PRIMARY KEY,
    title_en          TEXT NOT NULL,
    title_zh          TEXT NOT NULL,
    body_markdown_en  TEXT NOT NULL,
    body_markdown_zh  TEXT NOT NULL,
    body_html_en      TEXT NOT NULL,
    body_html_zh      TEXT NOT NULL,
    search_document   TEXT NOT NULL,
    published_at      TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    author_id         TEXT REFERENCES users (id)
);
CREATE INDEX guides_published ON guides (published_at, slug);

CREATE TABLE guide_tags (
    slug  TEXT NOT NULL REFERENCES guides (slug),
    kind  TEXT NOT NULL CHECK (kind IN ('category', 'sector')),
    code  TEXT NOT NULL,
    PRIMARY KEY (slug, kind, code)
);
CREATE INDEX guide_tags_code ON guide_tags (kind, code, slug);

CREATE VIRTUAL TABLE guide_search USING fts5(slug UNINDEXED, document, tokenize = 'unicode61 remove_diacritics 0');
