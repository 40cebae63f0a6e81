/* finsent live page: polls the API and redraws in place (no reloads). Text is set with
 * textContent only: headlines come from the internet and must never be parsed as HTML. */
"use strict";

(() => {
  const params = new URLSearchParams(window.location.search);
  const REFRESH_MS = Math.max(500, 1000 * Number(params.get("refresh") || 5));
  const RANGES = { "1h": [3600, "1m"], "6h": [21600, "5m"], "24h": [86400, "5m"], "7d": [604800, "1h"] };
  const MAX_TOPICS = 6;
  const C = FinsentCharts;
  const $ = (id) => document.getElementById(id);
  const state = { ticker: (params.get("ticker") || "").toUpperCase(), seen: null, updates: 0 };

  const charts = {
    sentiment: C.liveChart($("chart-sentiment"), C.linesOptions("mean score", [-1, 1], (v) => v.toFixed(2))),
    volume: C.liveChart($("chart-volume"), C.barsOptions("articles", "#5b8def")),
    negative: C.liveChart($("chart-negative"), C.linesOptions("share", [0, 1], (v) => `${Math.round(v * 100)}%`)),
    ticker: C.liveChart($("chart-ticker"), C.linesOptions("mean score", [-1, 1], (v) => v.toFixed(2))),
  };

  async function api(path, query) {
    const url = new URL(path, window.location.origin);
    Object.entries(query || {}).forEach(([k, v]) => { if (v !== undefined && v !== null) url.searchParams.set(k, v); });
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 10000);
    try {
      const res = await fetch(url, { signal: ctrl.signal, headers: { Accept: "application/json" } });
      const body = await res.json();
      if (!res.ok && res.status !== 503) throw new Error(`${path}: HTTP ${res.status}`);
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  function window_() {
    const [span, bucket] = RANGES[$("range").value] || RANGES["6h"];
    const end = new Date();
    return { start: new Date(end.getTime() - span * 1000), end, bucket };
  }

  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  };
  const fmtTime = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const safeHref = (url) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);

  async function drawAggregates(win) {
    const q = { start: win.start.toISOString(), bucket: win.bucket };
    const [topics, all] = await Promise.all([
      api("/api/aggregates", { ...q, scope: "topic" }),
      api("/api/aggregates", { ...q, scope: "all" }),
    ]);
    const volume = (s) => s.points.reduce((n, p) => n + p.n, 0);
    const top = topics.series.sort((a, b) => volume(b) - volume(a)).slice(0, MAX_TOPICS);
    const lines = [...all.series, ...top];
    charts.sentiment.draw(lines.map((s) => s.label), C.align(lines, (p) => p.mean_score));
    charts.volume.draw(["articles"], C.align(all.series, (p) => p.n));
    charts.negative.draw(["negative share"], C.align(all.series, (p) => p.negative_share));
  }

  async function drawAlerts(win) {
    const page = await api("/api/alerts", { start: win.start.toISOString(), limit: 100 });
    const box = $("alerts-timeline");
    const span = win.end - win.start;
    const pct = (t) => Math.min(100, Math.max(0, (100 * (t - win.start)) / span));
    box.textContent = "";
    $("alerts-empty").hidden = page.items.length > 0;
    const open = page.items.filter((a) => a.status === "open").length;
    box.dataset.alerts = String(page.items.length);
    box.dataset.open = String(open);
    page.items.forEach((a) => {
      const row = el("div", undefined, "tl-row");
      const label = el("div", undefined, "tl-label");
      if (a.status === "open") label.append(el("span", "OPEN", "badge open"), " ");
      label.append(`${a.rule_id} · ${a.scope_kind} ${a.scope_value}`);
      label.title = `${a.severity} · value ${a.value.toFixed(3)} (baseline ${a.baseline ?? "–"}) · ${a.status}`;
      const track = el("div", undefined, "tl-track");
      const from = pct(Date.parse(a.opened_at));
      const to = pct(a.resolved_at ? Date.parse(a.resolved_at) : win.end.getTime());
      const bar = el("div", undefined, `tl-bar ${a.status}`);
      bar.style.left = `${from}%`;
      bar.style.width = `${Math.max(0.5, to - from)}%`;
      bar.title = label.title;
      track.append(bar);
      row.append(label, track);
      box.append(row);
    });
    if (page.items.length) {
      const axis = el("div", undefined, "tl-axis");
      [0, 0.25, 0.5, 0.75, 1].forEach((f) => {
        const tick = el("span", fmtTime(new Date(win.start.getTime() + f * span).toISOString()));
        tick.style.left = `${f * 100}%`;
        axis.append(tick);
      });
      box.append(axis);
    }
  }

  function headlineRow(a, fresh) {
    const tr = el("tr", undefined, fresh ? "fresh" : "");
    tr.dataset.id = a.id;
    const s = a.score || {};
    const title = el("td", a.title, "title");
    if (a.tickers.length) title.append(" ", el("span", a.tickers.join(" "), "muted"));
    const link = el("td");
    const href = safeHref(a.url);
    if (href) {
      const anchor = el("a", a.source_id || "source");
      anchor.href = href;
      anchor.target = "_blank";
      anchor.rel = "noopener noreferrer";
      link.append(anchor);
    } else {
      link.textContent = a.source_id || "–";
    }
    const sentiment = el("td");
    sentiment.append(el("span", s.sentiment || "–", `badge ${s.sentiment || ""}`));
    const confidence = s.confidence !== undefined ? `${Math.round(s.confidence * 100)}%` : "–";
    tr.append(
      el("td", fmtTime(a.published_at)), title, el("td", s.topic_label || "–"), sentiment,
      el("td", confidence), link,
    );
    return tr;
  }

  async function drawHeadlines() {
    const page = await api("/api/articles", { scored: true, limit: 15, sort: "-published_at" });
    const body = $("headlines");
    const before = state.seen;
    body.textContent = "";
    page.items.forEach((a) => body.append(headlineRow(a, before !== null && !before.has(a.id))));
    state.seen = new Set(page.items.map((a) => a.id));
  }

  async function defaultTicker(win) {
    const busiest = await api("/api/aggregates", { scope: "entity", start: win.start.toISOString(), bucket: win.bucket, max_series: 1 });
    return busiest.series.length ? busiest.series[0].key : "";
  }

  async function drawTicker(win) {
    if (!state.ticker) state.ticker = await defaultTicker(win);
    if (!state.ticker) return;
    $("ticker-input").placeholder = state.ticker;
    const [agg, page] = await Promise.all([
      api("/api/aggregates", { scope: "entity", key: state.ticker, start: win.start.toISOString(), bucket: win.bucket }),
      api("/api/articles", { ticker: state.ticker, scored: true, limit: 8 }),
    ]);
    const series = agg.series.length ? agg.series : [{ label: state.ticker, points: [] }];
    charts.ticker.draw([state.ticker], C.align(series, (p) => p.mean_score));
    const pts = series[0].points;
    const n = pts.reduce((k, p) => k + p.n, 0);
    const neg = pts.reduce((k, p) => k + p.n_negative, 0);
    const mean = n ? pts.reduce((k, p) => k + (p.mean_score ?? 0) * p.n, 0) / n : null;
    $("ticker-summary").textContent = n
      ? `${state.ticker}: ${n} articles, mean sentiment ${mean.toFixed(2)}, ${Math.round((100 * neg) / n)}% negative`
      : `${state.ticker}: no scored articles in this range`;
    const list = $("ticker-articles");
    list.textContent = "";
    page.items.forEach((a) => {
      const li = el("li");
      const s = a.score || {};
      li.append(el("span", s.sentiment || "–", `badge ${s.sentiment || ""}`), " ", el("span", a.title), " ",
        el("span", fmtTime(a.published_at), "muted"));
      list.append(li);
    });
  }

  async function drawHealth() {
    const h = await api("/healthz");
    const pill = $("health");
    const bad = Object.entries(h.checks).filter(([, c]) => !c.ok).map(([name]) => name);
    pill.textContent = bad.length ? `degraded: ${bad.join(", ")}` : "healthy";
    pill.className = `pill ${bad.length ? "bad" : "ok"}`;
    pill.title = Object.entries(h.checks).map(([k, c]) => `${k}: ${c.detail}`).join("\n");
  }

  async function refresh() {
    const win = window_();
    const jobs = [drawAggregates(win), drawAlerts(win), drawHeadlines(), drawTicker(win)];
    if (state.updates % 3 === 0) jobs.push(drawHealth());
    const results = await Promise.allSettled(jobs);
    const failed = results.filter((r) => r.status === "rejected");
    failed.forEach((r) => console.error(r.reason));
    state.updates += 1;
    document.body.dataset.updates = String(state.updates);
    $("updated").textContent = failed.length
      ? `update failed (${failed.length}) at ${new Date().toLocaleTimeString()}`
      : `updated ${new Date().toLocaleTimeString()}`;
  }

  async function loop() {
    try { await refresh(); } finally { setTimeout(loop, REFRESH_MS); }
  }

  $("ticker-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.ticker = $("ticker-input").value.trim().replace(/^\$/, "").toUpperCase();
    drawTicker(window_()).catch((e) => console.error(e));
  });
  $("range").addEventListener("change", () => { refresh().catch((e) => console.error(e)); });
  loop();
})();
