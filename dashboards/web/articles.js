/* finsent live page: DOM helpers, article rows and their explanations.
 * Text is set with textContent only: headlines come from the internet and must never be parsed as
 * HTML; highlighted words are built as <mark> elements around text nodes. */
"use strict";

const FinsentUI = (() => {
  async function api(path, query) {
    const url = new URL(path, window.location.origin);
    Object.entries(query || {}).forEach(([k, v]) => { if (v !== undefined && v !== null) url.searchParams.set(k, v); });
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 30000);
    try {
      const res = await fetch(url, { signal: ctrl.signal, headers: { Accept: "application/json" } });
      const body = await res.json().catch(() => null);
      if ((!res.ok && res.status !== 503) || body === null) {
        const err = new Error(`${path}: HTTP ${res.status}${body && body.detail ? ` (${JSON.stringify(body.detail)})` : ""}`);
        err.status = res.status;
        throw err;
      }
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  };
  const fmtTime = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const fmtScore = (v) => (v === null || v === undefined ? "–" : `${v > 0 ? "+" : ""}${v.toFixed(2)}`);
  const safeHref = (url) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);
  const badge = (sentiment) => el("span", sentiment || "–", `badge ${sentiment || ""}`);

  /** Clickable ticker chips; ``onPick(ticker)`` opens the entity view. */
  function tickerChips(tickers, onPick) {
    const box = el("span", undefined, "chips");
    (tickers || []).forEach((t) => {
      const chip = el("button", t, "chip");
      chip.type = "button";
      chip.dataset.ticker = t;
      chip.title = `Show ${t}'s entity view`;
      chip.addEventListener("click", (ev) => { ev.stopPropagation(); onPick(t); });
      box.append(chip);
    });
    return box;
  }

  /** A sentence's text with its top words wrapped in <mark> (offsets relative to the field). */
  function highlighted(sentence, words) {
    const p = el("span", undefined, "sent-text");
    const text = sentence.text || "";
    const marks = words
      .map((w) => ({ ...w, a: w.start - sentence.start, b: w.end - sentence.start }))
      .filter((w) => w.a >= 0 && w.b <= text.length && w.b > w.a)
      .sort((x, y) => x.a - y.a);
    let at = 0;
    marks.forEach((w) => {
      if (w.a < at) return; // overlapping words: keep the first
      p.append(text.slice(at, w.a));
      const push = typeof w.weight === "number" ? w.weight : w.delta;
      const mark = el("mark", text.slice(w.a, w.b), push >= 0 ? "up" : "down");
      mark.style.setProperty("--a", String(Math.min(1, Math.abs(push))));
      mark.title = `removing this word moves the sentence's score by ${fmtScore(-w.delta)}`;
      p.append(mark);
      at = w.b;
    });
    p.append(text.slice(at));
    return p;
  }

  function renderExplanation(box, ex) {
    box.textContent = "";
    const head = el("p", undefined, "muted");
    head.append("Whole text ", badge(ex.sentiment), ` ${fmtScore(ex.score)} · ${ex.method} · model ${ex.model_version}`);
    box.append(head);
    const list = el("ol", undefined, "sentences");
    (ex.sentences || []).forEach((s) => {
      const li = el("li", undefined, `sent${s.top ? " sent-top" : ""}`);
      li.dataset.sentiment = s.sentiment;
      const bar = el("span", undefined, "effect");
      const width = Math.min(100, Math.round(Math.abs(s.effect || 0) * 100));
      bar.style.setProperty("--w", `${width}%`);
      bar.classList.add((s.effect || 0) >= 0 ? "up" : "down");
      bar.title = `effect on the whole score: ${fmtScore(s.effect)}`;
      // Only words with a real push (weight is relative to the strongest returned word).
      const words = (ex.words || []).filter((w) => w.sentence === s.idx && Math.abs(w.weight ?? 1) >= 0.1);
      li.append(badge(s.sentiment), el("span", fmtScore(s.score), "num"), bar, highlighted(s, words));
      if (s.field === "title") li.prepend(el("span", "title", "tag"));
      list.append(li);
    });
    box.append(list);
    if (!(ex.sentences || []).length) box.append(el("p", "No sentences to explain.", "muted"));
  }

  const explained = new Map(); // article id -> explanation (computed on request: worth keeping)

  /** A detail box that loads the article's explanation once (on first open). */
  function explanationBox(articleId) {
    const box = el("div", "Loading the explanation…", "explain muted");
    box.dataset.articleId = articleId;
    let loaded = false;
    return {
      node: box,
      load() {
        if (loaded) return;
        loaded = true;
        const cached = explained.get(articleId);
        const pending = cached ? Promise.resolve(cached) : api(`/api/articles/${encodeURIComponent(articleId)}/explain`);
        pending
          .then((ex) => {
            explained.set(articleId, ex);
            box.classList.remove("muted");
            renderExplanation(box, ex);
            box.dataset.loaded = "1";
          })
          .catch((e) => { box.textContent = `No explanation: ${e.message}`; box.dataset.loaded = "error"; loaded = false; });
      },
    };
  }

  /** Wire a toggle button to show/hide ``box`` (loading the explanation on first open). */
  function expandable(toggle, detail, explain) {
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      detail.hidden = !open;
      if (open) explain.load();
    });
  }

  /**
   * A list item for an article with an entity's own score (alert windows, the entity view).
   * ``a``: id, title, url, published_at, tickers, and either ``entity``/``relevance`` (entity
   * view) or ``score`` (a listing row).
   */
  function articleItem(a, onPick) {
    const li = el("li", undefined, "article");
    li.dataset.id = a.id;
    const own = a.entity || a.score || {};
    const toggle = el("button", undefined, "row-toggle");
    toggle.type = "button";
    const pending = own.sentiment ? badge(own.sentiment) : el("span", "not scored yet", "badge");
    toggle.append(pending, el("span", fmtScore(own.score), "num"), el("span", a.title, "title"));
    const meta = el("div", undefined, "meta muted");
    meta.append(fmtTime(a.published_at));
    if (a.relevance !== undefined) meta.append(` · relevance ${a.relevance}`);
    if (a.entity && a.entity.source === "document") meta.append(" · article score stands in (no entity score)");
    if (a.document && a.entity && a.entity.source === "entity") meta.append(` · article ${fmtScore(a.document.score)}`);
    if (own.confidence !== undefined) meta.append(` · conf. ${Math.round(own.confidence * 100)}%`);
    const href = safeHref(a.url);
    if (href) {
      const link = el("a", "source");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      meta.append(" · ", link);
    }
    meta.append(" ", tickerChips(a.tickers, onPick));
    const explain = explanationBox(a.id);
    const detail = el("div", undefined, "article-detail");
    detail.hidden = true;
    detail.append(explain.node);
    expandable(toggle, detail, explain);
    li.append(toggle, meta, detail);
    return li;
  }

  return { api, el, fmtTime, fmtScore, safeHref, badge, tickerChips, explanationBox, expandable, articleItem };
})();
