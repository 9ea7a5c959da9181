// name: top_cities_per_owner
// description: Cities where an owner group posts most (empty owner_id = every group, busiest places first).
// params: owner_id:str=, min_ads:int=1, limit:int=50
MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner)
WHERE $owner_id = '' OR o.id = $owner_id
WITH o, a.state AS state, a.city AS city, count(a) AS ads, min(a.posted_ts) AS first_ts,
     max(a.posted_ts) AS last_ts
WHERE ads >= $min_ads
RETURN o.id AS owner, state, city, ads, first_ts, last_ts
ORDER BY ads DESC, owner, state, city
LIMIT $limit
