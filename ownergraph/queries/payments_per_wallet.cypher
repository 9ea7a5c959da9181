// name: payments_per_wallet
// description: Ad payments per wallet over time: paying transactions, ads paid and satoshis sent to processors per period of bucket_days (empty wallet_id = all wallets).
// params: wallet_id:str=, bucket_days:int=7, limit:int=500
MATCH (w:Wallet)<-[:IN_WALLET]-(:Address)-[:SPENT_IN]->(t:Tx)-[:PAID_FOR]->(:Ad)
WHERE ($wallet_id = '' OR w.id = $wallet_id) AND t.first_seen_ts IS NOT NULL
WITH DISTINCT w, t
OPTIONAL MATCH (t)-[p:PAYS]->(x:Address)
WHERE x.processor = true
WITH w, t, coalesce(sum(p.sat), 0) AS sat
OPTIONAL MATCH (t)-[:PAID_FOR]->(a:Ad)
WITH w, t, sat, count(DISTINCT a) AS ads
WITH w, t.first_seen_ts / ($bucket_days * 86400) AS period, count(t) AS txs, sum(ads) AS ads,
     sum(sat) AS sat
RETURN w.id AS wallet, period * $bucket_days * 86400 AS period_ts, txs, ads, sat
ORDER BY wallet, period_ts
LIMIT $limit
