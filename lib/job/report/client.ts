/**
 * The browser side of report.html: its stylesheet and script, inlined by page.ts. Plain ES2020
 * in a string (it runs in the page, not in Node); it is exercised by the headless-browser test
 * test/e2e/report.browser.test.ts. It must contain no backtick and no `${`.
 *
 * It reads the run (script#caiman-run) and the files' fragments (script.caiman-fragment,
 * fragment.ts), lists every cell in a table sortable by any column, filters it by name and
 * status, and draws the current cell only: raw input, denoised c + baseline and events with
 * uPlot (drag to zoom on time; the zoom is kept while stepping through the cells of a file),
 * its footprint outline over the field of view and its estimates. window.caimanReport exposes
 * the state for tests.
 */

const REPORT_CSS = `
:root { font-family: system-ui, sans-serif; font-size: 14px; color: #212529; }
body { margin: 0 1.5rem 2rem; }
h1 { font-size: 1.35rem; margin: 1rem 0 0.25rem; }
#run-info { color: #495057; margin: 0 0 0.75rem; }
#controls { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; position: sticky;
  top: 0; background: #fff; padding: 0.5rem 0; z-index: 2; border-bottom: 1px solid #dee2e6; }
#controls input[type=search] { width: 14rem; padding: 0.25rem 0.4rem; }
#position { min-width: 9rem; text-align: center; }
button, select { padding: 0.25rem 0.5rem; }
#viewer { display: flex; flex-wrap: wrap; gap: 1rem; margin-top: 0.75rem; }
#plot-box { flex: 1 1 640px; min-width: 0; }
#cell-title { font-weight: 600; font-size: 1.05rem; margin-bottom: 0.25rem; }
#cell-note { color: #c92a2a; min-height: 1.2em; }
#side { flex: 0 0 260px; }
#footprint { width: 260px; height: 260px; border: 1px solid #dee2e6; background: #f8f9fa; }
#estimates { border-collapse: collapse; margin-top: 0.5rem; width: 100%; }
#estimates th { text-align: left; font-weight: normal; color: #495057; padding: 1px 6px 1px 0; }
#estimates td { text-align: right; font-variant-numeric: tabular-nums; }
#summary { margin-top: 1.25rem; }
#cells { border-collapse: collapse; font-variant-numeric: tabular-nums; }
#cells th { position: sticky; top: 2.6rem; background: #e9ecef; cursor: pointer; padding: 3px 8px;
  text-align: left; user-select: none; white-space: nowrap; }
#cells th[data-dir=asc]::after { content: ' \\25B2'; }
#cells th[data-dir=desc]::after { content: ' \\25BC'; }
#cells td { padding: 2px 8px; border-bottom: 1px solid #f1f3f5; white-space: nowrap; }
#cells td.num { text-align: right; }
#cells tbody tr { cursor: pointer; }
#cells tbody tr:hover { background: #f1f3f5; }
#cells tbody tr.current { background: #ffe8cc; }
.outcome-failed { color: #c92a2a; }
.outcome-skipped { color: #868e96; }
`;

