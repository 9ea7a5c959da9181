// name: owner_soft_joins
// description: The parts of one owner group joined by soft evidence (stylometric author, wallet) rather than a shared phone or e-mail: each part (named by its first ad), its ads and phones, the evidence that joined it and that evidence's measured precision on this data.
// params: owner_id:str
MATCH (a:Ad)-[b:BELONGS_TO]->(o:Owner {id: $owner_id})
WHERE b.via IS NOT NULL AND b.via <> 'identifiers' AND b.via <> 'alone'
OPTIONAL MATCH (a)-[:HAS_PHONE]->(p:Phone)
RETURN b.core AS core, b.via AS via, b.precision AS precision,
       count(DISTINCT a.id) AS ads, collect(DISTINCT p.number) AS phones
ORDER BY ads DESC, core
