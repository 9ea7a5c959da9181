// name: owners_spanning_states
// description: Owner groups whose ads were posted in at least K distinct states (travel circuits).
// params: min_states:int=3, limit:int=50
MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner)
WHERE a.state IS NOT NULL
WITH o, count(DISTINCT a.state) AS n_states, count(DISTINCT a) AS ads_with_state,
     coalesce(collect(DISTINCT a.state), []) AS states
WHERE n_states >= $min_states
RETURN o.id AS owner, n_states, ads_with_state, states, o.score AS score
ORDER BY n_states DESC, ads_with_state DESC, owner
LIMIT $limit
