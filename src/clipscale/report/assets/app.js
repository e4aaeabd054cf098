/* The clipscale report page: reads the JSON embedded in the page (no network) and draws the
   scaling plot, learning curves and tables with plot.js. Errors are shown in percent. */
"use strict";

var DATA = JSON.parse(document.getElementById("report-data").textContent);
var GROUP_STYLE = {openclip: {color: "#111111", dash: ""}, openai: {color: "#c0392b", dash: "7 4"}};
function groupStyle(group) { return GROUP_STYLE[group] || {color: "#555555", dash: "2 2"}; }
var STATE = {dataset: DATA.default_dataset, method: DATA.default_method};

function $(id) { return document.getElementById(id); }
function h(tag, attrs, text) {
  var node = document.createElement(tag);
  for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
  if (text !== undefined) node.textContent = text;
  return node;
}
function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
function uniq(values) { return values.filter(function (v, i) { return values.indexOf(v) === i; }); }
function pct(v) { return v === null || v === undefined ? null : 100 * v; }
function fmt(v, digits) {
  if (v === null || v === undefined || v === "") return "";
  if (typeof v !== "number") return String(v);
  if (!isFinite(v)) return "";
  var a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return String(+v.toFixed(digits === undefined ? 4 : digits));
}

/* ---- styles shared by legend and plot: stable across datasets ---- */
function styleMaps() {
  var archs = DATA.styles.archs, datas = DATA.styles.data, samples = DATA.styles.samples;
  var color = {}, shape = {}, radius = {};
  archs.forEach(function (a, i) { color[a] = PALETTE[i % PALETTE.length]; });
  datas.forEach(function (d, i) { shape[d] = SHAPES[i % SHAPES.length]; });
  samples.forEach(function (s, i) { radius[s] = 3.5 + 5 * (samples.length > 1 ? i / (samples.length - 1) : 0.5); });
  return {color: color, shape: shape, radius: radius};
}
var STYLE = styleMaps();

function renderProblems() {
  var box = $("problems");
  box.textContent = "";
  if (!DATA.problems.length) { box.hidden = true; return; }
  box.appendChild(h("strong", {}, "What is missing or was left out:"));
  var list = h("ul");
  DATA.problems.forEach(function (p) { list.appendChild(h("li", {}, p)); });
  box.appendChild(list);
}

/* ---- scaling plot ---- */
function setupScalingControls() {
  var select = $("dataset");
  DATA.datasets.forEach(function (d) {
    select.appendChild(h("option", {value: d.name}, d.name + " (" + plural(d.n_points, "point") + ")"));
  });
  select.value = STATE.dataset;
  select.addEventListener("change", function () { STATE.dataset = select.value; renderScaling(); });
  var methods = $("method");
  DATA.methods.forEach(function (m) {
    var label = h("label"), input = h("input", {type: "radio", name: "method", value: m});
    if (m === STATE.method) input.checked = true;
    input.addEventListener("change", function () { STATE.method = m; renderScaling(); });
    label.appendChild(input); label.appendChild(document.createTextNode(" " + m));
    methods.appendChild(label);
  });
  if (!DATA.methods.length) methods.appendChild(h("span", {"class": "missing"}, "no fit methods (no fits)"));
}

function currentLaws() { return ((DATA.laws[STATE.dataset] || {})[STATE.method]) || {}; }

/* Ids of the points the shown laws were fitted to (a frontier law: the group's compute frontier). */
function fittedIds(laws) {
  var ids = {};
  Object.keys(laws).forEach(function (g) { (laws[g].fitted || []).forEach(function (i) { ids[i] = true; }); });
  return ids;
}

/* A number rounded to what it means: "pct1" (error in %, one decimal), "sig3" (3 significant digits). */
function fmtAs(v, kind) {
  if (typeof v !== "number" || !isFinite(v)) return v;
  if (kind === "pct1") return v.toFixed(1);
  if (kind === "sig3") {
    var a = Math.abs(v);
    return a !== 0 && (a >= 1e6 || a < 1e-3) ? v.toExponential(2) : Number(v.toPrecision(3)).toLocaleString("en-US");
  }
  return v;
}

