// Integrator console: the local API seen by a person. Every call carries
// the bearer token pasted into the page (kept in sessionStorage only).
import { openStream } from './sse.js';
import { formatAmount, parseAmount } from './i18n.js';

const $ = (id) => document.getElementById(id);
const lang = 'en';
const tokenKey = 'posagent.token';
let token = sessionStorage.getItem(tokenKey) || '';
let stream = null;
const payments = new Map(); // id -> Payment
const eventsBy = new Map(); // id -> [Event]
let selected = '';
let listRoute = true; // GET /console/payments answers

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

// kv renders any JSON value as nested definition lists.
function kv(v) {
  if (v === null || v === undefined) return el('span', { class: 'muted' }, '–');
  if (Array.isArray(v)) {
    if (!v.length) return el('span', { class: 'muted' }, 'none');
    return el('ol', {}, v.map((x) => el('li', {}, kv(x))));
  }
  if (typeof v === 'object') {
    const dl = el('dl', { class: 'kv' });
    for (const [k, x] of Object.entries(v)) dl.append(el('dt', {}, k), el('dd', {}, kv(x)));
    return dl;
  }
  return document.createTextNode(String(v));
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    return { ok: false, status: 0, data: { code: 'unreachable', message: 'the daemon does not answer' } };
  }
  let data = null;
  const text = await res.text();
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = text;
  }
  if (res.status === 401) setConn('error', 'token refused (401)');
  return { ok: res.ok, status: res.status, data };
}

function errText(r) {
  const d = r.data || {};
  return 'HTTP ' + r.status + (d.code ? ' ' + d.code : '') + (d.message ? ': ' + d.message : '');
}

function setConn(state, text) {
  const c = $('conn');
  c.dataset.state = state;
  c.textContent = text;
}

function money(minor, cur) {
  return cur ? formatAmount(lang, minor, cur) : String(minor);
}

// --- status, queue, totals ------------------------------------------------

let lastStatus = null;

// renderStatus shows GET /v1/status: readers, uplink (in words, not only
// colour) and the queue summary; an unknown shape as plain fields.
function renderStatus(d) {
  if (!d || !Array.isArray(d.readers) || !d.uplink) return [kv(d)];
  const rows = d.readers.map((x) => el('tr', {}, el('td', {}, x.name || ''), el('td', {}, x.kind || ''), el('td', {}, x.busy ? 'busy: ' + x.busy : 'idle')));
  const readers = d.readers.length
    ? el('table', { id: 'readers' }, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Input'), el('th', { scope: 'col' }, 'Kind'), el('th', { scope: 'col' }, 'Payment'))), el('tbody', {}, rows))
    : el('p', { class: 'muted' }, 'No readers or scanners enabled.');
  const u = d.uplink;
  const word = !u.configured ? 'not configured' : u.up ? 'up' : 'down';
  const uplink = el('p', { id: 'uplink', 'data-state': word }, el('span', { class: u.up ? 'state-approved' : u.configured ? 'state-declined' : '' }, 'Acquirer ' + word), u.addr ? ' (' + u.addr + ')' : '');
  return [el('h3', {}, 'Inputs'), readers, el('h3', {}, 'Uplink'), uplink, el('h3', {}, 'Queue'), kv(d.queue || {})];
}

async function refreshStatus() {
  const r = await api('GET', '/v1/status');
  if (r.ok) lastStatus = r.data;
  $('status').replaceChildren(...(r.ok ? renderStatus(r.data) : [el('p', { class: 'error' }, errText(r))]));
}

function oldestOf(entries) {
  let oldest = '';
  for (const e of entries) {
    const at = e.created || e.queued || e.at || e.enqueued || '';
    if (at && (!oldest || at < oldest)) oldest = at;
  }
  return oldest;
}

async function refreshQueue() {
  const r = await api('GET', '/v1/queue');
  if (!r.ok) {
    $('queue-list').replaceChildren(el('p', { class: 'error' }, errText(r)));
    return;
  }
  const d = r.data;
  const entries = Array.isArray(d) ? d : (d && (d.entries || d.items)) || [];
  const depth = d && !Array.isArray(d) && typeof d.depth === 'number' ? d.depth : entries.length;
  const oldest = oldestOf(entries) || (lastStatus && lastStatus.queue && lastStatus.queue.oldest_pending) || '';
  $('queue-depth').textContent = String(depth);
  $('queue-oldest').textContent = oldest ? new Date(oldest).toLocaleString() : '–';
  $('queue-list').replaceChildren(entries.length ? kv(entries) : el('p', { class: 'muted' }, 'empty'));
}

function midnight() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}

