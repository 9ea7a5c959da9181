// name: owner_identifiers
// description: Phones and e-mails of one owner group, with how many of its ads carry each, how many ads of other groups do too, and whether it is marked generic (joins unrelated owners; it joins only its ads that write alike).
// params: owner_id:str
MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner {id: $owner_id})
MATCH (a)-[:HAS_PHONE|HAS_EMAIL]->(i)
WITH o, i, count(DISTINCT a) AS ads
OPTIONAL MATCH (i)<-[:HAS_PHONE|HAS_EMAIL]-(x:Ad)-[:BELONGS_TO]->(o2:Owner)
WHERE o2.id <> o.id
WITH i, ads, count(DISTINCT x) AS ads_elsewhere
RETURN CASE WHEN i.number IS NOT NULL THEN 'phone' ELSE 'email' END AS kind,
       coalesce(i.number, i.address) AS identifier, ads, ads_elsewhere,
       coalesce(i.generic, false) AS generic, coalesce(i.generic_reason, '') AS generic_reason
ORDER BY kind DESC, ads DESC, identifier
