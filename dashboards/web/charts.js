/* finsent live page: chart helpers over uPlot (vendored, MIT). No network access needed. */
"use strict";

const FinsentCharts = (() => {
  const PALETTE = ["#2563c9", "#d9822b", "#2e9d5b", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#b7950b"];

  /** Align several API series on one time axis: [xs, ys1, ys2, ...] with nulls for gaps. */
  function align(seriesList, value) {
    const times = new Set();
    seriesList.forEach((s) => s.points.forEach((p) => times.add(Date.parse(p.t) / 1000)));
    const xs = Array.from(times).sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const columns = seriesList.map((s) => {
      const ys = new Array(xs.length).fill(null);
      s.points.forEach((p) => { ys[index.get(Date.parse(p.t) / 1000)] = value(p); });
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
    const width = Math.max(280, el.clientWidth || el.parentElement.clientWidth - 28);
    const height = el.classList.contains("small") ? 160 : 220;
    return { width, height };
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
          key = newKey;
        } else {
          plot.setData(data);
        }
        el.dataset.points = String(countPoints(data));
        el.dataset.series = String(labels.length);
      },
    };
  }

  const axes = (yLabel, fmt) => [
    {},
    { label: yLabel, size: 55, values: (u, vals) => vals.map(fmt) },
  ];

  function linesOptions(yLabel, range, fmt) {
    return (labels) => ({
      scales: { x: { time: true }, y: range ? { range: () => range } : {} },
      axes: axes(yLabel, fmt),
      legend: { live: true },
      series: [{}, ...labels.map((label, i) => ({
        label,
        stroke: label === "all topics" ? "#14202e" : PALETTE[i % PALETTE.length],
        width: label === "all topics" ? 2.5 : 1.5,
        value: (u, v) => (v === null || v === undefined ? "–" : fmt(v)),
      }))],
    });
  }

  function barsOptions(yLabel, color) {
    return (labels) => ({
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] } },
      axes: axes(yLabel, (v) => String(v)),
      series: [{}, ...labels.map((label) => ({
        label, fill: color, stroke: color, paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false },
      }))],
    });
  }

  return { align, countPoints, liveChart, linesOptions, barsOptions, PALETTE };
})();
