// The sink's web page (GET / with --http): one HTML file, one style sheet, one script, all held
// here as strings so they ship inside the bundle and the library with nothing to copy or find
// at run time. No framework, nothing loaded from elsewhere, no inline script or style (the
// page's own Content-Security-Policy forbids both). The script builds every node with
// textContent: nothing a message holds is ever parsed as markup in the page's origin; a
// message's HTML part is only shown inside a sandboxed iframe served with its own CSP
// (/api/v1/messages/{id}/html). The script avoids template literals so it can sit in one.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>smtpkit sink</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
<h1>smtpkit sink</h1>
<span id="status" role="status">connecting…</span>
<input id="filter" type="search" placeholder="Filter: to, from or subject" aria-label="Filter messages">
<button id="delete-all" type="button">Delete all</button>
</header>
<main>
<section id="list-pane" aria-label="Messages">
<p id="count"></p>
<ul id="messages"></ul>
<p id="empty">No messages yet. Send one to the sink's SMTP port; it shows up here at once.</p>
</section>
<section id="view-pane" aria-label="Message" hidden>
<h2 id="subject"></h2>
<dl id="summary"></dl>
<nav id="tabs">
<button type="button" data-tab="text">Text</button>
<button type="button" data-tab="html">HTML</button>
<button type="button" data-tab="headers">Headers</button>
<button type="button" data-tab="raw">Raw source</button>
<button type="button" data-tab="attachments">Attachments</button>
</nav>
<div class="tab" id="tab-text"><pre id="text"></pre></div>
<div class="tab" id="tab-html">
<p id="remote-note" hidden><span id="remote-count"></span> <button id="show-images" type="button">Show remote images</button></p>
<iframe id="html" sandbox="" referrerpolicy="no-referrer" title="The message's HTML part (sandboxed: no scripts, no remote loads)"></iframe>
</div>
<div class="tab" id="tab-headers"><table id="headers"><tbody></tbody></table></div>
<div class="tab" id="tab-raw"><p><a id="raw-link" download>Download as .eml</a></p><pre id="raw"></pre></div>
<div class="tab" id="tab-attachments"><ul id="attachments"></ul></div>
</section>
<aside id="session-pane" aria-label="SMTP session" hidden>
<h2>SMTP session <span id="session-id"></span></h2>
<ol id="session"></ol>
</aside>
</main>
</body>
</html>
`;

export const PAGE_CSS = `* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1d1d1f; background: #f5f5f7; }
header { display: flex; gap: 1em; align-items: center; padding: 0.5em 1em; background: #1d3557; color: #fff; }
header h1 { font-size: 1.1em; margin: 0; }
#status { font-size: 0.85em; opacity: 0.85; }
#filter { margin-left: auto; padding: 0.3em 0.5em; min-width: 16em; }
main { display: grid; grid-template-columns: minmax(16em, 1fr) 2fr minmax(16em, 1.2fr); gap: 0; height: calc(100vh - 2.6em); }
section, aside { overflow: auto; padding: 0.5em 1em; border-right: 1px solid #ddd; }
#messages { list-style: none; margin: 0; padding: 0; }
#messages li { padding: 0.4em 0.5em; border-bottom: 1px solid #e3e3e3; cursor: pointer; }
#messages li:hover { background: #e8eef6; }
#messages li.selected { background: #d0def0; }
#messages .subject { font-weight: 600; display: block; overflow-wrap: anywhere; }
#messages .meta { font-size: 0.8em; color: #555; display: block; overflow-wrap: anywhere; }
#count { font-size: 0.8em; color: #555; margin: 0 0 0.3em; }
#empty { color: #666; }
#summary { display: grid; grid-template-columns: max-content 1fr; gap: 0.1em 0.8em; }
#summary dt { font-weight: 600; }
#summary dd { margin: 0; overflow-wrap: anywhere; }
#tabs { margin: 0.8em 0 0.4em; display: flex; gap: 0.3em; flex-wrap: wrap; }
#tabs button { padding: 0.3em 0.7em; border: 1px solid #bbb; background: #fff; cursor: pointer; }
#tabs button.active { background: #1d3557; color: #fff; }
.tab { display: none; }
.tab.active { display: block; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #fff; padding: 0.5em; border: 1px solid #ddd; }
iframe { width: 100%; height: 60vh; border: 1px solid #ddd; background: #fff; }
#headers td { vertical-align: top; padding: 0.1em 0.5em; overflow-wrap: anywhere; }
#headers td:first-child { font-weight: 600; white-space: nowrap; }
#remote-note { background: #fff3cd; padding: 0.3em 0.5em; }
#session { list-style: none; padding: 0; margin: 0; font-family: ui-monospace, monospace; font-size: 0.85em; }
#session li { padding: 0.2em 0; border-bottom: 1px dotted #ddd; overflow-wrap: anywhere; white-space: pre-wrap; }
#session .client { color: #0b5394; }
#session .server { color: #38761d; }
#session .server.fail { color: #b00020; }
#session .note { color: #7f6000; }
#session .explain { display: block; font-family: system-ui, sans-serif; color: #555; padding-left: 1.5em; }
`;

export const PAGE_JS = String.raw`'use strict';
(function () {
  // --http-token: open the page as /#token=THE-TOKEN; it is sent as a Bearer header, never in a URL.
  var tokenMatch = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  var token = tokenMatch ? decodeURIComponent(tokenMatch[1]) : '';
  // Kept in memory only: out of the address bar, the history and any address copied or shown.
  if (tokenMatch) history.replaceState(null, '', location.pathname + location.search);
  var $ = function (id) { return document.getElementById(id); };
  var messages = [];
  var selected = null;
  var showRemote = false;

  /**
   * A browser opens at most 6 HTTP/1.1 connections to one host for all its tabs, and each open
   * page holds one for its live list. A request of ours with no answer after SLOW_MS while our
   * stream is open means they are all taken (other tabs): the stream gives its connection back
   * and the list is read every POLL_MS instead, until the stream is tried again.
   */
  var SLOW_MS = 2000, POLL_MS = 5000, RETRY_STREAM_MS = 30000;
  var stream = null;
  var pollTimer = null;
  var retryTimer = null;

  function api(path, init, isStream) {
    init = init || {};
    init.headers = init.headers || {};
    if (token) init.headers.authorization = 'Bearer ' + token;
    var slow = isStream ? null : setTimeout(function () { if (stream) pauseLive(); }, SLOW_MS);
    return fetch(path, init).finally(function () { clearTimeout(slow); });
  }

  /** An element with text (never markup) and attributes. */
  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (attrs) for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function setStatus(text) { $('status').textContent = text; }

  function size(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }

  function matchesFilter(m) {
    var f = $('filter').value.trim().toLowerCase();
    if (!f) return true;
    var hay = [m.subject, m.from, m.to, m.cc, m.envelope.mailFrom].concat(m.envelope.rcptTo).join('\n').toLowerCase();
    return hay.indexOf(f) >= 0;
  }

  var when = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

  /** One message's entry in the list. */
  function item(m) {
    var li = el('li', null, { 'data-id': m.id, tabindex: '0' });
    if (selected === m.id) li.className = 'selected';
    li.appendChild(el('span', m.subject === null ? '(no subject)' : m.subject, { class: 'subject' }));
    li.appendChild(el('span', 'From ' + (m.from || m.envelope.mailFrom || '<>'), { class: 'meta' }));
    li.appendChild(el('span', 'To ' + (m.to || m.envelope.rcptTo.join(', ')), { class: 'meta' }));
    li.appendChild(el('span', when.format(new Date(m.receivedAt)) + ' \u00b7 ' + size(m.size) + (m.tls ? ' \u00b7 TLS' : '') + (m.auth ? ' \u00b7 AUTH' : ''), { class: 'meta' }));
    li.addEventListener('click', function () { select(m.id); });
    li.addEventListener('keydown', function (e) { if (e.key === 'Enter') select(m.id); });
    return li;
  }

  function renderList() {
    var ul = $('messages');
    clear(ul);
    var all = document.createDocumentFragment();
    messages.forEach(function (m) { if (matchesFilter(m)) all.appendChild(item(m)); });
    ul.appendChild(all);
    renderCount();
  }

  function renderCount() {
    $('empty').hidden = messages.length > 0;
    $('count').textContent = messages.length ? $('messages').children.length + ' of ' + messages.length + ' message(s)' : '';
  }

  function markSelected() {
    Array.prototype.forEach.call($('messages').children, function (li) {
      li.classList.toggle('selected', li.getAttribute('data-id') === selected);
    });
  }

  function showTab(name) {
    Array.prototype.forEach.call(document.querySelectorAll('#tabs button'), function (b) {
      b.classList.toggle('active', b.getAttribute('data-tab') === name);
    });
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (t) {
      t.classList.toggle('active', t.id === 'tab-' + name);
    });
  }

  function withKey(path, key) { return key ? path + (path.indexOf('?') >= 0 ? '&' : '?') + 'key=' + encodeURIComponent(key) : path; }

  function select(id) {
    selected = id;
    showRemote = false;
    markSelected();
    var base = '/api/v1/messages/' + encodeURIComponent(id);
    // Three answers in any order: each fills its own part, and only for the message still selected.
    $('raw').textContent = '';
    api(base).then(function (r) { return r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status)); }).then(function (m) {
      if (selected !== id) return;
      renderMessage(m, base);
    }).catch(function (e) { setStatus('could not read message ' + id + ': ' + e.message); });
    api(base + '/session').then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
      if (selected === id && s) renderSession(s);
    }).catch(function () {});
    api(base + '/raw').then(function (r) { return r.ok ? r.text() : ''; }).then(function (t) {
      if (selected === id) $('raw').textContent = t;
    }).catch(function () {});
  }

  function renderMessage(m, base) {
    $('view-pane').hidden = false;
    $('subject').textContent = m.subject === null ? '(no subject)' : m.subject;
    var dl = $('summary');
    clear(dl);
    [['From', m.from], ['To', m.to], ['Cc', m.cc], ['Date', m.date], ['Message-ID', m.messageId],
      ['MAIL FROM', '<' + m.envelope.mailFrom + '>'], ['RCPT TO', m.envelope.rcptTo.map(function (a) { return '<' + a + '>'; }).join(', ')],
      ['Received', new Date(m.receivedAt).toLocaleString() + ' (' + size(m.size) + (m.tls ? ', over TLS' : '') + (m.user ? ', AUTH as ' + m.user : '') + ')'],
      ['Queue id', m.id]].forEach(function (p) {
      if (p[1] === null || p[1] === undefined) return;
      dl.appendChild(el('dt', p[0]));
      dl.appendChild(el('dd', p[1]));
    });
    if (m.lineEndings && (m.lineEndings.bareLf || m.lineEndings.bareCr)) {
      dl.appendChild(el('dt', 'Line ends'));
      dl.appendChild(el('dd', m.lineEndings.bareLf + ' bare LF, ' + m.lineEndings.bareCr + ' bare CR' + (m.lineEndings.normalized ? ' (saved as CRLF)' : '')));
    }
    // One line per DKIM signature, once the sink has checked them (after the 250).
    (m.dkim || []).forEach(function (d) {
      dl.appendChild(el('dt', 'DKIM'));
      dl.appendChild(el('dd', d.result + ': d=' + d.domain + ' s=' + d.selector + ' (' + d.reason + ': ' + d.explanation + ')'));
    });
    $('text').textContent = m.text === null ? '(no text part)' : m.text;
    var tbody = $('headers').tBodies[0];
    clear(tbody);
    m.headers.forEach(function (h) {
      var tr = el('tr');
      tr.appendChild(el('td', h.name));
      tr.appendChild(el('td', h.value));
      tbody.appendChild(tr);
    });
    $('raw-link').setAttribute('href', withKey(base + '/raw', m.key));
    $('raw-link').setAttribute('download', m.id + '.eml');
    var ul = $('attachments');
    clear(ul);
    if (!m.attachments.length) ul.appendChild(el('li', 'No attachments.'));
    m.attachments.forEach(function (a) {
      var li = el('li');
      var link = el('a', a.name || 'attachment-' + a.index, { href: withKey(base + '/attachments/' + a.index, m.key), download: a.name || 'attachment-' + a.index });
      li.appendChild(link);
      li.appendChild(document.createTextNode(' ' + a.type + ', ' + size(a.size) + (a.disposition === 'inline' ? ', inline' : '')));
      ul.appendChild(li);
    });
    var frame = $('html');
    var note = $('remote-note');
    if (m.html === null) {
      frame.hidden = true;
      frame.removeAttribute('src');
      note.hidden = true;
    } else {
      frame.hidden = false;
      var htmlPath = base + '/html' + (showRemote ? '?images=1' : '');
      frame.setAttribute('src', withKey(htmlPath, m.key));
      note.hidden = !m.remoteImages || showRemote;
      $('remote-count').textContent = m.remoteImages + ' remote image(s) blocked.';
      $('show-images').onclick = function () { showRemote = true; note.hidden = true; frame.setAttribute('src', withKey(base + '/html?images=1', m.key)); };
    }
    showTab(m.html !== null ? 'html' : 'text');
  }

  function renderSession(s) {
    $('session-pane').hidden = false;
    $('session-id').textContent = s.session ? '#' + s.session : '';
    var ol = $('session');
    clear(ol);
    if (!s.events.length) ol.appendChild(el('li', 'Not kept (read back from --save after a restart).', { class: 'note' }));
    s.events.forEach(function (e) {
      var li;
      if (e.type === 'sent') li = el('li', 'C: ' + e.line, { class: 'client' });
      else if (e.type === 'reply') {
        li = el('li', null, { class: 'server' + (e.reply.code >= 400 ? ' fail' : '') });
        li.appendChild(el('span', e.reply.lines.map(function (l, i) { return 'S: ' + e.reply.code + (i < e.reply.lines.length - 1 ? '-' : ' ') + l; }).join('\n')));
        var x = e.explanation;
        if (x) {
          var text = x.summary + (x.enhanced && x.enhanced.text ? ' ' + x.enhanced.text : '') + (x.hint ? ' ' + x.hint : '');
          li.appendChild(el('span', text, { class: 'explain' }));
        }
      } else if (e.message) li = el('li', '* ' + e.message, { class: 'note' });
      else return;
      ol.appendChild(li);
    });
    if (s.omitted) ol.appendChild(el('li', '(' + s.omitted + ' event(s) left out in the middle)', { class: 'note' }));
  }

  /** Events that come while the list loads, applied again on top of it (the list may predate them). */
  var queued = null;

  function load() {
    queued = [];
    return api('/api/v1/messages?limit=1000').then(function (r) {
      if (r.status === 401) throw new Error('this sink wants its --http-token: open the page as /#token=THE-TOKEN');
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (body) {
      messages = body.messages;
      var replay = queued;
      queued = null;
      replay.forEach(function (e) { onEvent(e[0], e[1]); });
      renderList();
    }, function (e) {
      queued = null;
      throw e;
    });
  }

  function clearTimers() {
    clearInterval(pollTimer);
    clearTimeout(retryTimer);
    pollTimer = retryTimer = null;
  }

  function closeStream() {
    var s = stream;
    stream = null;
    if (s) s.abort();
  }

  /** The stream closed to free a connection; the list is still read, every POLL_MS. */
  function pauseLive() {
    closeStream();
    setStatus('live updates paused: the browser\'s connections to the sink are all in use (other tabs of this page?); the list is read every ' + POLL_MS / 1000 + ' s');
    if (pollTimer) return;
    pollTimer = setInterval(function () { load().catch(function () {}); }, POLL_MS);
    retryTimer = setTimeout(function () { clearTimers(); listen(); }, RETRY_STREAM_MS);
  }

  // Only a visible tab holds a stream: hidden ones give their connection back.
  document.addEventListener('visibilitychange', function () {
    clearTimers();
    if (document.hidden) {
      closeStream();
      setStatus('live updates paused while this tab is hidden');
    } else listen();
  });

  /** Server-sent events read over fetch, so the Bearer token can go in a header. */
  function listen() {
    if (stream || document.hidden) return;
    var ctl = new AbortController();
    stream = ctl;
    setStatus('waiting for a connection to the sink\u2026');
    api('/api/v1/events', { headers: { accept: 'text/event-stream' }, signal: ctl.signal }, true).then(function (r) {
      if (r.status === 401) throw new Error('this sink wants its --http-token: open the page as /#token=THE-TOKEN');
      if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
      // The stream is open first, then the list is read: nothing stored in between is missed.
      load().then(function () { if (stream === ctl) setStatus('live'); }, function (e) { if (stream === ctl) setStatus(e.message); });
      var reader = r.body.getReader();
      var decoder = new TextDecoder();
      var buffer = '';
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) throw new Error('the sink closed the event stream');
          buffer += decoder.decode(chunk.value, { stream: true });
          var end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            var block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            var type = 'message';
            var data = '';
            block.split('\n').forEach(function (line) {
              if (line.indexOf('event: ') === 0) type = line.slice(7);
              else if (line.indexOf('data: ') === 0) data += line.slice(6);
            });
            if (data) onEvent(type, JSON.parse(data));
          }
          return pump();
        });
      }
      return pump();
    }).catch(function (e) {
      // Closed on purpose (a hidden tab, a paused stream): nothing to retry.
      if (stream !== ctl) return;
      stream = null;
      setStatus('disconnected (' + e.message + '); retrying\u2026');
      retryTimer = setTimeout(listen, 2000);
    });
  }

  function onEvent(type, data) {
    if (queued) queued.push([type, data]);
    if (type === 'message') {
      var known = messages.some(function (m) { return m.id === data.id; });
      messages = messages.filter(function (m) { return m.id !== data.id; });
      messages.unshift(data);
      // The usual case, one new message, is one new entry; the list being loaded is drawn once loaded.
      if (queued) return;
      if (known) return renderList();
      if (matchesFilter(data)) $('messages').insertBefore(item(data), $('messages').firstChild);
      renderCount();
    } else if (type === 'deleted') {
      messages = messages.filter(function (m) { return data.ids.indexOf(m.id) < 0; });
      if (selected !== null && data.ids.indexOf(selected) >= 0) {
        selected = null;
        $('view-pane').hidden = true;
        $('session-pane').hidden = true;
      }
      if (queued) return;
      Array.prototype.slice.call($('messages').children).forEach(function (li) {
        if (data.ids.indexOf(li.getAttribute('data-id')) >= 0) li.remove();
      });
      renderCount();
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll('#tabs button'), function (b) {
    b.addEventListener('click', function () { showTab(b.getAttribute('data-tab')); });
  });
  $('filter').addEventListener('input', renderList);
  $('delete-all').addEventListener('click', function () {
    if (!confirm('Delete every message the sink holds?')) return;
    api('/api/v1/messages', { method: 'DELETE' }).catch(function (e) { setStatus('delete failed: ' + e.message); });
  });
  listen();
})();
`;
