ALTER TABLE packages ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (array_to_tsvector(string_to_array(search_document, ' '))) STORED;
CREATE INDEX packages_search_vector ON packages USING GIN (search_vector);
DROP TRIGGER package_terms_follow ON packages;
DROP FUNCTION package_terms_follow();
DROP FUNCTION package_terms_rebuild();
DROP FUNCTION package_terms_of(TEXT);
DROP TABLE package_term_cells;
DROP TABLE package_terms;
