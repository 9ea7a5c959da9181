// name: owner_evidence_links
// description: Every evidence link of one owner group's ads (ad, kind, hub, confidence): phones, e-mails, authors, paying wallets and pictures (near-duplicate groups that are not generic).
// params: owner_id:str
MATCH (a:Ad)-[:BELONGS_TO]->(:Owner {id: $owner_id})
MATCH (a)-[r:HAS_PHONE|HAS_EMAIL|WRITTEN_BY]->(h)
RETURN a.id AS ad,
       CASE WHEN h.number IS NOT NULL THEN 'phone'
            WHEN h.address IS NOT NULL THEN 'email' ELSE 'author' END AS kind,
       coalesce(h.number, h.address, h.id) AS hub, r.confidence AS confidence
ORDER BY ad, kind, hub
UNION ALL
MATCH (a:Ad)-[:BELONGS_TO]->(:Owner {id: $owner_id})
MATCH (a)<-[pf:PAID_FOR]-(t:Tx)<-[:SPENT_IN]-(:Address)-[iw:IN_WALLET]->(w:Wallet)
WHERE t.coinjoin IS NULL OR t.coinjoin = false
WITH a, w, max(pf.confidence * iw.confidence) AS confidence
RETURN a.id AS ad, 'wallet' AS kind, w.id AS hub, confidence
ORDER BY ad, kind, hub
UNION ALL
MATCH (a:Ad)-[:BELONGS_TO]->(:Owner {id: $owner_id})
MATCH (a)-[e:HAS_IMAGE]->(i:Image)
WHERE i.generic IS NULL OR i.generic = false
WITH a, coalesce(i.picture, i.hash) AS hub,
     max(e.confidence * coalesce(i.picture_confidence, 1.0)) AS confidence
RETURN a.id AS ad, 'image' AS kind, hub, confidence
ORDER BY ad, kind, hub
