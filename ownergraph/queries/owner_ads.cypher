// name: owner_ads
// description: The ads of one owner group in time order, with their phones and e-mails and the membership confidence.
// params: owner_id:str, limit:int=500
MATCH (a:Ad)-[b:BELONGS_TO]->(o:Owner {id: $owner_id})
OPTIONAL MATCH (a)-[:HAS_PHONE]->(p:Phone)
WITH a, b, coalesce(collect(DISTINCT p.number), []) AS phones
OPTIONAL MATCH (a)-[:HAS_EMAIL]->(e:Email)
WITH a, b, phones, coalesce(collect(DISTINCT e.address), []) AS emails
RETURN a.id AS ad, a.posted_ts AS posted_ts, a.state AS state, a.city AS city, a.name AS name,
       a.age AS age, a.title AS title, a.body AS body, a.url AS url, phones, emails,
       b.confidence AS confidence, b.method AS method
ORDER BY posted_ts, ad
LIMIT $limit
