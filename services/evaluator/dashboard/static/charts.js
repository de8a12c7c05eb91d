// Dashboard charts: inline SVG drawn from the JSON in #dashboard-data. No libraries, no network:
// every label is set as a text node, never as HTML.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#2f6fde", "#e0662f", "#2a9d62", "#9b4dca", "#c9a227", "#d63c6b"];
  var W = 420, H = 180, PAD = { l: 48, r: 12, t: 12, b: 28 };

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, content, attrs) {
    var node = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }
  function when(bucket) {
    return bucket.length > 10 ? bucket.slice(5).replace("T", " ") + "h" : bucket.slice(5);
  }
  function fmt(v) {
    if (v === null || v === undefined) return "";
    if (Math.abs(v) >= 100) return String(Math.round(v));
    return String(Math.round(v * 1000) / 1000);
  }

  function lineChart(figure, series, metric, label) {
    var hours = Array.from(new Set(series.map(function (p) { return p.hour; }))).sort();
    var variants = Array.from(new Set(series.map(function (p) { return p.variant; }))).sort();
    var values = series.map(function (p) { return p[metric]; }).filter(function (v) { return v !== null && v !== undefined; });
    var caption = document.createElement("figcaption");
    caption.textContent = label;
    figure.appendChild(caption);
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label, "class": "chart" }, figure);
    if (!values.length) {
      text(svg, W / 2, H / 2, "no data yet", { "text-anchor": "middle", "class": "empty" });
      return;
    }
    var max = Math.max.apply(null, values), min = Math.min(0, Math.min.apply(null, values));
    if (max === min) max = min + 1;
    var x = function (i) { return PAD.l + (hours.length < 2 ? (W - PAD.l - PAD.r) / 2 : i * (W - PAD.l - PAD.r) / (hours.length - 1)); };
    var y = function (v) { return H - PAD.b - (v - min) / (max - min) * (H - PAD.t - PAD.b); };
    el("line", { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, "class": "axis" }, svg);
    el("line", { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, "class": "axis" }, svg);
    text(svg, PAD.l - 4, y(max) + 4, fmt(max), { "text-anchor": "end", "class": "tick" });
    text(svg, PAD.l - 4, y(min) + 4, fmt(min), { "text-anchor": "end", "class": "tick" });
    text(svg, x(0), H - 8, when(hours[0]), { "text-anchor": "start", "class": "tick" });
    if (hours.length > 1) text(svg, x(hours.length - 1), H - 8, when(hours[hours.length - 1]), { "text-anchor": "end", "class": "tick" });
    variants.forEach(function (variant, vi) {
      var color = COLORS[vi % COLORS.length];
      var points = [];
      hours.forEach(function (hour, hi) {
        var p = series.find(function (q) { return q.hour === hour && q.variant === variant; });
        if (p && p[metric] !== null && p[metric] !== undefined) points.push([x(hi), y(p[metric]), p[metric], hour]);
      });
      if (points.length > 1) {
        el("polyline", { points: points.map(function (p) { return p[0] + "," + p[1]; }).join(" "), fill: "none", stroke: color, "stroke-width": 2 }, svg);
      }
      points.forEach(function (p) {
        var dot = el("circle", { cx: p[0], cy: p[1], r: 3.5, fill: color }, svg);
        var title = el("title", {}, dot);
        title.textContent = variant + " · " + when(p[3]) + ": " + fmt(p[2]);
      });
      text(svg, W - PAD.r, PAD.t + 12 * (vi + 1), variant, { "text-anchor": "end", fill: color, "class": "legend" });
    });
  }

  function barChart(holder, variants, metric, label) {
    var names = Object.keys(variants).sort();
    var caption = document.createElement("p");
    caption.className = "bars-label";
    caption.textContent = label;
    holder.appendChild(caption);
    var svg = el("svg", { viewBox: "0 0 " + W + " " + (24 * Math.max(names.length, 1) + 8), role: "img", "aria-label": label, "class": "chart" }, holder);
    var known = names.filter(function (name) { var v = variants[name][metric]; return v !== null && v !== undefined; });
    if (!known.length) {
      text(svg, W / 2, 20, "no data yet", { "text-anchor": "middle", "class": "empty" });
      return;
    }
    names.forEach(function (name, i) {
      var v = variants[name][metric];
      var width = v === null || v === undefined ? 0 : Math.max(0, Math.min(1, v)) * (W - 160);
      text(svg, 4, 24 * i + 18, name, { "class": "tick" });
      el("rect", { x: 110, y: 24 * i + 6, width: width, height: 16, fill: COLORS[i % COLORS.length] }, svg);
      text(svg, 116 + width, 24 * i + 18, fmt(v), { "class": "tick" });
    });
  }

  var source = document.getElementById("dashboard-data");
  if (!source) return;
  var data = JSON.parse(source.textContent || "{}");
  document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
    lineChart(figure, data.series || [], figure.getAttribute("data-chart"), figure.getAttribute("data-label"));
  });
  document.querySelectorAll("[data-bars]").forEach(function (holder) {
    barChart(holder, data.variants || {}, holder.getAttribute("data-bars"), holder.getAttribute("data-label"));
  });
})();
