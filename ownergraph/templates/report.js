/* ownergraph case report: map, interactive evidence graph, link table filter, exports.
   Everything it needs is inline in the page (vendored cytoscape, d3-geo, topojson-client,
   us-atlas states); it fetches nothing. */
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("case-data").textContent);
  const KIND_COLOUR = { ad: "#4C8EDA", phone: "#F79767", email: "#57C7E3",
                        author: "#8DCC93", wallet: "#FFC454", image: "#A5ABB6" };
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, parent, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, (c) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }
  function lerp(a, b, t) {
    const pa = a.match(/\w\w/g).map((h) => parseInt(h, 16));
    const pb = b.match(/\w\w/g).map((h) => parseInt(h, 16));
    return "#" + pa.map((v, i) => Math.round(v + (pb[i] - v) * t)
      .toString(16).padStart(2, "0")).join("");
  }

  /* ---- map: state outlines (us-atlas), cities from the gazetteer, the path in time order */
  function drawMap() {
    const svg = document.getElementById("map-svg");
    const topo = JSON.parse(document.getElementById("us-states").textContent);
    const states = topojson.feature(topo, topo.objects.states);
    const W = 975, H = 610;
    const proj = d3.geoAlbersUsa().fitExtent([[10, 10], [W - 10, H - 10]], states);
    const path = d3.geoPath(proj);
    const visited = new Set(DATA.places.map((p) => p.state_name));
    const gStates = el("g", { class: "states" }, svg);
    for (const f of states.features) {
      const p = el("path", { d: path(f) || "", class: "state" +
        (visited.has(f.properties.name) ? " visited" : "") }, gStates);
      el("title", {}, p, f.properties.name);
    }
    const xy = {};
    const unplaced = [];
    for (const p of DATA.places) {
      const pt = p.lat == null ? null : proj([p.lon, p.lat]);
      if (pt) xy[p.city + "|" + p.state] = pt; else unplaced.push(p.city + ", " + p.state);
    }
    el("defs", {}, svg).innerHTML =
      '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ' +
      'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" ' +
      'fill="#5b1a14"/></marker>';
    const gMoves = el("g", { class: "moves" }, svg);
    const stays = DATA.stays;
    let moves = 0;
    for (let i = 0; i + 1 < stays.length; i++) {
      const a = xy[stays[i].city + "|" + stays[i].state];
      const b = xy[stays[i + 1].city + "|" + stays[i + 1].state];
      if (!a || !b || (a[0] === b[0] && a[1] === b[1])) continue;
      const mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2;
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const c = [mx - dy * 0.18, my + dx * 0.18]; // bend left: A->B and B->A do not overlap
      const t = stays.length > 2 ? i / (stays.length - 2) : 1;
      const seg = el("path", {
        d: `M${a[0]},${a[1]}Q${c[0]},${c[1]} ${b[0]},${b[1]}`, class: "move",
        stroke: lerp("f4b27a", "7a1410", t), "marker-end": "url(#arrow)",
        "data-step": i + 1,
      }, gMoves);
      el("title", {}, seg, `${i + 1}. ${stays[i].city} (${stays[i].last}) → ` +
         `${stays[i + 1].city} (${stays[i + 1].first})`);
      moves++;
    }
    const gCities = el("g", { class: "cities" }, svg);
    const gLabels = el("g", { class: "labels" }, svg);
    const maxAds = Math.max(1, ...DATA.places.map((p) => p.ads));
    const boxes = [];
    const overlaps = (b) => boxes.some((o) => b.x < o.x + o.width && o.x < b.x + b.width &&
                                              b.y < o.y + o.height && o.y < b.y + b.height);
    // busiest cities first; each label takes the first free spot around its circle
    for (const p of [...DATA.places].sort((a, b) => b.ads - a.ads)) {
      const pt = xy[p.city + "|" + p.state];
      if (!pt) continue;
      const r = 4 + 10 * Math.sqrt(p.ads / maxAds);
      const c = el("circle", { cx: pt[0], cy: pt[1], r: r, class: "city" }, gCities);
      el("title", {}, c, `${p.city}, ${p.state}: ${p.ads} ads, ${p.first} – ${p.last}` +
         (p.approximate ? ` (placed at ${p.gazetteer})` : ""));
      const t = el("text", { class: "city-label" }, gLabels, p.city);
      const spots = [[r + 3, -4, "start"], [r + 3, 12, "start"], [-r - 3, -4, "end"],
                     [-r - 3, 12, "end"], [0, r + 13, "middle"], [0, -r - 5, "middle"]];
      for (const [dx, dy, anchor] of spots) {
        t.setAttribute("x", pt[0] + dx);
        t.setAttribute("y", pt[1] + dy);
        t.setAttribute("text-anchor", anchor);
        if (!overlaps(t.getBBox())) break;
      }
      boxes.push(t.getBBox());
    }
    const first = stays.length ? xy[stays[0].city + "|" + stays[0].state] : null;
    if (first) el("text", { x: first[0] - 8, y: first[1] + 18, class: "start" }, gCities, "start");
    svg.dataset.moves = moves;
    const note = document.getElementById("map-note");
    note.textContent = `${moves} move${moves === 1 ? "" : "s"} between ${Object.keys(xy).length} cities, in time ` +
      "order (light = early, dark = late); circle area = ads. " +
      (unplaced.length ? "Not on the map (not in the gazetteer or outside the US): " +
        unplaced.join("; ") + "." : "");
  }

  /* ---- interactive evidence graph (cytoscape, positions laid out by igraph) */
  function drawGraph() {
    const adById = {};
    for (const a of DATA.ads) adById[a.ad] = a;
    const elements = [];
    const pos = DATA.positions;
    for (const a of DATA.ads) {
      const p = pos["ad:" + a.ad] || [0, 0];
      elements.push({ group: "nodes", data: { id: "ad:" + a.ad, kind: "ad",
        label: `${a.ad} ${a.city || ""}` }, position: { x: p[0], y: p[1] } });
    }
    for (const h of DATA.hubs) {
      const p = pos[h.id] || [0, 0];
      const label = h.label.length > 18 ? h.label.slice(0, 16) + "…" : h.label;
      elements.push({ group: "nodes", data: { id: h.id, kind: h.kind, label: label,
        full: h.label, ads: h.ads }, position: { x: p[0], y: p[1] } });
    }
    const seen = new Set();
    for (const l of DATA.links) {
      const id = "ad:" + l.ad + "->" + l.node;
      if (seen.has(id)) continue;
      seen.add(id);
      elements.push({ group: "edges", data: { id: id, source: "ad:" + l.ad, target: l.node,
        confidence: l.confidence || 0, kind: l.kind } });
    }
    const cy = cytoscape({
      container: document.getElementById("cy"), elements: elements,
      layout: { name: "preset", fit: true, padding: 20 }, wheelSensitivity: 0.3,
      minZoom: 0.05, maxZoom: 8, textureOnViewport: DATA.ads.length > 1500,
      style: [
        { selector: "node", style: { "background-color": (n) => KIND_COLOUR[n.data("kind")],
          label: "data(label)", "font-size": "mapData(ads, 1, 40, 6, 13)",
          "min-zoomed-font-size": 8,
          "text-valign": "top", "text-margin-y": -2, "border-width": 0.5,
          "border-color": "#333", "text-background-color": "#fff",
          "text-background-opacity": 0.7, "text-background-padding": 1 } },
        { selector: 'node[kind = "ad"]', style: { width: 8, height: 8, "font-size": 5 } },
        { selector: 'node[kind = "phone"]', style: { shape: "round-rectangle", width: 18,
          height: 18 } },
        { selector: 'node[kind = "email"]', style: { shape: "round-rectangle", width: 18,
          height: 18 } },
        { selector: 'node[kind = "author"]', style: { shape: "triangle", width: 20,
          height: 20 } },
        { selector: 'node[kind = "wallet"]', style: { shape: "diamond", width: 20,
          height: 20 } },
        { selector: 'node[kind = "image"]', style: { shape: "rectangle", width: 18,
          height: 18 } },
        { selector: "edge", style: { width: "mapData(confidence, 0, 1, 0.3, 2)",
          opacity: "mapData(confidence, 0, 1, 0.15, 0.7)", "line-color": "#8a8f98",
          "curve-style": "haystack" } },
        { selector: ".faded", style: { opacity: 0.08 } },
        { selector: "node.focus", style: { "border-width": 3, "border-color": "#b3261e",
          "font-size": 11, "min-zoomed-font-size": 0 } },
        { selector: "node.near", style: { "min-zoomed-font-size": 0 } },
      ],
    });
    window.ownergraphCy = cy;

    const panel = document.getElementById("node-panel");
    function adRow(a, link) {
      return `<tr><td><a href="#ad-${esc(a.ad)}">${esc(a.ad)}</a></td><td>${esc(a.posted)}` +
        `</td><td>${esc(a.city)}, ${esc(a.state)}</td><td>${esc(a.title)}</td><td>` +
        (link ? `${esc(link.method)} (${Number(link.confidence).toFixed(2)})` : "") +
        "</td></tr>";
    }
    function show(node) {
      cy.elements().removeClass("focus near faded");
      const hood = node.closedNeighborhood();
      cy.elements().not(hood).addClass("faded");
      hood.nodes().addClass("near");
      node.addClass("focus");
      cy.animate({ fit: { eles: hood, padding: 40 } }, { duration: 250 });
      const kind = node.data("kind");
      let html;
      if (kind === "ad") {
        const a = adById[node.id().slice(3)];
        const hubs = DATA.links.filter((l) => l.ad === a.ad);
        html = `<h3>Ad ${esc(a.ad)}</h3><p>${esc(a.posted)} · ${esc(a.city)}, ` +
          `${esc(a.state)} · ${esc(a.name || "")} ${esc(a.age || "")}</p>` +
          `<p><b>${esc(a.title)}</b></p><p class="body">${esc(a.body)}</p>` +
          "<table><thead><tr><th>linked by</th><th>value</th><th>method</th>" +
          "<th>confidence</th></tr></thead><tbody>" + hubs.map((l) =>
            `<tr><td>${esc(l.kind)}</td><td>${esc(l.value)}</td><td>${esc(l.method)}</td>` +
            `<td>${Number(l.confidence).toFixed(3)}</td></tr>`).join("") + "</tbody></table>";
      } else {
        const links = DATA.links.filter((l) => l.node === node.id());
        html = `<h3>${esc(kind)} ${esc(node.data("full"))}: ${links.length} ads</h3>` +
          "<table><thead><tr><th>ad</th><th>posted</th><th>where</th><th>title</th>" +
          "<th>link (confidence)</th></tr></thead><tbody>" +
          links.map((l) => adRow(adById[l.ad], l)).join("") + "</tbody></table>";
      }
      panel.innerHTML = html;
      panel.dataset.node = node.id();
    }
    cy.on("tap", "node", (ev) => show(ev.target));
    cy.on("tap", (ev) => {
      if (ev.target === cy) {
        cy.elements().removeClass("focus near faded");
        panel.innerHTML = "Click a node to see its ads.";
      }
    });
    document.getElementById("graph-fit").addEventListener("click", () => cy.fit(undefined, 20));
    document.querySelectorAll("[data-node]").forEach((b) => {
      if (b.tagName !== "BUTTON") return;
      b.addEventListener("click", () => {
        const n = cy.getElementById(b.dataset.node);
        if (!n.length) return;
        document.getElementById("evidence-graph").scrollIntoView();
        show(n);
      });
    });
    document.getElementById("evidence-graph").dataset.nodes = cy.nodes().length;
  }

  /* ---- per-link table: filter by text and kind */
  function linkFilter() {
    const box = document.getElementById("link-filter");
    const kind = document.getElementById("link-kind");
    const rows = Array.from(document.querySelectorAll("#links tbody tr"));
    const count = document.getElementById("link-count");
    function apply() {
      const q = box.value.trim().toLowerCase();
      let n = 0;
      for (const r of rows) {
        const ok = (!kind.value || r.dataset.kind === kind.value) &&
          (!q || r.textContent.toLowerCase().includes(q));
        r.hidden = !ok;
        if (ok) n++;
      }
      count.textContent = `${n} of ${rows.length} links`;
    }
    box.addEventListener("input", apply);
    kind.addEventListener("change", apply);
    apply();
  }

  /* ---- exports: the group's ads and links as CSV or JSON (already redacted if the page is) */
  function csvCell(v) {
    let s = v == null ? "" : Array.isArray(v) ? v.join("; ") :
      typeof v === "object" ? JSON.stringify(v) : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s; // no formulas when opened in a spreadsheet
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function toCsv(rows, cols) {
    return [cols.join(",")].concat(rows.map((r) => cols.map((c) => csvCell(r[c])).join(",")))
      .join("\r\n") + "\r\n";
  }
  function linkRows() {
    return DATA.links.map((l) => ({ ad: l.ad, kind: l.kind, value: l.value, method: l.method,
      confidence: l.confidence, precision: l.precision.value,
      precision_source: l.precision.source, detail: l.detail }));
  }
  const ADS_COLS = ["ad", "posted", "state", "city", "name", "age", "title", "body", "url",
                    "phones", "emails", "membership_confidence"];
  const LINK_COLS = ["ad", "kind", "value", "method", "confidence", "precision",
                     "precision_source", "detail"];
  function download(name, type, text) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function exports() {
    const base = DATA.owner.id + (DATA.redacted ? "-redacted" : "");
    const acts = {
      "ads-csv": () => download(base + "-ads.csv", "text/csv", toCsv(DATA.ads, ADS_COLS)),
      "ads-json": () => download(base + "-ads.json", "application/json",
                                 JSON.stringify(DATA.ads, null, 1)),
      "links-csv": () => download(base + "-links.csv", "text/csv", toCsv(linkRows(), LINK_COLS)),
      "links-json": () => download(base + "-links.json", "application/json",
                                   JSON.stringify(linkRows(), null, 1)),
    };
    for (const [id, f] of Object.entries(acts)) {
      document.getElementById("export-" + id).addEventListener("click", f);
    }
  }

  for (const [name, f] of [["map", drawMap], ["graph", drawGraph], ["links", linkFilter],
                           ["exports", exports]]) {
    try { f(); } catch (e) {
      document.body.dataset.error = (document.body.dataset.error || "") + name + ": " + e + "; ";
      console.error(name, e);
    }
  }
  document.body.dataset.ready = "1";
})();
