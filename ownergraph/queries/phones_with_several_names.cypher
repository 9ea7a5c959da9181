// name: phones_with_several_names
// description: Phones whose ads advertise several different names (one phone, many people).
// params: min_names:int=2, limit:int=50
MATCH (p:Phone)<-[:HAS_PHONE]-(a:Ad)
WHERE a.name IS NOT NULL
WITH p, count(DISTINCT toLower(a.name)) AS n_names, count(DISTINCT a) AS ads,
     coalesce(collect(DISTINCT toLower(a.name)), []) AS names
WHERE n_names >= $min_names
RETURN p.number AS phone, n_names, ads, names
ORDER BY n_names DESC, ads DESC, phone
LIMIT $limit
