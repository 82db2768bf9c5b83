-- Bilingual search. Each package keeps a normalised search document of its live revision
-- (lower-cased words, CJK characters and overlapping pairs, space-separated; see
-- src/catalogue/search.rs), indexed by an FTS5 table. Its unicode61 tokenizer splits only
-- where our tokens are separated (CJK characters are letters to it), so that both backends
-- match the same tokens.
ALTER TABLE packages ADD COLUMN search_document TEXT;
CREATE VIRTUAL TABLE package_search USING fts5(package_id UNINDEXED, document, tokenize = 'unicode61 remove_diacritics 0');