function renderScaling() {
  var info = DATA.datasets.filter(function (d) { return d.name === STATE.dataset; })[0];
  var points = DATA.points[STATE.dataset] || [], laws = currentLaws(), fitted = fittedIds(laws);
  $("scaling-title").textContent = info ? info.name + ": error (1 − " + info.metric + ") vs total compute" : "no dataset";
  var spec = {xlog: true, ylog: true, xlabel: "total compute C (GMACs)", ylabel: "error (%)",
    empty: DATA.datasets.length ? "no points for this dataset" : "no results to plot (see the notes above)",
    points: points.map(function (p) {
      return {x: p.compute, y: 100 * p.error, color: STYLE.color[p.arch], shape: STYLE.shape[p.data],
        r: STYLE.radius[p.samples], ring: !!fitted[p.id], title: p.name + "\n" + p.arch + ", " + p.data + ", " + p.samples +
        " samples seen\nC = " + fmtAs(p.compute, "sig3") + " GMACs, error = " + fmtAs(100 * p.error, "pct1") + " %" +
        (fitted[p.id] ? "\nfitted by the law shown" : "")};
    }), lines: [], bands: []};
  Object.keys(laws).sort().forEach(function (group) {
    var law = laws[group], style = groupStyle(group);
    if (law.missing || law.untrusted) return;  // a law the runs do not support is not drawn
    spec.lines.push({x: law.x, y: law.y.map(pct), color: style.color, dash: style.dash, width: 2,
      cls: "fit-line", title: group + ": " + law.formula});
    if (law.lo) spec.bands.push({x: law.x, lo: law.lo.map(pct), hi: law.hi.map(pct), color: style.color});
  });
  drawPlot($("scaling-plot"), spec);
  renderFigureLinks();
  renderFormulas(laws);
  renderPredictions(points);
  renderBacktest();
}

/* The backtest and in-sample tables follow the dataset selector when they have a downstream_dataset column. */
function renderDatasetTable(bt, prefix, what) {
  if (!bt) return;
  var col = bt.columns.indexOf("downstream_dataset"), all = $(prefix + "-all");
  all.parentNode.hidden = col < 0;
  var rows = bt.rows.filter(function (r) { return col < 0 || all.checked || r[col] === STATE.dataset; });
  makeTable($(prefix + "-table"), bt.columns, rows,
    col < 0 || all.checked ? "The " + what + " table is empty." : "No " + what + " rows for " + STATE.dataset + ".");
}

function renderBacktest() {
  renderDatasetTable(DATA.backtest, "backtest", "backtest");
  renderDatasetTable(DATA.in_sample, "insample", "in-sample");
}

function renderFigureLinks() {
  var box = $("scaling-figures"), fig = (DATA.figures || {})[STATE.dataset];
  box.textContent = "";
  if (!fig) return;
  var fit = DATA.methods.length ? DATA.methods[0] + " fit" : "no fit";
  box.appendChild(document.createTextNode("This dataset as a static figure (" + fit + "): "));
  ["png", "pdf"].forEach(function (ext, i) {
    if (!fig[ext]) return;
    if (i) box.appendChild(document.createTextNode(" · "));
    box.appendChild(h("a", {href: fig[ext]}, ext.toUpperCase()));
  });
}

