DROP TRIGGER packages_category_fixed;
DROP TRIGGER smes_groups_fixed;
DROP TRIGGER applications_keys_fixed;
DROP TRIGGER applications_no_delete;
