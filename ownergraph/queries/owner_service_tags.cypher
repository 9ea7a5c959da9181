// name: owner_service_tags
// description: Tagged services (exchanges, wallet services, processors) that one owner group's wallets paid or received from, with each tag's source and confidence.
// params: owner_id:str
MATCH (:Owner {id: $owner_id})<-[:BELONGS_TO]-(:Ad)<-[:PAID_FOR]-(:Tx)<-[:SPENT_IN]-(:Address)-[:IN_WALLET]->(w:Wallet)
WITH DISTINCT w
MATCH (w)<-[:IN_WALLET]-(:Address)-[:SPENT_IN]->(t:Tx)-[p:PAYS]->(:Address)-[g:TAGGED]->(v:Service)
WITH DISTINCT w, t, p, g, v
RETURN w.id AS wallet, 'paid' AS direction, v.label AS service, v.category AS category,
       g.source AS source, g.confidence AS confidence, 'address tag' AS via,
       count(DISTINCT t) AS txs, sum(p.sat) AS sat, min(t.first_seen_ts) AS first_ts
UNION ALL
MATCH (:Owner {id: $owner_id})<-[:BELONGS_TO]-(:Ad)<-[:PAID_FOR]-(:Tx)<-[:SPENT_IN]-(:Address)-[:IN_WALLET]->(w:Wallet)
WITH DISTINCT w
MATCH (w)<-[:IN_WALLET]-(:Address)<-[p:PAYS]-(t:Tx)<-[:SPENT_IN]-(:Address)-[g:TAGGED]->(v:Service)
WITH DISTINCT w, t, p, g, v
RETURN w.id AS wallet, 'received from' AS direction, v.label AS service, v.category AS category,
       g.source AS source, g.confidence AS confidence, 'address tag' AS via,
       count(DISTINCT t) AS txs, sum(p.sat) AS sat, min(t.first_seen_ts) AS first_ts
UNION ALL
MATCH (:Owner {id: $owner_id})<-[:BELONGS_TO]-(:Ad)<-[:PAID_FOR]-(:Tx)<-[:SPENT_IN]-(:Address)-[:IN_WALLET]->(w:Wallet)
WITH DISTINCT w
MATCH (w)<-[:IN_WALLET]-(:Address)-[:SPENT_IN]->(t:Tx)-[p:PAYS]->(x:Address)-[:IN_WALLET]->(sw:Wallet)<-[:IN_WALLET]-(:Address)-[g:TAGGED]->(v:Service)
WHERE g.cluster_definer = true AND sw.id <> w.id AND NOT (x)-[:TAGGED]->(v)
WITH DISTINCT w, t, p, g, v
RETURN w.id AS wallet, 'paid' AS direction, v.label AS service, v.category AS category,
       g.source AS source, g.confidence AS confidence, 'wallet of a tagged address' AS via,
       count(DISTINCT t) AS txs, sum(p.sat) AS sat, min(t.first_seen_ts) AS first_ts
UNION ALL
MATCH (:Owner {id: $owner_id})<-[:BELONGS_TO]-(:Ad)<-[:PAID_FOR]-(:Tx)<-[:SPENT_IN]-(:Address)-[:IN_WALLET]->(w:Wallet)
WITH DISTINCT w
MATCH (w)<-[:IN_WALLET]-(:Address)<-[p:PAYS]-(t:Tx)<-[:SPENT_IN]-(x:Address)-[:IN_WALLET]->(sw:Wallet)<-[:IN_WALLET]-(:Address)-[g:TAGGED]->(v:Service)
WHERE g.cluster_definer = true AND sw.id <> w.id AND NOT (x)-[:TAGGED]->(v)
WITH DISTINCT w, t, p, g, v
RETURN w.id AS wallet, 'received from' AS direction, v.label AS service, v.category AS category,
       g.source AS source, g.confidence AS confidence, 'wallet of a tagged address' AS via,
       count(DISTINCT t) AS txs, sum(p.sat) AS sat, min(t.first_seen_ts) AS first_ts
