-- Bilingual search. Each package keeps a normalised search document of its live revision
-- (lower-cased words, CJK characters and overlapping pairs, space-separated; see
-- src/catalogue/search.rs). PostgreSQL indexes those tokens as they are, with no parser or
-- dictionary in between, so that both backends match the same tokens.
ALTER TABLE packages ADD COLUMN search_document TEXT;
CREATE INDEX packages_search ON packages USING GIN (array_to_tsvector(string_to_array(search_document, ' ')));