function renderFormulas(laws) {
  var list = $("formulas");
  list.textContent = "";
  var groups = Object.keys(laws).sort();
  if (!groups.length) list.appendChild(h("li", {"class": "missing"}, "No fitted law for this dataset and method."));
  groups.forEach(function (group) {
    var law = laws[group], style = groupStyle(group);
    var item = h("li", {"data-group": group});
    item.appendChild(h("span", {"class": "swatch", style: "background:" + style.color}));
    item.appendChild(h("b", {}, group + " (" + plural(law.n, "point") + "): "));
    if (law.missing) {
      item.appendChild(h("span", {"class": "missing"}, law.missing));
    } else if (law.untrusted) {
      item.appendChild(h("span", {"class": "untrusted"}, law.untrusted + (law.reason ? ": " + law.reason : "") +
        " (not drawn)"));
    } else {
      item.appendChild(h("code", {"class": "formula"}, law.formula));
      var extra = law.r2 === null || law.r2 === undefined ? "" : "  R² = " + fmt(law.r2, 3);
      item.appendChild(document.createTextNode(extra + (law.lo ? "  (band: " + DATA.band_level_pct + " % confidence interval of the law, bootstrap)" : "")));
      if (law.notes && law.notes.length) item.appendChild(h("div", {"class": "fit-notes"}, law.notes.join("; ")));
    }
    list.appendChild(item);
  });
}

function renderPredictions(points) {
  var preds = (DATA.predictions[STATE.dataset] || {})[STATE.method] || {};
  var rows = points.filter(function (p) { return preds[p.id] !== undefined; }).map(function (p) {
    var pred = preds[p.id];
    return [p.group, p.name, p.arch, p.data, p.samples, p.compute, 100 * p.error, 100 * pred, 100 * (pred - p.error)];
  });
  var cols = ["group", "name", "model", "data", "samples seen", "total GMACs", "actual error (%)",
              "predicted error (%)", "predicted − actual (% points)"];
  makeTable($("prediction-table"), cols, rows, "No predictions: no law was fitted for this dataset and method.",
    ["", "", "", "", "", "sig3", "pct1", "pct1", "pct1"]);
}

function legendPart(box, title, items, draw) {
  if (!items.length) return;
  var div = h("div", {"class": "legend-part"});
  div.appendChild(h("b", {}, title + ": "));
  items.forEach(function (it) {
    var span = h("span", {"class": "legend-item"});
    var svg = el("svg", {width: 18, height: 18, viewBox: "0 0 18 18"});
    draw(svg, it);
    span.appendChild(svg); span.appendChild(document.createTextNode(it));
    div.appendChild(span);
  });
  box.appendChild(div);
}

function renderLegend() {
  var box = $("scaling-legend");
  box.textContent = "";
  var part = legendPart.bind(null, box);
  part("model (colour)", DATA.styles.archs, function (svg, a) { marker(svg, "circle", 9, 9, 5, {fill: STYLE.color[a]}); });
  part("data (shape)", DATA.styles.data, function (svg, d) {
    marker(svg, STYLE.shape[d], 9, 9, 5, {fill: STYLE.shape[d] === "cross" ? "none" : "#888", stroke: "#333", "stroke-width": STYLE.shape[d] === "cross" ? 2 : 0.6});
  });
  part("samples seen (size)", DATA.styles.samples, function (svg, s) { marker(svg, "circle", 9, 9, Math.min(8, STYLE.radius[s]), {fill: "#888"}); });
  if (!DATA.methods.length) return;
  part("fitted law (line, band)", DATA.groups, function (svg, g) {
    var style = groupStyle(g);
    el("line", {x1: 1, x2: 17, y1: 9, y2: 9, stroke: style.color, "stroke-width": 2, "stroke-dasharray": style.dash}, svg);
  });
  part("ringed", ["a point the law was fitted to"], function (svg) {
    marker(svg, "circle", 9, 9, 4, {fill: "#888"});
    el("circle", {cx: 9, cy: 9, r: 7, fill: "none", stroke: "#111", "stroke-width": 1.3}, svg);
  });
}

