// name: ads_sharing_image
// description: Ads that show a picture of the given ad (same near-duplicate group: PDQ, pHash or crop match), whether that picture is generic, and the hashes that matched.
// params: ad_id:str, limit:int=200
MATCH (a:Ad {id: $ad_id})-[:HAS_IMAGE]->(i:Image)
MATCH (b:Ad)-[:HAS_IMAGE]->(j:Image)
WHERE b.id <> a.id AND coalesce(j.picture, j.hash) = coalesce(i.picture, i.hash)
RETURN DISTINCT b.id AS ad, coalesce(i.picture, i.hash) AS picture,
       coalesce(i.generic, false) AS generic, i.hash AS hash, j.hash AS matched_hash
ORDER BY ad, picture, hash, matched_hash
LIMIT $limit
