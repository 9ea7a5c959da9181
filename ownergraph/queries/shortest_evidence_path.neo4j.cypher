// name: shortest_evidence_path
// description: Neo4j variant: allShortestPaths and a list comprehension (LadybugDB uses ALL SHORTEST and list_transform).
// params: from_ad:str, to_ad:str, limit:int=20
MATCH (a:Ad {id: $from_ad}), (b:Ad {id: $to_ad})
MATCH p = allShortestPaths((a)-[:HAS_PHONE|HAS_EMAIL|WRITTEN_BY|PAID_FOR|SPENT_IN|IN_WALLET*..12]-(b))
WITH length(p) AS hops, [n IN nodes(p) | coalesce(n.id, n.number, n.address, n.txid)] AS keys
WITH hops, reduce(s = head(keys), k IN tail(keys) | s + ' > ' + k) AS path
RETURN DISTINCT hops, path
ORDER BY hops, path
LIMIT $limit
