// name: authors_across_phones
// description: Stylometric authors whose ads carry several different phones (writing style that links phone groups).
// params: min_phones:int=2, limit:int=50
MATCH (u:Author)<-[w:WRITTEN_BY]-(a:Ad)
WITH u, count(DISTINCT a) AS ads, min(w.confidence) AS min_confidence
MATCH (u)<-[:WRITTEN_BY]-(:Ad)-[:HAS_PHONE]->(p:Phone)
WITH u, ads, min_confidence, count(DISTINCT p) AS phones
WHERE phones >= $min_phones
RETURN u.id AS author, phones, ads, min_confidence
ORDER BY phones DESC, ads DESC, author
LIMIT $limit
