// Analytics charts (uPlot): the page embeds chart specs as JSON (#chart-data):
//   {x: [unix seconds], charts: [{id, title, unit, series: [{label, values}]}]}
// and a <figure data-chart="ID"> per chart. Each drawn figure gets data-series / data-points
// (what it plotted) and data-ready, which the browser tests read.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./analytics.css";

const COLORS = ["#2563eb", "#db2777", "#15803d", "#b45309", "#7c3aed", "#0e7490"];
const HEIGHT = 220;
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const full = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

function fmt(v, unit, short) {
  if (v == null) return "–";
  return (short ? compact : full).format(v) + (unit || "");
}

function widthOf(host) {
  return Math.max(160, Math.floor(host.getBoundingClientRect().width));
}

function draw(fig, spec, x) {
  const host = fig.querySelector(".plot");
  const many = x.length > 60;
  const opts = {
    width: widthOf(host),
    height: HEIGHT,
    scales: { x: { time: true } },
    series: [
      {},
      ...spec.series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        spanGaps: true,
        points: { show: !many },
        value: (u, v) => fmt(v, spec.unit, false),
      })),
    ],
    axes: [
      { stroke: "#4b5563", grid: { stroke: "#e5e7eb" } },
      {
        stroke: "#4b5563",
        grid: { stroke: "#e5e7eb" },
        size: 56,
        values: (u, vals) => vals.map((v) => fmt(v, spec.unit, true)),
      },
    ],
  };
  const data = [x, ...spec.series.map((s) => s.values)];
  const plot = new uPlot(opts, data, host);
  fig.dataset.series = String(plot.series.length - 1);
  fig.dataset.points = String(plot.data[0].length);
  fig.dataset.ready = "true";
  return { plot, host };
}

function start() {
  const el = document.getElementById("chart-data");
  if (!el) return;
  const spec = JSON.parse(el.textContent);
  const drawn = [];
  for (const chart of spec.charts) {
    const fig = document.querySelector(`figure[data-chart="${chart.id}"]`);
    if (fig) drawn.push(draw(fig, chart, spec.x));
  }
  // Charts follow the page's width (a window resize, e.g. turning a phone).
  let pending = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      for (const { plot, host } of drawn) plot.setSize({ width: widthOf(host), height: HEIGHT });
    });
  });
}

// Picking a date means a custom period.
const form = document.getElementById("filters");
if (form) {
  for (const input of form.querySelectorAll('input[type="date"]')) {
    input.addEventListener("change", () => {
      const custom = form.querySelector('input[name="period"][value="custom"]');
      if (custom) custom.checked = true;
    });
  }
}

start();
