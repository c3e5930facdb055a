/* thor-cutover HTML report: draws the charts from the inlined document (#report-data) with
   uPlot, and opens a mismatch's field-by-field diff from its marker or its table row.
   Plain ES2020, no network; the text of the report is already in the page without it. */
(function () {
  'use strict';
  var doc = JSON.parse(document.getElementById('report-data').textContent);
  var S = doc.series;
  var charts = [];
  var open = {}; // feature index -> mismatch index shown

  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function fmtMs(v) {
    if (v == null || isNaN(v)) return '-';
    if (v >= 60000) return (Math.round(v / 6000) / 10) + ' min';
    if (v >= 1000) return (Math.round(v / 10) / 100) + ' s';
    return (v >= 10 ? Math.round(v) : Math.round(v * 10) / 10) + ' ms';
  }
  function hms(ms) { return new Date(ms).toISOString().slice(11, 23); }
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

  var xs = [];
  for (var i = 0; i < S.buckets; i++) xs.push((S.startAt + i * S.bucketMs) / 1000);
  var xMin = S.startAt / 1000;
  var xMax = Math.max(Date.parse(doc.finishedAt), S.startAt + S.buckets * S.bucketMs) / 1000;
  var tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'); };

  /* Tick labels: unlabelled minor ticks stay blank. */
  function msTicks(u, vals) { return vals.map(function (v) { return v == null ? '' : fmtMs(v); }); }
  /* Time ticks in UTC, 24 h, as precise as the visible span needs. */
  function timeTicks(u, vals) {
    var span = (u.scales.x.max - u.scales.x.min) * 1000;
    return vals.map(function (v) {
      if (v == null) return '';
      var iso = new Date(v * 1000).toISOString();
      return span > 2 * 86400000 ? iso.slice(5, 10) + ' ' + iso.slice(11, 16) : span > 3600000 ? iso.slice(11, 16) : span > 20000 ? iso.slice(11, 19) : iso.slice(11, 22);
    });
  }
  function intTicks(u, vals) { return vals.map(function (v) { return v != null && Math.round(v) === v ? String(v) : ''; }); }
  /* A log axis over whole decades (100 ms to 1 s, ...), with the expected interval well inside. */
  function decades(u, lo, hi) {
    var a = lo || 1, b = hi || 1;
    return [Math.pow(10, Math.floor(Math.log10(Math.max(0.1, a / 1.2)))), Math.pow(10, Math.ceil(Math.log10(Math.max(1, b * 1.2))))];
  }
  function legendTime(u, v) { return v == null ? '-' : new Date(v * 1000).toISOString().slice(11, 23); }
  function axis(extra) {
    var a = { stroke: css('--axis'), grid: { stroke: css('--grid'), width: 1 }, ticks: { stroke: css('--grid'), width: 1 } };
    for (var k in extra) a[k] = extra[k];
    return a;
  }
  function size(target) {
    var w = Math.max(260, target.clientWidth);
    return { width: w, height: w < 500 ? 200 : 240 };
  }

  /* Sessions as bands, reconnect gaps as red bands, closes as vertical lines: behind the data. */
  function backdrop(u) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
    function band(from, to, fill) {
      var x0 = u.valToPos(from / 1000, 'x', true), x1 = u.valToPos(to / 1000, 'x', true);
      ctx.fillStyle = fill;
      ctx.fillRect(x0, top, Math.max(2, x1 - x0), h);
    }
    ctx.save();
    doc.sessions.forEach(function (s) { band(s.openedAt, s.closedAt == null ? xMax * 1000 : s.closedAt, s.counted ? css('--session') : css('--session-other')); });
    S.gaps.forEach(function (g) { band(g.from, g.to, css('--gap')); });
    ctx.strokeStyle = css('--close');
    ctx.lineWidth = Math.max(1, devicePixelRatio);
    ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
    S.closes.forEach(function (c) {
      var x = u.valToPos(c.at / 1000, 'x', true);
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + h); ctx.stroke();
    });
    ctx.restore();
  }

  /* Mismatch markers are buttons over the chart (keyboard and screen readers reach them). */
  function markers(fi) {
    var fs = S.features[fi];
    return function (u) {
      var list = u.over.querySelectorAll('.marker');
      if (!list.length) {
        fs.mismatchDetails.forEach(function (m, j) {
          var b = el('button', {
            type: 'button', 'class': 'marker mismatch', 'data-feature': fi, 'data-index': j, 'aria-expanded': 'false',
            'aria-controls': 'diff-f' + fi, 'aria-label': 'mismatch ' + (j + 1) + ' at ' + hms(m.at) + ' UTC, ' + m.key + ': open its diff', text: '▼',
          });
          b.addEventListener('click', function (ev) { ev.stopPropagation(); showDiff(fi, j); });
          u.over.appendChild(b);
        });
        fs.skippedMarks.forEach(function (k) {
          u.over.appendChild(el('span', { 'class': 'marker skipped', 'data-at': k.at, 'aria-hidden': 'true', title: 'not compared: ' + k.reason, text: '◇' }));
        });
        list = u.over.querySelectorAll('.marker');
      }
      list.forEach(function (b) {
        var at = b.classList.contains('mismatch') ? fs.mismatchDetails[+b.getAttribute('data-index')].at : +b.getAttribute('data-at');
        var x = u.valToPos(at / 1000, 'x');
        var inside = x >= 0 && x <= u.over.clientWidth;
        b.style.left = x + 'px';
        b.style.display = inside ? '' : 'none';
      });
    };
  }

  function empty(target, text) {
    target.appendChild(el('p', { 'class': 'empty', text: text }));
    return null;
  }

  function timeline(target, fi) {
    var f = doc.features[fi], fs = S.features[fi];
    var hasIntervals = fs.intervals.some(function (n) { return n > 0; });
    var clamp = function (v) { return v == null ? null : Math.max(0.1, v); };
    var series, data, yAxis, bands;
    if (hasIntervals) {
      var expected = xs.map(function () { return f.expectedMs; });
      var limit = xs.map(function () { return f.limitMs; });
      data = [xs, fs.minMs.map(clamp), fs.medianMs.map(clamp), fs.maxMs.map(clamp), expected, limit];
      series = [
        { label: 'UTC', value: legendTime },
        { label: 'min', spanGaps: true, stroke: css('--series'), width: 1, value: function (u, v) { return fmtMs(v); } },
        { label: 'median', spanGaps: true, stroke: css('--series'), width: 2, value: function (u, v) { return fmtMs(v); } },
        { label: 'max', spanGaps: true, stroke: css('--series-2'), width: 1, value: function (u, v) { return fmtMs(v); } },
        { label: 'expected', stroke: css('--expected'), width: 1.5, dash: [8, 4], points: { show: false }, value: function (u, v) { return fmtMs(v); } },
        { label: 'p95 limit', stroke: css('--limit'), width: 1.5, dash: [2, 3], points: { show: false }, value: function (u, v) { return fmtMs(v); }, show: f.limitMs != null },
      ];
      bands = [{ series: [3, 1], fill: css('--band') }];
      yAxis = axis({ values: msTicks, size: 64 });
    } else {
      data = [xs, fs.messages];
      series = [{ label: 'UTC', value: legendTime }, { label: 'messages', stroke: css('--series'), width: 2, fill: css('--band'), value: function (u, v) { return v == null ? '-' : String(v); } }];
      yAxis = axis({ size: 50, values: intTicks });
    }
    return new uPlot({
      width: size(target).width, height: size(target).height, tzDate: tzDate,
      scales: { x: { time: true, range: [xMin, xMax] }, y: hasIntervals ? { distr: 3, log: 10, range: decades } : { range: function (u, lo, hi) { return [0, Math.max(1, hi * 1.1)]; } } },
      axes: [axis({ values: timeTicks, space: 110 }), yAxis],
      series: series,
      bands: bands,
      hooks: { drawClear: [backdrop], draw: [markers(fi)] },
    }, data, target);
  }

  function histogram(target, fi) {
    var f = doc.features[fi], h = S.features[fi].histogram;
    if (!h.counts.some(function (n) { return n > 0; })) return empty(target, 'No inter-arrival times (' + f.cadence + ' feature, or too few messages).');
    var lines = function (u) {
      var ctx = u.ctx;
      ctx.save();
      ctx.lineWidth = 1.5 * devicePixelRatio;
      [[f.expectedMs, css('--expected'), [8, 4]], [f.limitMs, css('--limit'), [2, 3]]].forEach(function (l) {
        if (l[0] == null) return;
        var x = u.valToPos(l[0], 'x', true);
        ctx.strokeStyle = l[1];
        ctx.setLineDash(l[2].map(function (d) { return d * devicePixelRatio; }));
        ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
      });
      ctx.restore();
    };
    return new uPlot({
      width: size(target).width, height: size(target).height,
      scales: { x: { time: false, distr: 3, log: 10 }, y: { range: function (u, lo, hi) { return [0, Math.max(1, hi * 1.1)]; } } },
      axes: [axis({ values: msTicks }), axis({ size: 50, values: intTicks })],
      series: [
        { label: 'up to', value: function (u, v) { return fmtMs(v); } },
        { label: 'intervals', stroke: css('--series'), fill: css('--band'), width: 1, paths: uPlot.paths.bars({ size: [0.9, 24] }), points: { show: false } },
      ],
      hooks: { draw: [lines] },
    }, [h.edgesMs, h.counts], target);
  }

  function rest(target, fi) {
    var fs = S.features[fi];
    if (!fs.restPolls.some(function (n) { return n > 0; })) return empty(target, 'No REST polls.');
    return new uPlot({
      width: size(target).width, height: size(target).height, tzDate: tzDate,
      scales: { x: { time: true, range: [xMin, xMax] }, ms: { range: function (u, lo, hi) { return [0, Math.max(1, hi * 1.1)]; } }, n: { range: function (u, lo, hi) { return [0, Math.max(1, hi * 1.2)]; } } },
      axes: [axis({ values: timeTicks, space: 110 }), axis({ scale: 'ms', values: msTicks, size: 60 }), axis({ scale: 'n', side: 1, grid: { show: false }, size: 40, values: intTicks })],
      series: [
        { label: 'UTC', value: legendTime },
        { label: 'mean latency', spanGaps: true, scale: 'ms', stroke: css('--series'), width: 2, value: function (u, v) { return fmtMs(v); } },
        { label: 'max latency', spanGaps: true, scale: 'ms', stroke: css('--series-2'), width: 1, dash: [4, 3], value: function (u, v) { return fmtMs(v); } },
        { label: 'errors', scale: 'n', stroke: css('--fail'), fill: css('--gap'), paths: uPlot.paths.bars({ size: [0.8, 12] }), points: { show: false } },
      ],
      hooks: { drawClear: [backdrop] },
    }, [xs, fs.restMeanMs, fs.restMaxMs, fs.restErrors], target);
  }

  var kinds = { timeline: timeline, histogram: histogram, rest: rest };

  function build() {
    charts.forEach(function (c) { if (c.u) c.u.destroy(); });
    charts = [];
    document.querySelectorAll('.plot[data-chart]').forEach(function (target) {
      target.textContent = '';
      var u = kinds[target.getAttribute('data-chart')](target, +target.getAttribute('data-feature'));
      charts.push({ target: target, u: u });
    });
    // Markers re-created with the charts keep showing which diff is open.
    Object.keys(open).forEach(function (fi) { mark(+fi, open[fi]); });
  }

  function mark(fi, j) {
    document.querySelectorAll('[data-feature="' + fi + '"][data-index]').forEach(function (b) {
      b.setAttribute('aria-expanded', String(+b.getAttribute('data-index') === j));
    });
  }

  function cell(tag, text, cls) { return el(tag, cls ? { 'class': cls, text: text } : { text: text }); }
  function show(v) { return v === undefined ? '(absent)' : typeof v === 'string' ? v : JSON.stringify(v); }

  function showDiff(fi, j) {
    var panel = document.getElementById('diff-f' + fi);
    if (open[fi] === j && !panel.hidden) {
      panel.hidden = true;
      delete open[fi];
      mark(fi, -1);
      return;
    }
    var m = S.features[fi].mismatchDetails[j];
    var name = doc.features[fi].name;
    panel.textContent = '';
    panel.appendChild(el('h4', { text: 'Mismatch ' + (j + 1) + ': ' + name + ' ' + m.key + (m.version ? ' (version ' + m.version + ')' : '') }));
    panel.appendChild(el('p', {
      text: 'REST request sent ' + hms(m.restSentAt) + ', answered ' + hms(m.restAt) + ' UTC; the nearest WS message arrived ' + hms(m.wsAt)
        + ' (' + (m.skewMs >= 0 ? '+' : '') + m.skewMs + ' ms from the poll\'s midpoint).',
    }));
    var body = el('tbody');
    m.fields.forEach(function (d) { body.appendChild(el('tr', { 'class': 'differs' }, cell('th', d.path, 'val'), cell('td', show(d.rest), 'val'), cell('td', show(d.ws), 'val'))); });
    body.firstChild && body.firstChild.firstChild.setAttribute('scope', 'row');
    panel.appendChild(el('div', { 'class': 'table-wrap' }, el('table', { 'class': 'diff-fields' },
      el('caption', { 'class': 'muted', text: 'Fields that differ' + (m.fieldsTotal > m.fields.length ? ' (first ' + m.fields.length + ' of ' + m.fieldsTotal + ')' : '') }),
      el('thead', null, el('tr', null, cell('th', 'field'), cell('th', 'REST'), cell('th', 'WS'))), body)));
    if (m.rest.length || m.ws.length) {
      var restMap = {}, wsMap = {}, names = [];
      m.rest.forEach(function (p) { restMap[p[0]] = p[1]; if (names.indexOf(p[0]) < 0) names.push(p[0]); });
      m.ws.forEach(function (p) { wsMap[p[0]] = p[1]; if (names.indexOf(p[0]) < 0) names.push(p[0]); });
      var diffs = m.fields.map(function (d) { return d.path; });
      var all = el('tbody');
      names.forEach(function (n) {
        var differs = diffs.indexOf(n) >= 0;
        all.appendChild(el('tr', differs ? { 'class': 'differs' } : null, el('th', { scope: 'row', 'class': 'val', text: (differs ? '≠ ' : '') + n }),
          cell('td', n in restMap ? restMap[n] : '(absent)', 'val'), cell('td', n in wsMap ? wsMap[n] : '(absent)', 'val')));
      });
      panel.appendChild(el('details', null, el('summary', { text: 'Both payloads, REST and the nearest WS message (' + names.length + (m.payloadFieldsTotal > names.length ? ' of ' + m.payloadFieldsTotal : '') + ' fields; ≠ differs)' }),
        el('div', { 'class': 'table-wrap' }, el('table', null, el('thead', null, el('tr', null, cell('th', 'field'), cell('th', 'REST'), cell('th', 'WS'))), all))));
    }
    var close = el('button', { type: 'button', 'class': 'diff-toggle', text: 'close' });
    close.addEventListener('click', function () { showDiff(fi, j); });
    panel.appendChild(close);
    panel.hidden = false;
    open[fi] = j;
    mark(fi, j);
    panel.focus({ preventScroll: true });
    panel.scrollIntoView({ block: 'nearest' });
  }

  document.querySelectorAll('button.diff-toggle[data-index]').forEach(function (b) {
    b.addEventListener('click', function () { showDiff(+b.getAttribute('data-feature'), +b.getAttribute('data-index')); });
  });

  build();
  var scheme = matchMedia('(prefers-color-scheme: dark)');
  if (scheme.addEventListener) scheme.addEventListener('change', build);
  var pending = null;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      charts.forEach(function (c) { if (c.u) c.u.setSize(size(c.target)); });
    }, 100);
  });
  document.documentElement.setAttribute('data-charts', String(charts.filter(function (c) { return c.u; }).length));
})();
