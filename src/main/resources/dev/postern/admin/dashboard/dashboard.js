// Postern dashboard. Every value from the API is put into the page as text (textContent, or an SVG attribute that
// holds a number); never as HTML: domains, reasons and EHLO names are chosen by whoever sends mail.
(function () {
  'use strict';

  var TOKEN_KEY = 'postern-admin-token';
  var SVG = 'http://www.w3.org/2000/svg';
  var CLASSES = ['verified', 'unverified', 'clear', 'unknown'];
  var probesByDomain = null; // domain -> latest ProbeRecord; null: the probes API is not available
  var lastSummary = null;
  var problems = []; // what failed during the current refresh, shown in the status line

  function $(id) { return document.getElementById(id); }

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function status(text, bad) {
    var s = $('status');
    s.textContent = text;
    s.className = bad ? 'bad' : '';
  }

  // An element with text children; attrs are set as attributes, never parsed as markup.
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function time(iso) {
    if (!iso) return '';
    return String(iso).replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  // fetch with the token; resolves {status, body} (body: parsed JSON or null)
  function api(method, path, body) {
    var opts = { method: method, headers: { 'Authorization': 'Bearer ' + token() }, cache: 'no-store' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var json = null;
        try { json = t ? JSON.parse(t) : null; } catch (e) { json = null; }
        if (r.status === 401) {
          status('The admin token was refused: enter it again.', true);
          $('panels').hidden = true;
        }
        return { status: r.status, body: json };
      });
    });
  }

  function problem(text) {
    problems.push(text);
    status(text, true);
  }

  function errorText(r) {
    return (r.body && r.body.error) ? r.body.error : 'HTTP ' + r.status;
  }

  function row(cells, attrs) {
    var tr = el('tr', attrs);
    cells.forEach(function (c) { tr.appendChild(c instanceof Node ? c : el('td', null, c)); });
    return tr;
  }

  function emptyRow(tbody, columns, text) {
    tbody.appendChild(el('tr', { 'class': 'empty' }, el('td', { colspan: String(columns) }, text)));
  }

  // A panel drawn from a route another part of the API owns: "not available" when it answers 404 (not built
  // in), its error otherwise; draw(box, body) on 200. Resolves whether it was drawn.
  function panel(path, boxId, draw) {
    return api('GET', path).then(function (r) {
      var box = clear($(boxId));
      if (r.status !== 200) {
        box.appendChild(el('p', { 'class': 'muted' }, r.status === 404 ? 'not available' : errorText(r)));
        return false;
      }
      draw(box, r.body || {});
      return true;
    });
  }

  function table(headings, tbody) {
    return el('table', null, el('thead', null, row(headings.map(function (h) { return el('th', null, h); }))),
      tbody);
  }

  // ---- coverage: the timeline as stacked bars, the report's totals beside it

  function drawChart(container, buckets, part) {
    clear(container);
    var w = 600, h = 170, left = 40, bottom = 22, top = 8;
    var max = 0;
    buckets.forEach(function (b) { max = Math.max(max, b[part].total); });
    var s = svg('svg', { viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, role: 'img', 'class': 'bars' });
    var plotH = h - bottom - top, plotW = w - left - 4;
    var bw = buckets.length ? plotW / buckets.length : plotW;
    s.appendChild(svg('line', { x1: left, y1: top + plotH, x2: w - 4, y2: top + plotH, 'class': 'axis' }));
    var yl = svg('text', { x: left - 4, y: top + 10, 'class': 'label', 'text-anchor': 'end' });
    yl.textContent = String(max);
    s.appendChild(yl);
    var y0 = svg('text', { x: left - 4, y: top + plotH, 'class': 'label', 'text-anchor': 'end' });
    y0.textContent = '0';
    s.appendChild(y0);
    buckets.forEach(function (b, i) {
      var shares = b[part];
      var x = left + i * bw;
      var y = top + plotH;
      var g = svg('g', { 'class': 'bucket' });
      var title = svg('title', {});
      title.textContent = time(b.start) + ': ' + shares.total + ' messages, ' + shares.verified + ' verified, '
          + shares.unverified + ' encrypted only, ' + shares.clear + ' clear text, ' + shares.unknown + ' unknown';
      g.appendChild(title);
      CLASSES.forEach(function (k) {
        var n = shares[k];
        if (!n || !max) return;
        var bh = n / max * plotH;
        y -= bh;
        g.appendChild(svg('rect', { x: (x + 0.5).toFixed(2), y: y.toFixed(2), width: Math.max(bw - 1, 1).toFixed(2),
          height: bh.toFixed(2), 'class': 'k-' + k }));
      });
      s.appendChild(g);
    });
    if (buckets.length) {
      var first = svg('text', { x: left, y: h - 6, 'class': 'label' });
      first.textContent = time(buckets[0].start);
      s.appendChild(first);
      var last = svg('text', { x: w - 4, y: h - 6, 'class': 'label', 'text-anchor': 'end' });
      last.textContent = time(buckets[buckets.length - 1].start);
      s.appendChild(last);
    }
    container.appendChild(s);
  }

  function loadCoverage() {
    var choice = $('window').value.split('|');
    return api('GET', '/api/report/timeline?since=' + encodeURIComponent(choice[0]) + '&bucket='
        + encodeURIComponent(choice[1])).then(function (r) {
      if (r.status !== 200) { problem('timeline: ' + errorText(r)); return; }
      var t = r.body;
      $('bucket-label').textContent = choice[1];
      $('coverage-since').textContent = time(t.since);
      $('cov-cmd-since').textContent = t.since;
      drawChart($('chart-in'), t.buckets, 'in');
      drawChart($('chart-out'), t.buckets, 'out');
      // the report over the very same window: its totals are the buckets' sums
      return api('GET', '/api/report/tls?since=' + encodeURIComponent(t.since)).then(function (rr) {
        if (rr.status !== 200) { problem('report: ' + errorText(rr)); return; }
        rr.body.directions.forEach(function (p) {
          var d = p.direction === 'IN' ? 'in' : 'out';
          ['total', 'clear', 'unverified', 'verified', 'unknown'].forEach(function (k) {
            var cell = $('cov-' + d + '-' + k);
            cell.textContent = String(p.messages[k]);
            if (k !== 'total' && p.messages.total) {
              cell.title = (100 * p.messages[k] / p.messages.total).toFixed(1) + '%';
            }
          });
        });
      });
    });
  }

  // ---- partners, policy events

  function health(domain) {
    if (probesByDomain === null) return { text: 'not available', cls: 'muted', failing: false };
    var p = probesByDomain[domain];
    if (!p) return { text: 'no probe yet', cls: 'muted', failing: false };
    return p.ok ? { text: 'ok at ' + time(p.at), cls: 'ok', failing: false }
      : { text: 'failing at ' + time(p.at) + (p.problem ? ': ' + p.problem : ''), cls: 'bad', failing: true };
  }

  function drawPartners() {
    var tbody = clear($('partners').tBodies[0]);
    if (!lastSummary) return;
    var list = lastSummary.partners.map(function (p, i) { return { p: p, i: i, h: health(p.domain) }; });
    // the server's order (failed first, then soonest certificate expiry), with a failing probe counted as failing
    list.sort(function (a, b) {
      var fa = a.p.failed > 0 || a.h.failing, fb = b.p.failed > 0 || b.h.failing;
      return fa === fb ? a.i - b.i : (fa ? -1 : 1);
    });
    if (!list.length) emptyRow(tbody, 8, 'No domain with an enforcing policy, and no enforced delivery in the window.');
    list.forEach(function (x) {
      var p = x.p, c = p.certificate;
      var failing = p.failed > 0 || x.h.failing;
      var cert = c && c.notAfter ? time(c.notAfter) + ' (' + p.certificateDays + ' days)' : 'none seen';
      tbody.appendChild(row([
        el('td', { 'class': 'domain' }, p.domain),
        p.policy || 'not configured',
        el('td', { 'class': x.h.cls }, x.h.text),
        el('td', { 'class': 'num' }, String(p.attempts)),
        el('td', { 'class': 'num' }, String(p.delivered)),
        el('td', { 'class': 'num' + (p.failed > 0 ? ' bad' : '') }, String(p.failed)),
        el('td', { 'class': 'num' }, String(p.wouldFail)),
        el('td', { 'class': c && p.certificateDays !== null && p.certificateDays < 21 ? 'bad' : '',
          title: c ? (c.subject || '') + ' sha256 ' + c.sha256 : '' }, cert)
      ], { 'data-domain': p.domain, 'class': failing ? 'failing' : '' }));
    });
  }

  function drawEvents() {
    var tbody = clear($('events').tBodies[0]);
    if (!lastSummary) return;
    if (!lastSummary.events.length) emptyRow(tbody, 7, 'None in the window.');
    lastSummary.events.forEach(function (e) {
      tbody.appendChild(row([
        time(e.at), el('td', { 'class': e.kind === 'downgrade' ? 'warn' : 'bad' }, e.kind), e.recipient,
        e.mxHost || '', (e.policyLevel || '') + (e.policySource ? ' (' + e.policySource + ')' : ''),
        e.status || e.outcome, e.kind === 'downgrade' ? e.noTlsReason : (e.reason || e.noTlsReason || '')
      ], { 'data-queue-id': e.queueId }));
    });
  }

  function loadProbes() {
    probesByDomain = null;
    return panel('/api/probes', 'probes', function (box, body) {
      probesByDomain = {};
      var probes = body.probes || [];
      probes.forEach(function (p) { probesByDomain[p.domain] = p; });
      if (!probes.length) { box.appendChild(el('p', { 'class': 'muted' }, 'No probe yet.')); return; }
      var tb = el('tbody');
      probes.forEach(function (p) {
        tb.appendChild(row([el('td', { 'class': 'domain' }, p.domain), el('td', { 'class': p.ok ? 'ok' : 'bad' },
          p.ok ? 'ok' : 'failing'), time(p.at), p.policyLevel + ' (' + p.policySource + ')', p.host || '',
          p.protocol ? p.protocol + ' ' + p.verification : (p.verification || ''), p.problem || '']));
      });
      box.appendChild(table(['domain', 'result', 'at', 'policy', 'host', 'TLS', 'problem'], tb));
    });
  }

  // ---- queue

  function loadQueue() {
    return api('GET', '/api/queue').then(function (r) {
      var tbody = clear($('queue').tBodies[0]);
      if (r.status !== 200) { emptyRow(tbody, 7, errorText(r)); return; }
      $('queue-count').textContent = r.body.count + ' message' + (r.body.count === 1 ? '' : 's');
      if (!r.body.messages.length) emptyRow(tbody, 7, 'The queue is empty.');
      r.body.messages.forEach(function (m) {
        var pending = m.recipients.filter(function (x) { return x.status === 'pending'; });
        (pending.length ? pending : m.recipients.slice(0, 1)).forEach(function (rc, i) {
          tbody.appendChild(row([
            el('td', { 'class': 'mono' }, i === 0 ? m.id : ''), i === 0 ? m.state : '', i === 0 ? time(m.arrived) : '',
            rc.address, el('td', { 'class': 'num' }, String(rc.attempts)),
            el('td', { 'class': 'reason' }, rc.lastResult), i === 0 ? time(m.nextAttempt) : ''
          ], { 'data-id': m.id }));
        });
      });
    });
  }

  // ---- overrides

  function loadOverrides() {
    return api('GET', '/api/overrides').then(function (r) {
      var tbody = clear($('overrides').tBodies[0]);
      if (r.status !== 200) { emptyRow(tbody, 7, errorText(r)); return; }
      var list = r.body.overrides;
      if (!list.length) emptyRow(tbody, 7, 'No overrides.');
      list.forEach(function (o) {
        var end = el('button', { type: 'button', 'class': 'end' }, 'End…');
        end.addEventListener('click', function () { openEnd(o.domain); });
        tbody.appendChild(row([el('td', { 'class': 'domain' }, o.unicode === o.domain ? o.domain
            : o.unicode + ' (' + o.domain + ')'), o.level, time(o.until),
          el('td', { 'class': o.active ? 'warn' : 'muted' }, o.active ? 'active' : 'expired'), o.setBy, o.reason,
          el('td', null, o.active ? end : '')], { 'data-domain': o.domain }));
      });
    });
  }

  function openEnd(domain) {
    $('end-domain').textContent = domain;
    $('end-form').hidden = false;
    $('end-reason').focus();
  }

  function setOverride(ev) {
    ev.preventDefault();
    var req = { domain: $('ov-domain').value.trim(), level: $('ov-level').value, until: $('ov-until').value.trim(),
      reason: $('ov-reason').value.trim(), by: $('ov-by').value.trim() };
    if (!window.confirm('Set the TLS policy of ' + req.domain + ' to "' + req.level + '" until ' + req.until
        + '?\nReason: ' + req.reason)) return;
    api('POST', '/api/overrides', req).then(function (r) {
      $('override-result').textContent = r.status === 200
        ? 'Override set: ' + r.body.domain + ' ' + r.body.level + ' until ' + time(r.body.until) + '.'
        : 'Refused: ' + errorText(r);
      $('override-result').className = r.status === 200 ? 'ok' : 'bad';
      return refresh();
    });
  }

  function endOverride(ev) {
    ev.preventDefault();
    var domain = $('end-domain').textContent;
    var req = { reason: $('end-reason').value.trim(), by: $('end-by').value.trim() };
    if (!window.confirm('End the override of ' + domain + ' now?\nReason: ' + req.reason)) return;
    api('DELETE', '/api/overrides/' + encodeURIComponent(domain), req).then(function (r) {
      $('override-result').textContent = r.status === 200 ? 'Override of ' + domain + ' ended.'
        : 'Refused: ' + errorText(r);
      $('override-result').className = r.status === 200 ? 'ok' : 'bad';
      if (r.status === 200) $('end-form').hidden = true;
      return refresh();
    });
  }

  // ---- trace

  function session(s) {
    if (!s) return 'session not recorded';
    if (!s.protocol) return 'clear text' + (s.noTlsDetail ? ' (' + s.noTlsDetail + ')' : '');
    return s.protocol + ' ' + s.cipher + ', certificate ' + String(s.verification).toLowerCase().replace('_', ' ');
  }

  function trace(ev) {
    ev.preventDefault();
    var q = $('trace-q').value.trim();
    var box = clear($('trace-result'));
    if (!q) return;
    api('GET', '/api/trace?q=' + encodeURIComponent(q)).then(function (r) {
      if (r.status !== 200) { box.appendChild(el('p', { 'class': 'bad' }, errorText(r))); return; }
      r.body.forEach(function (t) {
        var m = t.message;
        var block = el('div', { 'class': 'trace' });
        block.appendChild(el('h3', null, 'Message ' + m.queueId + (m.messageId ? ' <' + m.messageId + '>' : '')));
        var hops = el('ol');
        hops.appendChild(el('li', null, time(m.at) + ' received from <' + m.sender + '>'
          + (m.ehloName ? ' (' + m.ehloName + ' [' + (m.clientIp || '') + '])' : '') + ' over '
          + (m.origin === 'smtp' ? session(t.inbound) : m.origin)));
        t.deliveries.forEach(function (d) {
          var s = d.tlsSessionId ? t.sessions[d.tlsSessionId] : null;
          hops.appendChild(el('li', { 'class': d.outcome === 'DELIVERED' ? 'ok' : 'bad' }, time(d.at) + ' to <'
            + d.recipient + '> attempt ' + d.attempt + ': ' + d.outcome.toLowerCase()
            + (d.status ? ' ' + d.status : '') + (d.mxHost ? ' via ' + d.mxHost : '') + ', '
            + (s ? session(s) : d.noTlsReason ? 'without TLS: ' + d.noTlsReason : 'no session')
            + (d.reason ? ' — ' + d.reason : '')));
        });
        block.appendChild(hops);
        box.appendChild(block);
      });
    });
  }

  // ---- panels owned by other parts of the API: "not available" until they exist

  function loadAlerts() {
    return panel('/api/alerts', 'alerts', function (box, body) {
      var active = body.active || [], recent = body.recent || [];
      box.appendChild(el('h3', null, 'Firing (' + active.length + ')'));
      var ul = el('ul', { 'class': 'alerts' });
      if (!active.length) ul.appendChild(el('li', { 'class': 'ok' }, 'None.'));
      active.forEach(function (a) { ul.appendChild(el('li', { 'class': 'bad' }, time(a.at) + ' ' + a.summary)); });
      box.appendChild(ul);
      box.appendChild(el('h3', null, 'Recent'));
      var ul2 = el('ul', { 'class': 'alerts' });
      recent.slice(0, 20).forEach(function (a) {
        ul2.appendChild(el('li', { 'class': a.state === 'RECOVERED' ? 'ok' : 'bad' }, time(a.at) + ' '
          + String(a.state).toLowerCase() + ': ' + a.summary));
      });
      box.appendChild(ul2);
    });
  }

  function loadTlsRpt() {
    return panel('/api/tlsrpt?direction=IN', 'tlsrpt', function (box, body) {
      var reports = body.reports || [];
      if (!reports.length) { box.appendChild(el('p', { 'class': 'muted' }, 'None received.')); return; }
      var tb = el('tbody');
      reports.slice(0, 30).forEach(function (x) {
        tb.appendChild(row([time(x.at), x.organization, x.policyDomain, time(x.start) + ' – ' + time(x.end),
          el('td', { 'class': 'num' }, String(x.successful)),
          el('td', { 'class': 'num' + (x.failed > 0 ? ' bad' : '') }, String(x.failed))]));
      });
      box.appendChild(table(['received', 'from', 'about', 'period', 'ok', 'failed'], tb));
    });
  }

  // ---- all

  var refreshing = null;

  function refresh() {
    if (!token()) return Promise.resolve();
    if (refreshing) return refreshing;
    status('Loading…');
    problems = [];
    refreshing = api('GET', '/api/dashboard').then(function (r) {
      if (r.status === 401) return;
      if (r.status !== 200) { problem('dashboard: ' + errorText(r)); }
      else lastSummary = r.body;
      $('panels').hidden = false;
      return Promise.all([loadCoverage(), loadProbes(), loadQueue(), loadOverrides(), loadAlerts(), loadTlsRpt()])
        .then(function () {
          drawPartners();
          drawEvents();
          if (problems.length) status(problems.join('; '), true);
          else status('Updated ' + time(new Date().toISOString()));
          document.body.setAttribute('data-loaded', String(Date.now()));
        });
    }).catch(function (e) {
      status('Cannot reach the admin server: ' + e, true);
    }).then(function () { refreshing = null; });
    return refreshing;
  }

  function start() {
    $('token-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var v = $('token').value.trim();
      if (!v) return;
      sessionStorage.setItem(TOKEN_KEY, v);
      $('token').value = '';
      refresh();
    });
    $('token-forget').addEventListener('click', function () {
      sessionStorage.removeItem(TOKEN_KEY);
      $('panels').hidden = true;
      status('Token forgotten.');
    });
    $('refresh').addEventListener('click', refresh);
    $('window').addEventListener('change', refresh);
    $('override-form').addEventListener('submit', setOverride);
    $('end-form').addEventListener('submit', endOverride);
    $('end-cancel').addEventListener('click', function () { $('end-form').hidden = true; });
    $('trace-form').addEventListener('submit', trace);
    if (token()) refresh();
    setInterval(refresh, 60000);
  }

  document.addEventListener('DOMContentLoaded', start);
}());
