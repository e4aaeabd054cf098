/* A small SVG plotter for the clipscale report: scatter points, lines and bands on linear or
   log axes. Written here rather than vendored: it is a few KB, needs no network or licence file,
   and the SVG it draws is plain DOM the browser tests can inspect. */
"use strict";

var SVGNS = "http://www.w3.org/2000/svg";
var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf"];
var SHAPES = ["circle", "square", "triangle", "diamond", "cross", "star"];
var DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2"];
var plotCounter = 0;

function el(name, attrs, parent) {
  var node = document.createElementNS(SVGNS, name);
  for (var key in attrs) { if (attrs[key] !== undefined && attrs[key] !== null) node.setAttribute(key, attrs[key]); }
  if (parent) parent.appendChild(node);
  return node;
}

function finite(v, log) { return typeof v === "number" && isFinite(v) && (!log || v > 0); }

function extent(values, log) {
  var lo = Infinity, hi = -Infinity;
  values.forEach(function (v) { if (finite(v, log)) { if (v < lo) lo = v; if (v > hi) hi = v; } });
  if (lo === Infinity) return log ? [1, 10] : [0, 1];
  if (lo === hi) return log ? [lo / 2, hi * 2] : [lo - 1, hi + 1];
  if (log) { var pad = Math.pow(hi / lo, 0.04); return [lo / pad, hi * pad]; }
  var p = (hi - lo) * 0.04; return [lo - p, hi + p];
}

function makeScale(domain, range, log) {
  var f = log ? Math.log10 : function (v) { return v; };
  var d0 = f(domain[0]), d1 = f(domain[1]);
  return function (v) { return range[0] + (f(v) - d0) / (d1 - d0) * (range[1] - range[0]); };
}

