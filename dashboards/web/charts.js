/* finsent live page: chart helpers over uPlot (vendored, MIT). No network access needed.
 *
 * Every chart's time axis spans exactly the selected range [now - range, now]: the x scale is
 * fixed from the page's window (never auto-ranged from the data, which with a few minutes of
 * points made uPlot invent an axis spanning years). The plots are kept in a registry so tests
 * can read each chart's scales and tick positions. */
"use strict";

const FinsentCharts = (() => {
  const PALETTE = ["#2563c9", "#d9822b", "#2e9d5b", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#b7950b"];
  const plots = new Map();
  let windowSec = [0, 1];

  /** Set the selected range (Dates) every chart's x scale spans. */
  function setWindow(start, end) {
    windowSec = [start.getTime() / 1000, end.getTime() / 1000];
  }

  /** Align several API series on one time axis: [xs, ys1, ys2, ...] with nulls for gaps. */
  function align(seriesList, value) {
    const times = new Set();
    seriesList.forEach((s) => s.points.forEach((p) => times.add(Date.parse(p.t) / 1000)));
    const xs = Array.from(times).filter((x) => x >= windowSec[0] && x <= windowSec[1]).sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const columns = seriesList.map((s) => {
      const ys = new Array(xs.length).fill(null);
      s.points.forEach((p) => {
        const i = index.get(Date.parse(p.t) / 1000);
        if (i !== undefined) ys[i] = value(p);
      });
      return ys;
    });
    return [xs, ...columns];
  }

  /** Count the non-null values of a data array (what tests and the page call "points"). */
  function countPoints(data) {
    let n = 0;
    for (let i = 1; i < data.length; i++) data[i].forEach((v) => { if (v !== null && v !== undefined) n++; });
    return n;
  }

  function sizeOf(el) {
    const width = Math.max(240, el.clientWidth || el.parentElement.clientWidth - 28);
    const height = el.classList.contains("small") ? 150 : 210;
    return { width, height };
  }

  /** Tick labels that stay readable: clock time within a day, date + time beyond. */
  function timeTicks(u, splits) {
    const span = windowSec[1] - windowSec[0];
    return splits.map((s) => {
      const d = new Date(s * 1000);
      const hm = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
      return span > 86400 ? `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${hm}` : hm;
    });
  }

  /**
   * A chart that keeps itself: draw(labels, data) redraws, recreating uPlot only when the
   * set of series changes; resizes with its container.
   */
  function liveChart(el, build) {
    let plot = null;
    let key = "";
    new ResizeObserver(() => { if (plot) plot.setSize(sizeOf(el)); }).observe(el);
    return {
      draw(labels, data) {
        const newKey = labels.join("|");
        if (!plot || newKey !== key) {
          if (plot) plot.destroy();
          el.textContent = "";
          plot = new uPlot({ ...sizeOf(el), ...build(labels) }, data, el);
          plots.set(el.id, plot);
          key = newKey;
        } else {
          plot.setData(data);
        }
        plot.setScale("x", { min: windowSec[0], max: windowSec[1] });
        el.dataset.points = String(countPoints(data));
        el.dataset.series = String(labels.length);
        el.dataset.xMin = String(plot.scales.x.min);
        el.dataset.xMax = String(plot.scales.x.max);
      },
    };
  }

  const xScale = () => ({ time: true, range: () => [windowSec[0], windowSec[1]] });
  const axes = (yLabel, fmt) => [
    { values: timeTicks, space: 70 },
    { label: yLabel, size: 52, values: (u, vals) => vals.map(fmt) },
  ];

  function linesOptions(yLabel, range, fmt) {
    return (labels) => ({
      scales: { x: xScale(), y: range ? { range: () => range } : {} },
      axes: axes(yLabel, fmt),
      legend: { live: true },
      series: [{ value: (u, v) => (v === null || v === undefined ? "–" : new Date(v * 1000).toLocaleString()) },
        ...labels.map((label, i) => ({
          label,
          stroke: label === "all topics" ? "#14202e" : PALETTE[i % PALETTE.length],
          width: label === "all topics" ? 2.5 : 1.5,
          spanGaps: false,
          points: { size: 5 },
          value: (u, v) => (v === null || v === undefined ? "–" : fmt(v)),
        }))],
    });
  }

  function barsOptions(yLabel, color) {
    return (labels) => ({
      scales: {
        x: xScale(),
        y: { range: (u, min, max) => [0, Math.max(1, Math.ceil((max || 0) * 1.1))] },
      },
      axes: axes(yLabel, (v) => String(v)),
      series: [{ value: (u, v) => (v === null || v === undefined ? "–" : new Date(v * 1000).toLocaleString()) },
        ...labels.map((label) => ({
          label, fill: color, stroke: color, paths: uPlot.paths.bars({ size: [0.7, 24] }), points: { show: false },
        }))],
    });
  }

  /** Each chart's x scale and tick positions (seconds), keyed by element id: what tests check. */
  function scales() {
    const out = {};
    plots.forEach((u, id) => {
      out[id] = { min: u.scales.x.min, max: u.scales.x.max, ticks: (u.axes[0]._splits || []).slice() };
    });
    return out;
  }

  return { align, countPoints, liveChart, linesOptions, barsOptions, setWindow, scales, PALETTE };
})();