// renderTotals shows GET /v1/totals as a table with amounts formatted per
// currency; an unknown shape as plain fields.
function renderTotals(d) {
  if (!d || !Array.isArray(d.rows)) return [kv(d)];
  const head = el('tr', {}, ['State', 'Kind', 'Scheme', 'Count', 'Amount'].map((h) => el('th', { scope: 'col' }, h)));
  const rows = d.rows.map((r) => el('tr', {}, el('td', { class: 'state-' + r.state }, r.state), el('td', {}, r.kind || ''), el('td', {}, r.scheme || ''), el('td', {}, String(r.count)), el('td', {}, money(r.amount, r.currency))));
  const net = Object.entries(d.net || {}).map(([c, a]) => money(a, c)).join(' · ') || '–';
  return [
    d.rows.length ? el('table', { id: 'totals-table' }, el('thead', {}, head), el('tbody', {}, rows)) : el('p', { class: 'muted' }, 'No payments since midnight.'),
    el('p', {}, 'Net: ', el('strong', { id: 'totals-net' }, net)),
  ];
}

async function refreshTotals() {
  const r = await api('GET', '/v1/totals?since=' + encodeURIComponent(midnight()));
  $('totals').replaceChildren(...(r.ok ? renderTotals(r.data) : [el('p', { class: 'error' }, errText(r))]));
}

// --- payments ------------------------------------------------------------

async function refreshPayments() {
  if (listRoute) {
    const r = await api('GET', '/console/payments?since=' + encodeURIComponent(midnight()) + '&limit=100');
    const list = r.ok && (Array.isArray(r.data) ? r.data : r.data && r.data.payments);
    if (Array.isArray(list)) {
      for (const p of list) payments.set(p.id, p);
    } else {
      listRoute = false; // build the list from the event stream instead
    }
  }
  renderPayments();
}

async function refreshPayment(id) {
  const r = await api('GET', '/v1/payments/' + encodeURIComponent(id));
  if (r.ok && r.data && r.data.id) {
    payments.set(r.data.id, r.data);
    renderPayments();
    if (selected === id) renderDetail();
  }
}

function renderPayments() {
  const rows = [...payments.values()].sort((a, b) => String(b.created || '').localeCompare(String(a.created || '')));
  const tb = $('payments').querySelector('tbody');
  tb.replaceChildren(
    ...rows.map((p) =>
      el(
        'tr',
        { 'data-id': p.id, 'aria-selected': String(p.id === selected) },
        el('td', {}, el('button', { type: 'button', class: 'link', onclick: () => select(p.id) }, p.id)),
        el('td', {}, p.kind || ''),
        el('td', { class: 'state-' + p.state, 'data-state': p.state }, p.state || ''),
        el('td', {}, money(p.amount, p.currency)),
        el('td', {}, p.masked_pan ? (p.scheme ? p.scheme + ' ' : '') + p.masked_pan : ''),
        el('td', {}, p.updated ? new Date(p.updated).toLocaleTimeString() : '')
      )
    )
  );
}

function select(id) {
  selected = id;
  $('op-payment').value = id;
  renderPayments();
  renderDetail();
  refreshPayment(id);
}

