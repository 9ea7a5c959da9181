// name: wallets_paying_in_several_states
// description: Bitcoin wallets that paid for ads posted in at least K distinct states.
// params: min_states:int=2, limit:int=50
MATCH (w:Wallet)<-[:IN_WALLET]-(:Address)-[:SPENT_IN]->(t:Tx)-[:PAID_FOR]->(a:Ad)
WHERE a.state IS NOT NULL
WITH w, count(DISTINCT a.state) AS n_states, count(DISTINCT a) AS ads, count(DISTINCT t) AS txs,
     coalesce(collect(DISTINCT a.state), []) AS states
WHERE n_states >= $min_states
RETURN w.id AS wallet, n_states, ads, txs, states
ORDER BY n_states DESC, ads DESC, wallet
LIMIT $limit
