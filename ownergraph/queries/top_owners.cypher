// name: top_owners
// description: Owner groups ranked by score, with their flags and one-line reasons.
// params: min_ads:int=2, limit:int=25
MATCH (o:Owner)
WHERE o.ads >= $min_ads
RETURN o.id AS owner, o.score AS score, o.ads AS ads, o.states AS states, o.names AS names,
       o.ads_per_day AS ads_per_day, o.usd_spent AS usd_spent, o.evidence AS evidence,
       o.flags AS flags, o.reasons AS reasons
ORDER BY score DESC, ads DESC, owner
LIMIT $limit
