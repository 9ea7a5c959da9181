// name: owners_by_ads_per_day
// description: Owner groups ranked by posting rate: ads per active (UTC) day, with first and last ad times.
// params: min_ads:int=2, limit:int=50
MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner)
WHERE a.posted_ts IS NOT NULL
WITH o, count(a) AS ads, count(DISTINCT a.posted_ts / 86400) AS active_days,
     min(a.posted_ts) AS first_ts, max(a.posted_ts) AS last_ts
WHERE ads >= $min_ads
RETURN o.id AS owner, ads, active_days, round(ads * 1.0 / active_days, 3) AS ads_per_day,
       first_ts, last_ts
ORDER BY ads_per_day DESC, ads DESC, owner
LIMIT $limit
