// name: ads_sharing_identifier
// description: Ads that share a phone or e-mail with the given ad, and which identifier links them.
// params: ad_id:str, limit:int=200
MATCH (a:Ad {id: $ad_id})-[:HAS_PHONE|HAS_EMAIL]->(i)<-[:HAS_PHONE|HAS_EMAIL]-(b:Ad)
WHERE b.id <> a.id
WITH b, CASE WHEN i.number IS NOT NULL THEN 'phone' ELSE 'email' END AS via,
     coalesce(i.number, i.address) AS identifier
RETURN DISTINCT b.id AS ad, via, identifier, b.posted_ts AS posted_ts
ORDER BY ad, via, identifier
LIMIT $limit
