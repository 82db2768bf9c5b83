DROP TABLE package_search;
ALTER TABLE packages DROP COLUMN search_document;
