DROP INDEX packages_search_vector;
ALTER TABLE packages DROP COLUMN search_vector;
CREATE INDEX packages_search ON packages USING GIN (array_to_tsvector(string_to_array(search_document, ' ')));