/* ---- the answer's reliability plot: observed coverage of the held-out runs against nominal ---- */
var RELIABILITY_COLOURS = ["#1f6fb2", "#c0392b"];
function renderReliability() {
  var series = DATA.reliability || [], box = $("reliability-plot");
  if (!series.length || !box) return;
  var spec = {xlog: false, ylog: false, width: 420, height: 320, xdomain: [0, 100], ydomain: [0, 100],
    xlabel: "nominal interval (%)", ylabel: "held-out runs inside (%)", points: [],
    lines: [{x: [0, 100], y: [0, 100], color: "#999", dash: "4 3", width: 1, cls: "diagonal", title: "observed = nominal"}]};
  series.forEach(function (s, k) {
    var colour = RELIABILITY_COLOURS[k % RELIABILITY_COLOURS.length], label = s.label + ", n = " + s.n;
    spec.lines.push({x: s.nominal.map(pct), y: s.observed.map(pct), color: colour, width: 1.6,
      cls: "reliability-line", title: label});
    s.nominal.forEach(function (v, i) {
      spec.points.push({x: 100 * v, y: 100 * s.observed[i], color: colour, shape: k ? "square" : "circle", r: 4.5,
        title: label + ": " + Math.round(100 * s.observed[i]) + "% inside the " + Math.round(100 * v) + "% interval"});
    });
  });
  drawPlot(box, spec);
  var legend = h("div", {"class": "legend"});
  legendPart(legend, "backtest", series.map(function (s) { return s.label + ", n = " + s.n; }), function (svg, it) {
    var k = series.map(function (s) { return s.label + ", n = " + s.n; }).indexOf(it);
    el("line", {x1: 1, x2: 17, y1: 9, y2: 9, stroke: RELIABILITY_COLOURS[k % RELIABILITY_COLOURS.length], "stroke-width": 2}, svg);
  });
  box.appendChild(legend);
}

/* ---- learning curves ---- */
var CURVE_DASH = {};
var CURVE_FILTERS = [["arch", "curve-arch"], ["data", "curve-data"], ["samples_pretty", "curve-samples"]];

function setupCurveControls() {
  var runs = DATA.curves.runs;
  if (!runs.length) {
    $("curves-controls").hidden = true;
    drawPlot($("curves-plot"), {empty: DATA.curves.empty});
    return;
  }
  // Dashes tell the curves' data sets apart: assign them over those alone (solid for the first).
  uniq(runs.map(function (r) { return r.data; })).sort(naturalCompare).forEach(function (d, i) {
    CURVE_DASH[d] = DASHES[i % DASHES.length];
  });
  var dsSelect = $("curve-dataset");
  var curveSets = uniq(runs.map(function (r) { return r.dataset; }));
  curveSets.forEach(function (d) { dsSelect.appendChild(h("option", {value: d}, d)); });
  if (curveSets.indexOf(DATA.default_dataset) >= 0) dsSelect.value = DATA.default_dataset;
  dsSelect.addEventListener("change", renderCurves);
  CURVE_FILTERS.forEach(function (f) {
    var box = $(f[1]);
    uniq(runs.map(function (r) { return r[f[0]]; })).sort(naturalCompare).forEach(function (v) {
      var label = h("label"), input = h("input", {type: "checkbox", value: v});
      input.checked = true;
      input.addEventListener("change", renderCurves);
      label.appendChild(input); label.appendChild(document.createTextNode(" " + v));
      box.appendChild(label);
    });
  });
  var axis = $("curve-x");
  DATA.curves.axes.forEach(function (a) {
    var opt = h("option", {value: a.key}, a.label);
    if (!a.available) { opt.disabled = true; opt.textContent += " (not in the table)"; }
    axis.appendChild(opt);
  });
  var samples = DATA.curves.axes.filter(function (a) { return a.key === "samples_seen" && a.available; });
  if (samples.length) axis.value = "samples_seen";  // runs of different lengths compare best by samples seen
  axis.addEventListener("change", renderCurves);
  var legend = $("curves-legend"), line = function (svg, color, dash) {
    el("line", {x1: 1, x2: 17, y1: 9, y2: 9, stroke: color, "stroke-width": 2, "stroke-dasharray": dash}, svg);
  };
  legendPart(legend, "model (colour)", uniq(runs.map(function (r) { return r.arch; })).sort(naturalCompare),
    function (svg, a) { line(svg, STYLE.color[a] || "#555", ""); });
  legendPart(legend, "data (dash)", uniq(runs.map(function (r) { return r.data; })).sort(naturalCompare),
    function (svg, d) { line(svg, "#444", CURVE_DASH[d] || ""); });
  $("curve-logx").addEventListener("change", renderCurves);
  renderCurves();
}

