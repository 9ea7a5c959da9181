// name: ads_per_phone
// description: Phones ranked by how many ads carry them, with the states they appear in.
// params: min_ads:int=2, limit:int=50
MATCH (p:Phone)<-[:HAS_PHONE]-(a:Ad)
WITH p, count(DISTINCT a) AS ads, coalesce(collect(DISTINCT a.state), []) AS states
WHERE ads >= $min_ads
RETURN p.number AS phone, ads, size(states) AS n_states
ORDER BY ads DESC, phone
LIMIT $limit
