// name: new_ads_joining_owners
// description: Ads posted at or after $since (epoch seconds) that join an owner group which already had ads before then.
// params: since:int, limit:int=200
MATCH (n:Ad)-[:BELONGS_TO]->(o:Owner)<-[:BELONGS_TO]-(old:Ad)
WHERE n.posted_ts >= $since AND old.posted_ts < $since
WITH n, o, count(DISTINCT old) AS earlier_ads
RETURN n.id AS ad, n.posted_ts AS posted_ts, o.id AS owner, earlier_ads, n.state AS state,
       n.city AS city, n.name AS name
ORDER BY posted_ts, ad
LIMIT $limit