function renderDetail() {
  const p = payments.get(selected);
  const box = $('detail');
  if (!p) {
    box.replaceChildren(el('p', { class: 'muted' }, 'Select a payment.'));
    return;
  }
  const facts = {};
  for (const [k, v] of Object.entries(p)) if (k !== 'receipt' && k !== 'history') facts[k] = v;
  const receipt = p.receipt
    ? el('div', {}, el('h3', {}, 'Receipt'),
        el('figure', { class: 'receipt' }, el('figcaption', {}, 'Customer copy'), el('pre', {}, (p.receipt.customer || []).join('\n'))),
        el('figure', { class: 'receipt' }, el('figcaption', {}, 'Merchant copy'), el('pre', {}, (p.receipt.merchant || []).join('\n'))))
    : el('p', { class: 'muted' }, 'No receipt (not final).');
  const steps = (p.history || []).map((s) => ({ at: s.at, what: 'state ' + s.state + (s.note ? ' (' + s.note + ')' : '') }));
  const hasHistory = steps.length > 0; // states from the record, prompts from the stream
  for (const e of eventsBy.get(p.id) || []) if (!(e.type === 'state' && hasHistory)) steps.push({ at: e.at, what: e.type + ' ' + (e.prompt || e.state || '') + (e.message ? ': ' + e.message : '') });
  steps.sort((a, b) => String(a.at).localeCompare(String(b.at)));
  const timeline = el('ol', { class: 'timeline', id: 'timeline' }, steps.map((s) => el('li', {}, new Date(s.at).toLocaleTimeString() + ' ' + s.what)));
  box.replaceChildren(el('h3', {}, p.id + ' · ', el('span', { class: 'state-' + p.state }, p.state)), kv(facts), receipt, el('h3', {}, 'Timeline'), timeline);
}

// --- events ----------------------------------------------------------------

const pending = new Set();
let pendingTimer = 0;
function refreshSoon(id) {
  pending.add(id);
  clearTimeout(pendingTimer);
  pendingTimer = setTimeout(() => {
    for (const x of pending) refreshPayment(x);
    pending.clear();
  }, 150);
}

function onEvent(msg) {
  const e = msg.json;
  if (!e) return;
  const li = el('li', { 'data-type': e.type }, (e.at ? new Date(e.at).toLocaleTimeString() + ' ' : '') + '#' + (e.id || msg.id) + ' ' + msg.type + ' ' + JSON.stringify(e));
  const list = $('events');
  list.prepend(li);
  while (list.children.length > 300) list.lastChild.remove();
  if (e.payment) {
    const l = eventsBy.get(e.payment) || [];
    l.push(e);
    if (l.length > 100) l.shift();
    eventsBy.set(e.payment, l);
    if (!payments.has(e.payment)) payments.set(e.payment, { id: e.payment, state: e.state || '', amount: e.amount || 0, currency: e.currency || '' });
    if (e.type === 'state') refreshSoon(e.payment);
    const out = $('pay-result');
    if (e.type === 'state' && out.dataset.payment === e.payment) out.textContent = e.payment + ': ' + e.state;
    if (e.payment === selected) renderDetail();
  }
  if (e.type === 'queue' || (e.type === 'state' && e.state)) {
    refreshQueue();
    if (e.state && e.state !== 'created') refreshTotals();
  }
}

function connect() {
  if (stream) stream.close();
  if (!token) {
    setConn('closed', 'paste the API token');
    return;
  }
  setConn('reconnecting', 'connecting…');
  stream = openStream('/v1/events', {
    headers: () => ({ Authorization: 'Bearer ' + token }),
    onEvent,
    onStatus(s, code) {
      if (s === 'open') {
        setConn('open', 'live');
        refreshAll();
      } else if (s === 'unauthorized') {
        setConn('error', 'token refused (' + code + ')');
        return false;
      } else if (s === 'reconnecting' || s === 'error') setConn(s, 'reconnecting…');
      return true;
    },
  });
}

function refreshAll() {
  refreshStatus();
  refreshQueue();
  refreshTotals();
  refreshPayments();
}

// --- forms ---------------------------------------------------------------

