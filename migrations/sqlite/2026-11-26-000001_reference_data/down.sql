DROP TABLE programme_rules;
DROP TABLE categories;
DROP TABLE sectors;