function checkedValues(id) {
  return Array.prototype.filter.call($(id).querySelectorAll("input"), function (i) { return i.checked; })
    .map(function (i) { return i.value; });
}

function renderCurves() {
  var axis = $("curve-x").value, dataset = $("curve-dataset").value, logx = $("curve-logx").checked;
  var allowed = {};
  CURVE_FILTERS.forEach(function (f) { allowed[f[0]] = checkedValues(f[1]); });
  var runs = DATA.curves.runs.filter(function (r) {
    return r.dataset === dataset && CURVE_FILTERS.every(function (f) { return allowed[f[0]].indexOf(r[f[0]]) >= 0; });
  });
  var label = DATA.curves.axes.filter(function (a) { return a.key === axis; })[0].label;
  drawPlot($("curves-plot"), {xlog: logx, ylog: false, xlabel: label, ylabel: "error on " + dataset + " (%)",
    empty: "no run matches the filters",
    lines: runs.map(function (r) {
      return {x: r[axis], y: r.error.map(pct), color: STYLE.color[r.arch] || "#555", dash: CURVE_DASH[r.data] || "",
        width: 1.6, cls: "curve", title: r.name + " (" + r.arch + ", " + r.data + ", " + r.samples_pretty + ")"};
    })});
  $("curve-count").textContent = runs.length + " of " + DATA.curves.runs.length + " runs shown";
}

function renderTraining() {
  var parts = DATA.training || [];
  if (!parts.length) { $("training-box").hidden = true; return; }
  var lines = parts.map(function (p) {
    var branch = p.kind === "branch";
    return {x: p.x, y: p.y, color: STYLE.color[p.arch] || "#555", dash: branch ? "5 3" : "", width: branch ? 1.2 : 1.8,
      cls: "training-" + p.kind, title: p.run + " · " + p.part + " (" + p.arch + ")"};
  });
  var ends = parts.filter(function (p) { return p.kind === "branch" && p.x.length; }).map(function (p) {
    var i = p.x.length - 1;
    return {x: p.x[i], y: p.y[i], color: STYLE.color[p.arch] || "#555", shape: "circle", r: 3,
      title: p.run + ": cool-down to " + fmt(p.x[i]) + " samples, loss " + fmt(p.y[i], 3)};
  });
  drawPlot($("training-plot"), {xlog: true, ylog: false, xlabel: "samples seen", ylabel: "training loss",
    empty: "no training loss logged", lines: lines, points: ends});
}

function naturalCompare(a, b) {
  var na = parseCount(a), nb = parseCount(b);
  if (!isNaN(na) && !isNaN(nb) && na !== nb) return na - nb;
  return String(a).localeCompare(String(b));
}
function parseCount(s) {
  var m = /^([0-9.]+)([KMB]?)$/i.exec(String(s));
  return m ? parseFloat(m[1]) * ({"": 1, k: 1e3, m: 1e6, b: 1e9})[m[2].toLowerCase()] : NaN;
}

