// name: phones_in_several_states
// description: Phones whose ads were posted in at least K distinct states (travel circuits).
// params: min_states:int=2, limit:int=50
MATCH (p:Phone)<-[:HAS_PHONE]-(a:Ad)
WHERE a.state IS NOT NULL
WITH p, count(DISTINCT a.state) AS n_states, count(DISTINCT a) AS ads
WHERE n_states >= $min_states
RETURN p.number AS phone, n_states, ads
ORDER BY n_states DESC, ads DESC, phone
LIMIT $limit
