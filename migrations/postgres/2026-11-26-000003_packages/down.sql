DROP TABLE package_reviews;
DROP TABLE package_options;
DROP TABLE package_revisions;
DROP TABLE packages;