/* ---- sortable tables ---- */
function makeTable(container, columns, rows, emptyText, formats) {
  container.textContent = "";
  if (!rows.length) { container.appendChild(h("p", {"class": "missing"}, emptyText)); return; }
  var table = h("table", {"class": "sortable"}), head = h("tr"), body = h("tbody");
  var order = {col: -1, dir: 1};
  columns.forEach(function (c, i) {
    var th = h("th", {scope: "col", "aria-sort": "none", title: "click to sort"}, c);
    th.addEventListener("click", function () {
      order.dir = order.col === i ? -order.dir : 1; order.col = i;
      Array.prototype.forEach.call(head.children, function (t) { t.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", order.dir > 0 ? "ascending" : "descending");
      rows.sort(function (a, b) {  // empty cells stay last in both directions
        var ea = isEmpty(a[i]), eb = isEmpty(b[i]);
        return ea || eb ? ea - eb : order.dir * compareCells(a[i], b[i]);
      });
      fill();
    });
    head.appendChild(th);
  });
  function fill() {
    body.textContent = "";
    rows.forEach(function (r) {
      var tr = h("tr");
      r.forEach(function (v, i) {
        tr.appendChild(h("td", typeof v === "number" ? {"class": "num"} : {}, fmt(fmtAs(v, (formats || [])[i]))));
      });
      body.appendChild(tr);
    });
  }
  table.appendChild(h("thead")).appendChild(head);
  table.appendChild(body);
  fill();
  container.appendChild(table);
}

function isEmpty(v) { return v === null || v === undefined || v === "" || (typeof v === "number" && !isFinite(v)); }

function compareCells(a, b) {
  var an = typeof a === "number" && isFinite(a), bn = typeof b === "number" && isFinite(b);
  if (an && bn) return a - b;
  if (an !== bn) return an ? -1 : 1;
  return String(a === null || a === undefined ? "" : a).localeCompare(String(b === null || b === undefined ? "" : b));
}

function renderTables() {
  var coef = DATA.coefficients;
  makeTable($("coef-table"), coef.columns, coef.rows.slice(), "No fitted coefficients (see the notes above).");
  if (!DATA.backtest) $("backtest-section").hidden = true;
  if (!DATA.in_sample) $("insample-section").hidden = true;
  var files = $("files");
  DATA.files.forEach(function (f) {
    var li = h("li"), a = h("a", {href: f.href}, f.label);
    li.appendChild(a);
    if (f.note) li.appendChild(document.createTextNode(" " + f.note));
    files.appendChild(li);
  });
}

/* ---- laws per evaluation type; the joint law and the compute-optimal model per budget ---- */
function renderEvals() {
  if (!DATA.eval_laws) { $("evals-section").hidden = true; return; }
  makeTable($("evals-table"), DATA.eval_laws.columns, DATA.eval_laws.rows.slice(), "No laws.");
}

function renderJoint() {
  var joint = DATA.joint;
  if (!joint) { $("joint-section").hidden = true; return; }
  joint.failed.forEach(function (line) { $("joint-failed").appendChild(h("li", {"class": "missing"}, line)); });
  var box = $("joint-laws");
  joint.laws.forEach(function (law) {
    var div = h("div", {"class": "joint-law"});
    div.appendChild(h("h3", {}, law.title));
    div.appendChild(h("p", {}, "")).appendChild(h("code", {"class": "formula"}, law.formula));
    div.appendChild(h("p", {"class": "note"}, law.definition));
    var params = h("div", {"class": "table-box"}), plan = h("div", {"class": "table-box"});
    div.appendChild(params);
    div.appendChild(h("p", {"class": "note"}, "Compute-optimal model per budget (the runs' compute range and one decade beyond):"));
    div.appendChild(plan);
    if (law.notes.length) div.appendChild(h("div", {"class": "fit-notes"}, law.notes.join("; ")));
    box.appendChild(div);
    makeTable(params, law.params.columns, law.params.rows.slice(), "No parameters.");
    makeTable(plan, law.plan.columns, law.plan.rows.slice(), "No budgets.");
  });
}

$("backtest-all").addEventListener("change", renderBacktest);
$("insample-all").addEventListener("change", renderBacktest);
renderProblems();
renderReliability();
setupScalingControls();
renderLegend();
renderScaling();
setupCurveControls();
renderTables();
renderEvals();
renderJoint();
renderTraining();
document.body.setAttribute("data-ready", "true");
