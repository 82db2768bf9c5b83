DROP TABLE guide_tags;
DROP TABLE guides;
