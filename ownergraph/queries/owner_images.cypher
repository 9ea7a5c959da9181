// name: owner_images
// description: The pictures of one owner group, by near-duplicate group (hashes only, never the pictures): how many of its ads show each, how many ads of other groups do too, how many image hashes matched into it, and whether it is generic (stock photo, logo, badge: never evidence) and why.
// params: owner_id:str
MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner {id: $owner_id})
MATCH (a)-[:HAS_IMAGE]->(i:Image)
WITH o, coalesce(i.picture, i.hash) AS picture, count(DISTINCT a) AS ads,
     count(DISTINCT i) AS hashes, max(i.generic) AS generic,
     max(i.generic_reason) AS generic_reason, min(i.picture_confidence) AS confidence
OPTIONAL MATCH (x:Ad)-[:HAS_IMAGE]->(j:Image)
WHERE coalesce(j.picture, j.hash) = picture
OPTIONAL MATCH (x)-[:BELONGS_TO]->(o2:Owner)
WITH picture, ads, hashes, generic, generic_reason, confidence,
     count(DISTINCT CASE WHEN o2.id <> o.id THEN x.id END) AS ads_elsewhere
RETURN picture, ads, ads_elsewhere, hashes, coalesce(generic, false) AS generic,
       coalesce(generic_reason, '') AS generic_reason, confidence
ORDER BY ads DESC, picture