const REPORT_JS = String.raw`
(function () {
  'use strict';
  var GAP = 65535;
  var run = JSON.parse(document.getElementById('caiman-run').textContent);
  var files = [];
  var rows = [];
  document.querySelectorAll('script.caiman-fragment').forEach(function (el) {
    var f = JSON.parse(el.textContent);
    files.push(f);
    f.cells.forEach(function (c) {
      rows.push({ f: f, c: c, id: f.file + ':' + c.cell });
    });
  });
  var hasRise = rows.some(function (r) { return r.c.tauRiseS !== null; });

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (ch) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[ch];
    });
  }
  function fmt(x) {
    if (x === null || x === undefined || !isFinite(x)) return '\u2014';
    if (x === 0) return '0';
    var a = Math.abs(x);
    return a >= 1e5 || a < 1e-3 ? x.toExponential(3) : String(Number(x.toPrecision(4)));
  }
  function u16(b64) {
    var bin = atob(b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Uint16Array(bytes.buffer, 0, bytes.length >> 1);
  }
  function decode(q, add) {
    if (q === null) return null;
    var w = u16(q.q);
    var out = new Array(w.length);
    for (var i = 0; i < w.length; i++) out[i] = w[i] === GAP ? null : q.lo + w[i] * q.step + add;
    return out;
  }

  var COLUMNS = [
    { key: 'file', label: 'file', num: true, get: function (r) { return r.f.file; } },
    { key: 'name', label: 'name', get: function (r) { return r.c.name; } },
    { key: 'status', label: 'status', get: function (r) { return r.c.status; } },
    { key: 'outcome', label: 'outcome', get: function (r) { return r.c.outcome; } },
    { key: 'tauDecayS', label: '\u03C4 decay (s)', num: true, get: function (r) { return r.c.tauDecayS; } },
  ];
  if (hasRise) {
    COLUMNS.push({ key: 'tauRiseS', label: '\u03C4 rise (s)', num: true, get: function (r) { return r.c.tauRiseS; } });
  }
  COLUMNS.push(
    { key: 'sn', label: 'sn', num: true, get: function (r) { return r.c.sn; } },
    { key: 'baseline', label: 'baseline', num: true, get: function (r) { return r.c.baseline; } },
    { key: 'lambda', label: '\u03BB', num: true, get: function (r) { return r.c.lambda; } },
    { key: 'numEvents', label: 'events', num: true, get: function (r) { return r.c.numEvents; } },
    { key: 'eventRateHz', label: 'rate (Hz)', num: true, get: function (r) { return r.c.eventRateHz; } },
    { key: 'failure', label: 'failure', get: function (r) { return r.c.failure; } }
  );

  var $ = function (id) { return document.getElementById(id); };
  var search = $('search');
  var statusFilter = $('status-filter');
  var tbody = document.querySelector('#cells tbody');
  var headRow = document.querySelector('#cells thead tr');
  var sortKey = null;
  var sortDir = 1;
  var filtered = rows.slice();
  var current = rows.length > 0 ? rows[0] : null;
  var plot = null;
  var zoom = {};
  var outlinesOf = {};

  headRow.innerHTML = COLUMNS.map(function (c) {
    return '<th data-key="' + c.key + '">' + esc(c.label) + '</th>';
  }).join('');

  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  function compare(col) {
    return function (a, b) {
      var x = col.get(a);
      var y = col.get(b);
      var nx = x === null || x === undefined;
      var ny = y === null || y === undefined;
      if (nx || ny) return nx === ny ? 0 : nx ? 1 : -1;
      var d = col.num ? x - y : collator.compare(String(x), String(y));
      return d * sortDir;
    };
  }

  function applyFilter() {
    var q = search.value.trim().toLowerCase();
    var st = statusFilter.value;
    filtered = rows.filter(function (r) {
      return (q === '' || r.c.name.toLowerCase().indexOf(q) >= 0) &&
        (st === '' || r.c.status === st || r.c.outcome === st);
    });
    if (sortKey !== null) {
      var col = COLUMNS.find(function (c) { return c.key === sortKey; });
      filtered.sort(compare(col));
    }
    renderTable();
    if (filtered.length === 0) show(null);
    else if (current === null || filtered.indexOf(current) < 0) show(filtered[0]);
    else show(current);
  }

  function renderTable() {
    var html = new Array(filtered.length);
    for (var i = 0; i < filtered.length; i++) {
      var r = filtered[i];
      var cells = COLUMNS.map(function (c) {
        var v = c.get(r);
        var text = c.num && c.key !== 'file' && c.key !== 'numEvents' ? fmt(v) : v === null ? '\u2014' : esc(v);
        var cls = c.num ? 'num' : c.key === 'outcome' ? 'outcome-' + v : '';
        return '<td class="' + cls + '">' + text + '</td>';
      });
      html[i] = '<tr data-row="' + i + '">' + cells.join('') + '</tr>';
    }
    tbody.innerHTML = html.join('');
    $('summary-count').textContent = filtered.length + ' of ' + rows.length + ' cells shown' +
      (sortKey ? ', sorted by ' + COLUMNS.find(function (c) { return c.key === sortKey; }).label +
        (sortDir > 0 ? ' (ascending)' : ' (descending)') : '');
    headRow.querySelectorAll('th').forEach(function (th) {
      if (th.dataset.key === sortKey) th.dataset.dir = sortDir > 0 ? 'asc' : 'desc';
      else delete th.dataset.dir;
    });
  }

  function markCurrent() {
    tbody.querySelectorAll('tr.current').forEach(function (tr) { tr.classList.remove('current'); });
    var i = filtered.indexOf(current);
    if (i >= 0 && tbody.children[i]) tbody.children[i].classList.add('current');
    $('position').textContent = i >= 0 ? 'cell ' + (i + 1) + ' of ' + filtered.length : 'no cell';
    $('prev').disabled = i <= 0;
    $('next').disabled = i < 0 || i >= filtered.length - 1;
  }

  function xValues(f) {
    var T = f.numTimes;
    var x;
    if (f.bins === 1) {
      x = new Array(T);
      for (var t = 0; t < T; t++) x[t] = f.offset + t * f.period;
      return x;
    }
    var n = f.bins;
    x = new Array(2 * n);
    for (var b = 0; b < n; b++) {
      var f0 = Math.floor((b * T) / n);
      var f1 = Math.floor(((b + 1) * T) / n);
      x[2 * b] = f.offset + f0 * f.period;
      x[2 * b + 1] = f.offset + 0.5 * (f0 + f1) * f.period;
    }
    return x;
  }

  function drawPlot(r) {
    var f = r.f;
    var c = r.c;
    var x = xValues(f);
    var raw = decode(c.raw, 0) || x.map(function () { return null; });
    var den = decode(c.denoised, c.baseline === null ? 0 : c.baseline) || x.map(function () { return null; });
    var ev = x.map(function () { return null; });
    var pairs = u16(c.events);
    var evMax = 0;
    for (var i = 0; i < pairs.length; i += 2) {
      var a = pairs[i + 1] * c.eventStep;
      ev[f.bins === 1 ? pairs[i] : 2 * pairs[i]] = a;
      if (a > evMax) evMax = a;
    }
    var box = $('plot');
    var opts = {
      width: Math.max(320, box.clientWidth),
      height: 340,
      scales: {
        x: { time: false },
        ev: { range: function () { return [0, evMax > 0 ? evMax * 3 : 1]; } },
      },
      cursor: { drag: { x: true, y: false } },
      series: [
        { label: 'time (s)', value: function (u, v) { return v === null ? '\u2014' : v.toFixed(3); } },
        { label: 'raw input', stroke: '#adb5bd', width: 1 },
        { label: 'denoised c + baseline', stroke: '#e8590c', width: 1.5 },
        {
          label: 'events (s)', scale: 'ev', stroke: '#2b8a3e', fill: 'rgba(43,138,62,0.6)',
          paths: uPlot.paths.bars({ size: [0.9, 4, 1] }), points: { show: false },
        },
      ],
      axes: [
        { label: 'time (s) from the start of the series' },
        { label: f.units ? 'input (' + f.units + ')' : 'input' },
        { scale: 'ev', side: 1, label: 'event amplitude', grid: { show: false } },
      ],
      hooks: {
        setScale: [function (u, key) {
          if (key !== 'x') return;
          var mn = u.scales.x.min;
          var mx = u.scales.x.max;
          var full = mn <= x[0] && mx >= x[x.length - 1];
          zoom[f.file] = full ? null : { min: mn, max: mx };
        }],
      },
    };
    if (plot !== null) plot.destroy();
    box.innerHTML = '';
    var held = zoom[f.file];
    plot = new uPlot(opts, [x, raw, den, ev], box);
    if (held) plot.setScale('x', held);
    box.dataset.cell = r.id;
    box.dataset.points = String(x.length);
    window.caimanReport.plot = plot;
  }

  function drawFootprint(r) {
    var f = r.f;
    var svg = $('footprint');
    if (!outlinesOf[f.file]) {
      outlinesOf[f.file] = f.cells.map(function (c) { return c.outline; }).join(' ');
    }
    var sw = Math.max(f.width, f.height) / 260;
    svg.setAttribute('viewBox', '0 0 ' + f.width + ' ' + f.height);
    svg.innerHTML = '<rect x="0" y="0" width="' + f.width + '" height="' + f.height + '" fill="#fff"/>' +
      '<path d="' + esc(outlinesOf[f.file]) + '" fill="none" stroke="#ced4da" stroke-width="' + sw + '"/>' +
      (r.c.outline
        ? '<path id="current-outline" d="' + esc(r.c.outline) + '" fill="rgba(232,89,12,0.35)" stroke="#e8590c" stroke-width="' + 2 * sw + '"/>'
        : '<text x="50%" y="50%" text-anchor="middle" font-size="' + 14 * sw + '">empty footprint</text>');
  }

  function drawEstimates(r) {
    var c = r.c;
    var u = r.f.units ? ' (' + esc(r.f.units) + ')' : '';
    var items = [
      ['status', esc(c.status)],
      ['outcome', esc(c.outcome)],
      ['\u03C4 decay (s)', fmt(c.tauDecayS)],
    ];
    if (c.tauRiseS !== null) items.push(['\u03C4 rise (s)', fmt(c.tauRiseS)]);
    items.push(
      ['noise sn' + u, fmt(c.sn)],
      ['baseline' + u, fmt(c.baseline)],
      ['\u03BB', fmt(c.lambda)],
      ['events', String(c.numEvents)],
      ['event rate (Hz)', fmt(c.eventRateHz)]
    );
    $('estimates').innerHTML = items.map(function (kv) {
      return '<tr><th>' + kv[0] + '</th><td>' + kv[1] + '</td></tr>';
    }).join('');
  }

  function show(r) {
    current = r;
    window.caimanReport.current = r === null ? null : r.id;
    if (r === null) {
      if (plot !== null) plot.destroy();
      plot = null;
      window.caimanReport.plot = null;
      $('plot').innerHTML = '';
      $('cell-title').textContent = 'No cell matches the filter';
      $('cell-note').textContent = '';
      $('estimates').innerHTML = '';
      $('footprint').innerHTML = '';
      markCurrent();
      return;
    }
    var c = r.c;
    $('cell-title').textContent = c.name + ' \u00B7 file ' + r.f.file + ' (' + r.f.input + ') \u00B7 ' + c.status;
    $('cell-note').textContent = c.outcome === 'failed'
      ? 'Not deconvolved: ' + (c.failure || 'unknown reason')
      : c.outcome === 'skipped' ? 'Skipped (--accepted-only): raw input only' : '';
    drawPlot(r);
    drawFootprint(r);
    drawEstimates(r);
    markCurrent();
  }

  function step(d) {
    var i = filtered.indexOf(current) + d;
    if (i >= 0 && i < filtered.length) {
      show(filtered[i]);
      var tr = tbody.children[i];
      if (tr && tr.scrollIntoView) tr.scrollIntoView({ block: 'nearest' });
    }
  }

  window.caimanReport = { rows: rows.length, current: null, plot: null, show: show };
  $('run-info').textContent = rows.length + ' cells in ' + files.length +
    ' file' + (files.length === 1 ? '' : 's') + ' (' + files.map(function (f) { return f.input; }).join(', ') +
    ') \u00B7 ' + run.method +
    ' \u00B7 drag on the plot to zoom on time, double-click to zoom out; \u2190/\u2192 step through the cells';
  search.addEventListener('input', applyFilter);
  statusFilter.addEventListener('change', applyFilter);
  $('prev').addEventListener('click', function () { step(-1); });
  $('next').addEventListener('click', function () { step(1); });
  $('reset-zoom').addEventListener('click', function () {
    if (current !== null) zoom[current.f.file] = null;
    if (current !== null) drawPlot(current);
  });
  tbody.addEventListener('click', function (e) {
    var tr = e.target.closest('tr');
    if (tr) show(filtered[Number(tr.dataset.row)]);
  });
  headRow.addEventListener('click', function (e) {
    var th = e.target.closest('th');
    if (!th) return;
    if (sortKey === th.dataset.key) sortDir = -sortDir;
    else {
      sortKey = th.dataset.key;
      sortDir = 1;
    }
    applyFilter();
  });
  document.addEventListener('keydown', function (e) {
    if (e.target === search || e.target === statusFilter) return;
    if (e.key === 'ArrowRight') step(1);
    else if (e.key === 'ArrowLeft') step(-1);
  });
  var resizing = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      if (plot !== null) plot.setSize({ width: Math.max(320, $('plot').clientWidth), height: 340 });
    }, 100);
  });
  applyFilter();
})();
`;

export { REPORT_CSS, REPORT_JS };
