// name: owner_wallets
// description: Wallets that paid for one owner group's ads: transactions, ads paid, first and last payment.
// params: owner_id:str
MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner {id: $owner_id})
MATCH (a)<-[:PAID_FOR]-(t:Tx)<-[:SPENT_IN]-(:Address)-[:IN_WALLET]->(w:Wallet)
WITH w, count(DISTINCT t) AS txs, count(DISTINCT a) AS ads, min(t.first_seen_ts) AS first_ts,
     max(t.first_seen_ts) AS last_ts
RETURN w.id AS wallet, w.size AS addresses, txs, ads, first_ts, last_ts
ORDER BY ads DESC, wallet
