-- pgbench: the SQL that GET /api/v1/catalogue/packages?category=… runs, without the service:
-- the page of listed packages of approved vendors on their live revision, and both facets.
\set c random(1, 3)
SELECT p.id, p.vendor_id, p.category, p.target_sector, p.status, p.live_revision_id, p.current_revision_id,
       p.listed_at, p.created_at, p.updated_at, r.*, v.id, v.company_name_en, v.company_name_zh
FROM packages p JOIN vendors v ON v.id = p.vendor_id
JOIN package_revisions r ON r.id = p.live_revision_id
WHERE p.status = 'listed' AND v.status = 'approved'
  AND p.category = (ARRAY['e_payment_pos', 'online_marketing', 'crm_loyalty'])[:c]
ORDER BY p.listed_at DESC, p.id DESC LIMIT 21;
SELECT p.category, count(*) FROM packages p JOIN vendors v ON v.id = p.vendor_id
JOIN package_revisions r ON r.id = p.live_revision_id
WHERE p.status = 'listed' AND v.status = 'approved' GROUP BY p.category;
SELECT p.target_sector, count(*) FROM packages p JOIN vendors v ON v.id = p.vendor_id
JOIN package_revisions r ON r.id = p.live_revision_id
WHERE p.status = 'listed' AND v.status = 'approved'
  AND p.category = (ARRAY['e_payment_pos', 'online_marketing', 'crm_loyalty'])[:c]
GROUP BY p.target_sector;
