// name: shortest_evidence_path
// description: All shortest evidence paths (phones, e-mails, authors, payments and wallets; at most 12 hops) between two ads, as node keys.
// params: from_ad:str, to_ad:str, limit:int=20
MATCH p = (a:Ad {id: $from_ad})-[:HAS_PHONE|HAS_EMAIL|WRITTEN_BY|PAID_FOR|SPENT_IN|IN_WALLET* ALL SHORTEST 1..12]-(b:Ad {id: $to_ad})
WITH length(p) AS hops,
     list_reduce(list_transform(nodes(p), n -> coalesce(n.id, n.number, n.address, n.txid)),
                 (x, y) -> x + ' > ' + y) AS path
RETURN DISTINCT hops, path
ORDER BY hops, path
LIMIT $limit
