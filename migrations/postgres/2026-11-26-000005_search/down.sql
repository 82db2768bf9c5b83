DROP INDEX packages_search;
ALTER TABLE packages DROP COLUMN search_document;
