DROP TABLE guide_search;
DROP TABLE guide_tags;
DROP TABLE guides;
