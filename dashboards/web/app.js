/* finsent live page: polls the API and redraws in place (no reloads). */
"use strict";

(() => {
  const params = new URLSearchParams(window.location.search);
  const REFRESH_MS = Math.max(500, 1000 * Number(params.get("refresh") || 5));
  const RANGES = { "1h": [3600, "1m"], "6h": [21600, "5m"], "24h": [86400, "5m"], "7d": [604800, "1h"] };
  const MAX_TOPICS = 6;
  const C = FinsentCharts;
  const U = FinsentUI;
  const { el, api, fmtTime, fmtScore, badge } = U;
  const $ = (id) => document.getElementById(id);
  const state = { ticker: (params.get("ticker") || "").toUpperCase(), seen: null, updates: 0, alert: null, open: new Set(), topicIds: {} };

  const charts = {
    sentiment: C.liveChart($("chart-sentiment"), C.linesOptions("mean score", [-1, 1], (v) => v.toFixed(2))),
    volume: C.liveChart($("chart-volume"), C.barsOptions("articles", "#5b8def")),
    negative: C.liveChart($("chart-negative"), C.linesOptions("share", [0, 1], (v) => `${Math.round(v * 100)}%`)),
    ticker: C.liveChart($("chart-ticker"), C.linesOptions("weighted score", [-1, 1], (v) => v.toFixed(2))),
    tickerVolume: C.liveChart($("chart-ticker-volume"), C.barsOptions("articles", "#8e7cc3")),
  };

  /** The selected range, ending now; every chart and list uses the same one per refresh. */
  function window_() {
    const [span, bucket] = RANGES[$("range").value] || RANGES["6h"];
    const end = new Date();
    const start = new Date(end.getTime() - span * 1000);
    C.setWindow(start, end);
    document.body.dataset.rangeStart = String(start.getTime() / 1000);
    document.body.dataset.rangeEnd = String(end.getTime() / 1000);
    return { start, end, bucket };
  }

  async function drawAggregates(win) {
    const q = { start: win.start.toISOString(), end: win.end.toISOString(), bucket: win.bucket };
    const [topics, all] = await Promise.all([
      api("/api/aggregates", { ...q, scope: "topic" }),
      api("/api/aggregates", { ...q, scope: "all" }),
    ]);
    topics.series.forEach((s) => { state.topicIds[s.label] = s.key; });
    const volume = (s) => s.points.reduce((n, p) => n + p.n, 0);
    const top = topics.series.sort((a, b) => volume(b) - volume(a)).slice(0, MAX_TOPICS);
    const lines = [...all.series, ...top];
    const allSeries = all.series.length ? all.series : [{ label: "all topics", points: [] }];
    const shown = lines.length ? lines : allSeries;
    charts.sentiment.draw(shown.map((s) => s.label), C.align(shown, (p) => p.mean_score));
    charts.volume.draw(["articles"], C.align(allSeries, (p) => p.n));
    charts.negative.draw(["negative share"], C.align(allSeries, (p) => p.negative_share));
  }

  const tip = el("div", undefined, "tip");
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  document.body.append(tip);

  const when = (iso) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short", hourCycle: "h23" });

  function alertLines(a) {
    return [
      `${a.rule_id} — ${a.severity}, ${a.status}`,
      `scope: ${a.scope_kind} ${a.scope_value}`,
      `opened ${when(a.opened_at)}${a.resolved_at ? `, resolved ${when(a.resolved_at)}` : ""}`,
      `window ${fmtTime(a.window_start)} – ${fmtTime(a.window_end)}`,
      `value ${a.value.toFixed(3)} · baseline ${a.baseline === null ? "–" : a.baseline.toFixed(3)}${a.statistic === null ? "" : ` · statistic ${a.statistic.toFixed(2)}`}`,
    ];
  }

  function showTip(ev, a) {
    tip.textContent = "";
    alertLines(a).forEach((line, i) => tip.append(el("div", line, i === 0 ? "strong" : "")));
    tip.hidden = false;
    const box = ev.currentTarget.getBoundingClientRect();
    const x = ev.clientX !== undefined && ev.clientX ? ev.clientX : box.left;
    tip.style.left = `${Math.min(window.innerWidth - 290, Math.max(4, x + 8)) + window.scrollX}px`;
    tip.style.top = `${box.bottom + 6 + window.scrollY}px`;
  }

  function alertRow(a, win) {
    const span = win.end - win.start;
    const pct = (t) => Math.min(100, Math.max(0, (100 * (t - win.start)) / span));
    const row = el("div", undefined, `tl-row ${a.status}${state.alert === a.id ? " selected" : ""}`);
    row.setAttribute("role", "listitem");
    row.dataset.alertId = String(a.id);
    row.dataset.scope = `${a.scope_kind}:${a.scope_value}`;
    const label = el("button", undefined, "tl-label");
    label.type = "button";
    if (a.status === "open") label.append(el("span", "OPEN", "badge open"), " ");
    label.append(el("span", a.rule_id, "rule"), " ", el("span", `${a.scope_kind} ${a.scope_value}`, "scope"), " ",
      el("span", a.severity, `sev ${a.severity}`));
    label.setAttribute("aria-label", alertLines(a).join("; "));
    const track = el("div", undefined, "tl-track");
    const from = pct(Date.parse(a.opened_at));
    const to = pct(a.resolved_at ? Date.parse(a.resolved_at) : win.end.getTime());
    const bar = el("button", undefined, `tl-bar ${a.status} ${a.severity}`);
    bar.type = "button";
    bar.tabIndex = -1;
    bar.style.left = `${from}%`;
    bar.style.width = `${Math.max(0.6, to - from)}%`;
    bar.setAttribute("aria-hidden", "true");
    track.append(bar);
    [label, bar].forEach((node) => {
      node.addEventListener("click", () => selectAlert(a));
      node.addEventListener("mouseenter", (ev) => showTip(ev, a));
      node.addEventListener("mouseleave", () => { tip.hidden = true; });
    });
    label.addEventListener("focus", (ev) => showTip(ev, a));
    label.addEventListener("blur", () => { tip.hidden = true; });
    row.append(label, track);
    return row;
  }

  async function drawAlerts(win) {
    const page = await api("/api/alerts", { start: win.start.toISOString(), limit: 100 });
    const box = $("alerts-timeline");
    // Rebuild only when an alert changed or the minute moved on (the bars' positions): keeps hover
    // and focus on the rows between polls.
    const key = `${Math.floor(win.start / 60000)}-${Math.floor(win.end / 60000)}|${page.items.map((a) => `${a.id}:${a.status}:${a.updated_at}`).join(",")}`;
    if (key === box.dataset.key) return;
    box.dataset.key = key;
    tip.hidden = true;
    box.textContent = "";
    $("alerts-empty").hidden = page.items.length > 0;
    box.dataset.alerts = String(page.items.length);
    box.dataset.open = String(page.items.filter((a) => a.status === "open").length);
    const order = { open: 0, acknowledged: 1, resolved: 2 };
    page.items
      .slice()
      .sort((x, y) => order[x.status] - order[y.status] || Date.parse(y.opened_at) - Date.parse(x.opened_at))
      .forEach((a) => box.append(alertRow(a, win)));
    if (page.items.length) {
      const axis = el("div", undefined, "tl-axis");
      axis.setAttribute("aria-hidden", "true");
      [0, 0.25, 0.5, 0.75, 1].forEach((f) => {
        const t = new Date(win.start.getTime() + f * (win.end - win.start));
        const tick = el("span", t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }));
        tick.style.left = `${f * 100}%`;
        axis.append(tick);
      });
      box.append(axis);
    }
  }

  /** The articles of an alert's window, with the entity's own scores for entity alerts. */
  async function windowArticles(a) {
    const q = { start: a.window_start, end: new Date(Date.parse(a.window_end) + 1000).toISOString() };
    if (a.scope_kind === "entity") {
      const view = await api(`/api/entities/${encodeURIComponent(a.scope_value)}`, { ...q, limit: 15, bucket: "1m" });
      return view.articles;
    }
    // Topic alerts name the topic (or its id); the listing filters by id.
    const topic = /^\d+$/.test(a.scope_value) ? a.scope_value : state.topicIds[a.scope_value];
    const filter = { topic: { topic }, source: { source: a.scope_value } }[a.scope_kind] || {};
    const page = await api("/api/articles", { ...q, ...filter, scored: true, limit: 15, sort: "-published_at" });
    return page.items;
  }

  async function selectAlert(a) {
    state.alert = a.id;
    document.querySelectorAll(".tl-row").forEach((r) => r.classList.toggle("selected", r.dataset.alertId === String(a.id)));
    const box = $("alert-detail");
    box.hidden = false;
    box.dataset.alertId = String(a.id);
    box.dataset.loaded = "0";
    $("alert-detail-title").textContent = `${a.rule_id} · ${a.scope_kind} ${a.scope_value} · ${a.severity}`;
    $("alert-detail-meta").textContent = alertLines(a).slice(2).join(" · ");
    const list = $("alert-articles");
    list.textContent = "";
    list.append(el("li", "Loading…", "muted"));
    try {
      const items = await windowArticles(a);
      list.textContent = "";
      items.forEach((item) => list.append(U.articleItem(item, showTicker)));
      if (!items.length) list.append(el("li", "No articles in this window.", "muted"));
    } catch (e) {
      list.textContent = "";
      list.append(el("li", `Could not load the window's articles: ${e.message}`, "muted"));
    }
    box.dataset.loaded = "1";
    if (a.scope_kind === "entity") showTicker(a.scope_value, false);
  }

  function headlineRows(a, fresh) {
    const tr = el("tr", undefined, `hl${fresh ? " fresh" : ""}`);
    tr.dataset.id = a.id;
    const s = a.score || {};
    const title = el("td", undefined, "title");
    const toggle = el("button", a.title, "row-toggle plain");
    toggle.type = "button";
    title.append(toggle, " ", U.tickerChips(a.tickers, showTicker));
    const link = el("td", undefined, "opt");
    const href = U.safeHref(a.url);
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
    sentiment.append(badge(s.sentiment), " ", el("span", fmtScore(s.score), "num"));
    const confidence = s.confidence !== undefined ? `${Math.round(s.confidence * 100)}%` : "–";
    tr.append(el("td", fmtTime(a.published_at)), title, el("td", s.topic_label || "–", "opt"), sentiment,
      el("td", confidence, "opt"), link);
    const detail = el("tr", undefined, "hl-detail");
    const cell = el("td");
    cell.colSpan = 6;
    const explain = U.explanationBox(a.id);
    cell.append(explain.node);
    detail.append(cell);
    detail.hidden = true;
    U.expandable(toggle, detail, explain);
    if (state.open.has(a.id)) toggle.click();
    toggle.addEventListener("click", () => {
      if (detail.hidden) state.open.delete(a.id); else state.open.add(a.id);
    });
    return [tr, detail];
  }

  async function drawHeadlines() {
    const page = await api("/api/articles", { scored: true, limit: 15, sort: "-published_at" });
    const body = $("headlines");
    const before = state.seen;
    const key = page.items.map((a) => `${a.id}:${(a.score || {}).model_version}`).join(",");
    if (key === body.dataset.key) return; // unchanged: keep the rows (and any open explanation)
    body.dataset.key = key;
    body.textContent = "";
    page.items.forEach((a) => body.append(...headlineRows(a, before !== null && !before.has(a.id))));
    state.seen = new Set(page.items.map((a) => a.id));
  }

  async function defaultTicker(win) {
    const q = { scope: "entity", start: win.start.toISOString(), bucket: win.bucket, max_series: 1 };
    const busiest = await api("/api/aggregates", q);
    return busiest.series.length ? busiest.series[0].key : "";
  }

  async function drawTicker(win) {
    if (!state.ticker) state.ticker = await defaultTicker(win);
    if (!state.ticker) return;
    const ticker = state.ticker;
    $("ticker-input").placeholder = ticker;
    let view;
    try {
      view = await api(`/api/entities/${encodeURIComponent(ticker)}`, {
        start: win.start.toISOString(), end: win.end.toISOString(), bucket: win.bucket, limit: 10,
      });
    } catch (e) {
      if (e.status !== 404 && e.status !== 422) throw e;
      $("ticker-summary").textContent = `${ticker}: unknown ticker`;
      $("ticker-articles").textContent = "";
      $("ticker-articles").dataset.key = "";
      return;
    }
    if (ticker !== state.ticker) return; // another ticker was picked meanwhile
    const series = [{ label: ticker, points: view.points }];
    charts.ticker.draw([ticker], C.align(series, (p) => p.mean_score));
    charts.tickerVolume.draw([`${ticker} articles`], C.align(series, (p) => p.n));
    const s = view.summary;
    $("entity-name").textContent = view.name ? `${ticker} · ${view.name}` : ticker;
    $("ticker-summary").textContent = s.n
      ? `${ticker}: ${s.n} articles, relevance-weighted sentiment ${fmtScore(s.weighted_score)}, ` +
        `${Math.round(100 * s.negative_share)}% negative, total relevance ${s.relevance_sum.toFixed(1)}`
      : `${ticker}: no scored articles in this range`;
    const list = $("ticker-articles");
    const key = `${ticker}|${view.articles.map((a) => a.id).join(",")}`;
    $("entity").dataset.ticker = ticker;
    if (key === list.dataset.key) return; // unchanged: keep the rows (and any open explanation)
    list.dataset.key = key;
    const openIds = new Set([...list.querySelectorAll("li.article")]
      .filter((li) => !li.querySelector(".article-detail").hidden).map((li) => li.dataset.id));
    list.textContent = "";
    view.articles.forEach((a) => {
      const li = U.articleItem(a, showTicker);
      list.append(li);
      if (openIds.has(a.id)) li.querySelector(".row-toggle").click();
    });
  }

  function showTicker(ticker, scroll = true) {
    state.ticker = ticker.trim().replace(/^\$/, "").toUpperCase();
    $("ticker-input").value = state.ticker;
    drawTicker(window_()).catch((e) => console.error(e));
    if (scroll) $("entity").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  async function drawHealth() {
    const h = await api("/healthz");
    const pill = $("health");
    const bad = Object.entries(h.checks).filter(([, c]) => !c.ok).map(([name]) => name);
    pill.textContent = bad.length ? `degraded: ${bad.join(", ")}` : "healthy";
    pill.className = `pill ${bad.length ? "bad" : "ok"}`;
    pill.title = Object.entries(h.checks).map(([k, c]) => `${k}: ${c.detail}`).join("\n");
  }

  const clock = () => new Date().toLocaleTimeString([], { hourCycle: "h23" });

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
      ? `update failed (${failed.length}) at ${clock()}`
      : `updated ${clock()}`;
  }

  async function loop() {
    try { await refresh(); } finally { setTimeout(loop, REFRESH_MS); }
  }

  $("ticker-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    showTicker($("ticker-input").value, false);
  });
  $("alert-detail-close").addEventListener("click", () => {
    state.alert = null;
    $("alert-detail").hidden = true;
    document.querySelectorAll(".tl-row.selected").forEach((r) => r.classList.remove("selected"));
  });
  $("range").addEventListener("change", () => { refresh().catch((e) => console.error(e)); });
  loop();
})();
