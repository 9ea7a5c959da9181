// name: ads_linked_to_ad
// description: Ads linked to the given ad by any evidence (shared phone, e-mail, stylometric author, or paying wallet), with the path.
// params: ad_id:str, limit:int=200
MATCH (a:Ad {id: $ad_id})-[r1:HAS_PHONE|HAS_EMAIL|WRITTEN_BY]->(h)<-[r2:HAS_PHONE|HAS_EMAIL|WRITTEN_BY]-(b:Ad)
WHERE b.id <> a.id
WITH DISTINCT b, h,
     CASE WHEN h.number IS NOT NULL THEN 'phone'
          WHEN h.address IS NOT NULL THEN 'email' ELSE 'author' END AS via,
     coalesce(h.number, h.address, h.id) AS hub
RETURN b.id AS ad, via, hub, $ad_id + ' > ' + hub + ' > ' + b.id AS path
ORDER BY ad, via, hub
LIMIT $limit
UNION ALL
MATCH (a:Ad {id: $ad_id})<-[:PAID_FOR]-(t1:Tx)<-[:SPENT_IN]-(x1:Address)-[:IN_WALLET]->(w:Wallet)
      <-[:IN_WALLET]-(x2:Address)-[:SPENT_IN]->(t2:Tx)-[:PAID_FOR]->(b:Ad)
WHERE b.id <> a.id
WITH b, w, min($ad_id + ' > ' + t1.txid + ' > ' + x1.address + ' > ' + w.id + ' > ' + x2.address
                + ' > ' + t2.txid + ' > ' + b.id) AS path
RETURN b.id AS ad, 'wallet' AS via, w.id AS hub, path
ORDER BY ad, via, hub
LIMIT $limit