function newID() {
  const r = new Uint8Array(6);
  crypto.getRandomValues(r);
  return 'console-' + Date.now().toString(36) + '-' + [...r].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function startPayment(ev) {
  ev.preventDefault();
  const currency = $('pay-currency').value.trim().toUpperCase();
  const amount = parseAmount($('pay-amount').value, currency);
  const out = $('pay-result');
  if (!Number.isFinite(amount) || amount <= 0) {
    out.textContent = 'Amount must be a positive number with at most the currency’s decimals.';
    return;
  }
  const body = { id: newID(), amount, currency, wait: false };
  const ref = $('pay-reference').value.trim();
  if (ref) body.reference = ref;
  if ($('pay-offline').value) body.offline = $('pay-offline').value;
  if ($('pay-capture').value !== 'auto') body.capture = $('pay-capture').value;
  if ($('pay-reader').value.trim()) body.reader = $('pay-reader').value.trim();
  out.textContent = 'starting ' + body.id + '…';
  const r = await api('POST', '/v1/payments', body);
  if (r.ok && r.data) {
    payments.set(body.id, r.data);
    out.dataset.payment = body.id;
    out.textContent = body.id + ': ' + (r.data.state || 'accepted');
    select(body.id);
  } else {
    out.textContent = body.id + ': ' + errText(r);
  }
}

async function operation(kind) {
  const id = $('op-payment').value.trim();
  const out = $('op-result');
  if (!id) {
    out.textContent = 'Payment id needed.';
    return;
  }
  const p = payments.get(id);
  const cur = (p && p.currency) || $('pay-currency').value.trim().toUpperCase();
  const amtText = $('op-amount').value.trim();
  const amount = amtText ? parseAmount(amtText, cur) : p ? p.amount : NaN;
  let r;
  if (kind === 'refund') {
    if (!Number.isFinite(amount) || amount <= 0) {
      out.textContent = 'Refund amount needed.';
      return;
    }
    r = await api('POST', '/v1/refunds', { id: newID(), payment_id: id, amount });
  } else if (kind === 'capture') {
    r = await api('POST', '/v1/payments/' + encodeURIComponent(id) + '/capture', Number.isFinite(amount) ? { amount } : {});
  } else {
    r = await api('POST', '/v1/payments/' + encodeURIComponent(id) + '/' + kind);
  }
  out.textContent = kind + ' ' + id + ': ' + (r.ok ? (r.data && r.data.id ? r.data.id + ' ' + r.data.state : 'done') : errText(r));
  if (r.ok && r.data && r.data.id) {
    payments.set(r.data.id, r.data);
    renderPayments();
  }
  refreshPayment(id);
}

async function forwardNow() {
  const out = $('queue-result');
  out.textContent = 'forwarding…';
  const r = await api('POST', '/v1/queue/forward');
  out.textContent = r.ok ? 'forwarded: ' + JSON.stringify(r.data) : errText(r);
  refreshQueue();
}

async function newPairingCode() {
  const r = await api('POST', '/display/codes');
  const out = $('pair-code');
  if (r.ok) {
    const c = r.data.code;
    out.textContent = c.slice(0, 4) + ' ' + c.slice(4);
    out.dataset.code = c;
    out.title = 'valid until ' + new Date(r.data.expires).toLocaleTimeString();
  } else out.textContent = errText(r);
}

function main() {
  $('token').value = token;
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem(tokenKey, token);
    connect();
  });
  $('token-forget').addEventListener('click', () => {
    token = '';
    $('token').value = '';
    sessionStorage.removeItem(tokenKey);
    connect();
  });
  $('pay-form').addEventListener('submit', startPayment);
  $('op-refund').addEventListener('click', () => operation('refund'));
  $('op-void').addEventListener('click', () => operation('void'));
  $('op-abort').addEventListener('click', () => operation('abort'));
  $('op-capture').addEventListener('click', () => operation('capture'));
  $('queue-forward').addEventListener('click', forwardNow);
  $('pair-new').addEventListener('click', newPairingCode);
  setInterval(() => token && refreshStatus(), 5000);
  connect();
}

main();