function linearTicks(domain) {
  var span = domain[1] - domain[0], raw = span / 6, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  var step = [1, 2, 5, 10].map(function (m) { return m * mag; }).filter(function (s) { return s >= raw; })[0];
  var ticks = [];
  for (var t = Math.ceil(domain[0] / step) * step; t <= domain[1] + 1e-9 * span; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function logTicks(domain) {
  var lo = Math.floor(Math.log10(domain[0])), hi = Math.ceil(Math.log10(domain[1]));
  var every = Math.max(1, Math.ceil((hi - lo) / 8));
  function at(mults) {
    var ticks = [];
    for (var e = lo; e <= hi; e += 1) {
      if (mults.length === 1 && (e - lo) % every) continue;
      mults.forEach(function (m) { var t = m * Math.pow(10, e); if (t >= domain[0] && t <= domain[1]) ticks.push(t); });
    }
    return ticks;
  }
  // Fewer decades, more ticks per decade; a narrow range (e.g. 35-90 %) gets every integer multiple.
  var ticks = at(hi - lo <= 2 ? [1, 2, 3, 5] : hi - lo <= 4 ? [1, 2, 5] : [1]);
  if (ticks.length < 3) ticks = at([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  return ticks.length >= 2 ? ticks : linearTicks(domain);
}

function formatTick(v, log) {
  if (v === 0) return "0";
  var a = Math.abs(v);
  if (log && (a >= 1e4 || a < 1e-2)) {
    var e = Math.floor(Math.log10(a) + 1e-9), m = v / Math.pow(10, e);
    return (Math.abs(m - 1) < 1e-9 ? "" : +m.toPrecision(2) + "×") + "1e" + e;
  }
  if (a >= 1e9) return +(v / 1e9).toPrecision(3) + "B";
  if (a >= 1e6) return +(v / 1e6).toPrecision(3) + "M";
  if (a >= 1e4) return +(v / 1e3).toPrecision(3) + "k";
  return String(+v.toPrecision(3));
}

function marker(parent, shape, x, y, r, attrs) {
  var node;
  if (shape === "square") node = el("rect", {x: x - r, y: y - r, width: 2 * r, height: 2 * r}, parent);
  else if (shape === "triangle") node = el("path", {d: "M" + x + "," + (y - r * 1.2) + "L" + (x + r * 1.1) + "," + (y + r * 0.8) + "L" + (x - r * 1.1) + "," + (y + r * 0.8) + "Z"}, parent);
  else if (shape === "diamond") node = el("path", {d: "M" + x + "," + (y - r * 1.3) + "L" + (x + r) + "," + y + "L" + x + "," + (y + r * 1.3) + "L" + (x - r) + "," + y + "Z"}, parent);
  else if (shape === "cross") node = el("path", {d: "M" + (x - r) + "," + (y - r) + "L" + (x + r) + "," + (y + r) + "M" + (x - r) + "," + (y + r) + "L" + (x + r) + "," + (y - r), "stroke-width": 2.5}, parent);
  else if (shape === "star") node = el("path", {d: starPath(x, y, r * 1.3)}, parent);
  else node = el("circle", {cx: x, cy: y, r: r}, parent);
  for (var key in attrs) node.setAttribute(key, attrs[key]);
  return node;
}

function starPath(x, y, r) {
  var d = "";
  for (var i = 0; i < 10; i += 1) {
    var a = Math.PI / 5 * i - Math.PI / 2, rr = i % 2 ? r * 0.45 : r;
    d += (i ? "L" : "M") + (x + rr * Math.cos(a)).toFixed(2) + "," + (y + rr * Math.sin(a)).toFixed(2);
  }
  return d + "Z";
}

function pathFrom(xs, ys, sx, sy, xlog, ylog) {
  var d = "", pen = false;
  for (var i = 0; i < xs.length; i += 1) {
    if (!finite(xs[i], xlog) || !finite(ys[i], ylog)) { pen = false; continue; }
    d += (pen ? "L" : "M") + sx(xs[i]).toFixed(2) + "," + sy(ys[i]).toFixed(2);
    pen = true;
  }
  return d;
}

function bandPath(b, sx, sy, xlog, ylog) {
  var top = [], bottom = [];
  for (var i = 0; i < b.x.length; i += 1) {
    if (!finite(b.x[i], xlog) || !finite(b.lo[i], ylog) || !finite(b.hi[i], ylog)) continue;
    top.push(sx(b.x[i]).toFixed(2) + "," + sy(b.hi[i]).toFixed(2));
    bottom.unshift(sx(b.x[i]).toFixed(2) + "," + sy(b.lo[i]).toFixed(2));
  }
  return top.length ? "M" + top.concat(bottom).join("L") + "Z" : "";
}

/* spec: {xlog, ylog, xlabel, ylabel, points: [{x, y, color, shape, r, title, ring (a circle around it)}],
          lines: [{x: [], y: [], color, dash, width, title, cls}], bands: [{x, lo, hi, color}],
          empty: "message shown when there is nothing to draw"} */
function drawPlot(container, spec) {
  container.textContent = "";
  var W = spec.width || 760, H = spec.height || 460, M = {l: 72, r: 16, t: 14, b: 52};
  var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "class": "plot"}, container);
  var points = spec.points || [], lines = spec.lines || [], bands = spec.bands || [];
  if (!points.length && !lines.length) {
    var msg = el("text", {x: W / 2, y: H / 2, "text-anchor": "middle", "class": "plot-empty"}, svg);
    msg.textContent = spec.empty || "nothing to show";
    return svg;
  }
  var xs = [], ys = [];
  points.forEach(function (p) { xs.push(p.x); ys.push(p.y); });
  lines.forEach(function (l) { xs = xs.concat(l.x); ys = ys.concat(l.y); });
  var xd = spec.xdomain || extent(xs, spec.xlog), yd = spec.ydomain || extent(ys, spec.ylog);
  var sx = makeScale(xd, [M.l, W - M.r], spec.xlog), sy = makeScale(yd, [H - M.b, M.t], spec.ylog);
  drawAxes(svg, spec, xd, yd, sx, sy, W, H, M);
  var clipId = "clip" + (plotCounter += 1);
  var clip = el("clipPath", {id: clipId}, el("defs", {}, svg));
  el("rect", {x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b}, clip);
  var body = el("g", {"clip-path": "url(#" + clipId + ")"}, svg);
  bands.forEach(function (b) {
    var d = bandPath(b, sx, sy, spec.xlog, spec.ylog);
    if (d) el("path", {d: d, fill: b.color, "fill-opacity": 0.15, stroke: "none", "class": "band"}, body);
  });
  lines.forEach(function (l) {
    var path = el("path", {d: pathFrom(l.x, l.y, sx, sy, spec.xlog, spec.ylog), fill: "none", stroke: l.color,
      "stroke-width": l.width || 2, "stroke-dasharray": l.dash || null, "class": l.cls || "line"}, body);
    if (l.title) el("title", {}, path).textContent = l.title;
  });
  points.forEach(function (p) {
    if (!finite(p.x, spec.xlog) || !finite(p.y, spec.ylog)) return;
    var node = marker(body, p.shape, sx(p.x), sy(p.y), p.r || 5,
      {fill: p.shape === "cross" ? "none" : p.color, stroke: p.shape === "cross" ? p.color : "#222",
       "stroke-width": p.shape === "cross" ? 2.5 : 0.6, "class": "point"});
    if (p.title) el("title", {}, node).textContent = p.title;
    if (p.ring) el("circle", {cx: sx(p.x), cy: sy(p.y), r: (p.r || 5) + 3, fill: "none", stroke: "#111",
      "stroke-width": 1.3, "class": "fitted-ring"}, body);
  });
  return svg;
}

function drawAxes(svg, spec, xd, yd, sx, sy, W, H, M) {
  var axes = el("g", {"class": "axes"}, svg);
  el("rect", {x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, fill: "none", stroke: "#999"}, axes);
  (spec.xlog ? logTicks(xd) : linearTicks(xd)).forEach(function (t) {
    var x = sx(t);
    el("line", {x1: x, x2: x, y1: M.t, y2: H - M.b, stroke: "#e5e5e5"}, axes);
    var label = el("text", {x: x, y: H - M.b + 16, "text-anchor": "middle", "class": "tick"}, axes);
    label.textContent = formatTick(t, spec.xlog);
  });
  (spec.ylog ? logTicks(yd) : linearTicks(yd)).forEach(function (t) {
    var y = sy(t);
    el("line", {x1: M.l, x2: W - M.r, y1: y, y2: y, stroke: "#e5e5e5"}, axes);
    var label = el("text", {x: M.l - 6, y: y + 4, "text-anchor": "end", "class": "tick"}, axes);
    label.textContent = formatTick(t, spec.ylog);
  });
  var xl = el("text", {x: (M.l + W - M.r) / 2, y: H - 10, "text-anchor": "middle", "class": "axis-label"}, axes);
  xl.textContent = spec.xlabel || "";
  var yl = el("text", {x: 16, y: (M.t + H - M.b) / 2, "text-anchor": "middle", "class": "axis-label",
    transform: "rotate(-90 16 " + (M.t + H - M.b) / 2 + ")"}, axes);
  yl.textContent = spec.ylabel || "";
}
