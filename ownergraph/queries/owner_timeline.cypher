// name: owner_timeline
// description: One owner group's ads per UTC day (day_ts = start of the day, epoch seconds), with states, cities and names that day.
// params: owner_id:str
MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner {id: $owner_id})
WHERE a.posted_ts IS NOT NULL
WITH a.posted_ts / 86400 AS day, a
RETURN day * 86400 AS day_ts, count(a) AS ads, count(DISTINCT a.state) AS states,
       count(DISTINCT a.city) AS cities, count(DISTINCT toLower(a.name)) AS names
ORDER BY day_ts
