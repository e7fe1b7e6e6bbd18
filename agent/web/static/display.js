// Customer display: shows the amount, the engine's prompts and the outcome
// of the payment in progress, live from /display/events.
import { openStream } from './sse.js';
import { t, chooseLang, formatAmount } from './i18n.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const holdMs = (Number(params.get('hold')) || 20) * 1000;

let lang = 'en';
let cfg = { merchant: '', lang: '', authorized: false, qr: false, qr_with_card: false };
let cur = null; // {id, amount, currency, kind, view, last4, qr, finalAt}
let idleTimer = 0;
let stream = null;

// What a state means for the customer.
const stateView = {
  created: 'processing',
  waiting_for_card: 'present_card',
  reading: 'reading',
  online: 'processing',
  approved: 'approved',
  approved_offline: 'approved',
  captured: 'approved',
  declined: 'declined',
  aborted: 'cancelled',
  voided: 'cancelled',
  failed: 'not_completed',
  reversed: 'not_completed',
  refunded: 'refunded',
};
const finalViews = new Set(['approved', 'declined', 'cancelled', 'not_completed', 'refunded']);
const tones = { approved: 'ok', refunded: 'ok', declined: 'bad', not_completed: 'bad', cancelled: 'neutral' };
const icons = {
  welcome: 'i-welcome', present_card: 'i-card', present_card_again: 'i-card', remove_card: 'i-remove',
  reading: 'i-wait', processing: 'i-wait', approved: 'i-ok', refunded: 'i-ok', declined: 'i-bad',
  not_completed: 'i-bad', cancelled: 'i-stop', try_another_interface: 'i-other', see_phone: 'i-phone',
  scan_qr: 'i-qr', show_qr: 'i-qr', qr_shown: 'i-qr', scan_code: 'i-qr',
};
const qrViews = new Set(['scan_qr', 'show_qr', 'qr_shown']);

function render() {
  const view = cur ? cur.view : 'welcome';
  document.body.dataset.view = view;
  document.body.dataset.tone = tones[view] || 'info';
  document.body.dataset.payment = cur ? cur.id : '';
  // Every view change as a DOM event, for a kiosk shell (sounds, lights)
  // and for tests: several events in one network chunk render in one task.
  document.dispatchEvent(new CustomEvent('posagent-display', { detail: { view, payment: cur ? cur.id : '' } }));
  $('amount').textContent = cur ? formatAmount(lang, cur.amount, cur.currency) : '';
  $('amount-label').textContent = cur && cur.currency ? t(lang, cur.kind === 'refund' ? 'refund' : 'amount') + ': ' : '';
  const key = qrViews.has(view) ? 'scan_qr' : view;
  $('prompt-text').textContent = t(lang, key);
  $('icon').querySelector('use').setAttribute('href', '#' + (icons[view] || 'i-wait'));
  const cardWait = view === 'present_card' || view === 'present_card_again';
  let detail = '';
  if (cur && cur.last4 && finalViews.has(view)) detail = t(lang, 'card_ending', { last4: cur.last4 });
  else if (cur && cur.scanCode && cardWait) detail = t(lang, 'or_show_code'); // a scanner is armed too
  $('detail').textContent = detail;
  const showQR = !!(cur && cfg.qr && !finalViews.has(view) && (cur.qr || (cfg.qr_with_card && cardWait)) && cur.qrFailed !== cur.id);
  document.body.dataset.qr = showQR ? '1' : '';
  const box = $('qr-box');
  if (showQR) {
    const src = '/display/qr/' + encodeURIComponent(cur.id) + '.png';
    const img = $('qr');
    if (img.dataset.src !== src) {
      img.dataset.src = src;
      img.onerror = () => {
        // No code for this payment (404, or 410 once it is final).
        if (cur && img.dataset.src === src) {
          cur.qrFailed = cur.id;
          render();
        }
      };
      img.src = src;
    }
    img.alt = t(lang, 'scan_qr');
    // Beside "present card" the code needs its own words; alone, the prompt says it.
    $('qr-caption').textContent = cur.qr ? '' : t(lang, 'or_scan');
    box.hidden = false;
  } else {
    box.hidden = true;
  }
}

function scheduleIdle() {
  clearTimeout(idleTimer);
  if (!cur || !finalViews.has(cur.view)) return;
  const left = cur.finalAt + holdMs - Date.now();
  if (left <= 0) {
    cur = null;
    render();
    return;
  }
  idleTimer = setTimeout(() => {
    cur = null;
    render();
  }, left);
}

function onEvent(msg) {
  const e = msg.json;
  if (!e) return;
  if (!e || !e.payment) return;
  if (!cur || cur.id !== e.payment) {
    // A different payment: take it if it is new or still running.
    cur = { id: e.payment, amount: 0, currency: '', kind: '', view: 'processing', last4: '', qr: false, finalAt: 0, finalState: false, stateAt: 0 };
  }
  if (e.amount) cur.amount = e.amount;
  if (e.currency) cur.currency = e.currency;
  if (e.kind) cur.kind = e.kind;
  if (e.last4) cur.last4 = e.last4;
  if (e.qr) cur.qr = true;
  if (e.type === 'prompt' && e.prompt === 'scan_code') cur.scanCode = true;
  // A replayed state older than what the display knows changes nothing.
  const at = Date.parse(e.at);
  if (e.type === 'state' && Number.isFinite(at)) {
    if (cur.stateAt && at < cur.stateAt) return;
    cur.stateAt = at;
  }
  let view = cur.view;
  // Once the payment's state is final its word stays (a later "remove
  // card" or "declined" prompt says less than "approved" or "reversed").
  if (e.type === 'prompt' && e.prompt && !cur.finalState) view = e.prompt;
  else if (e.type === 'state' && stateView[e.state]) {
    // A prompt said more than the state it came with (present card again,
    // see phone): keep it until the state moves on.
    const sv = stateView[e.state];
    if (finalViews.has(sv) || !(e.state === 'waiting_for_card' && view.startsWith('present_card'))) view = sv;
  }
  if (e.type === 'state' && finalViews.has(view)) cur.finalState = true;
  if (view === 'approved_offline') view = 'approved';
  cur.view = view;
  if (finalViews.has(view)) {
    cur.finalAt = Number.isFinite(at) ? Math.min(at, Date.now()) : Date.now();
  }
  render();
  scheduleIdle();
}

function setConn(state) {
  const c = $('conn');
  document.body.dataset.conn = state;
  if (state === 'open') {
    c.hidden = true;
    c.textContent = '';
  } else if (state === 'reconnecting' || state === 'error') {
    c.hidden = false;
    c.textContent = t(lang, 'reconnecting');
  }
}

function showPairing(on) {
  $('pay').hidden = on;
  $('pair').hidden = !on;
  document.body.dataset.view = on ? 'pair' : document.body.dataset.view;
}

function startStream() {
  if (stream) stream.close();
  showPairing(false);
  render();
  // On every (re)connect, ask for the current state of the payment shown.
  const url = () => '/display/events' + (cur && !cur.finalState ? '?payment=' + encodeURIComponent(cur.id) : '');
  stream = openStream(url, {
    onEvent,
    onStatus(s) {
      if (s === 'unauthorized') {
        showPairing(true);
        return false;
      }
      setConn(s);
      return true;
    },
  });
}

async function loadConfig() {
  for (let delay = 500; ; delay = Math.min(delay * 2, 4000)) {
    try {
      const res = await fetch('/display/config', { cache: 'no-store' });
      if (res.ok) return await res.json();
    } catch (e) {
      /* daemon not up yet */
    }
    setConn('reconnecting');
    await new Promise((r) => setTimeout(r, delay));
  }
}

function applyTexts() {
  document.documentElement.lang = lang;
  document.title = (cfg.merchant ? cfg.merchant + ' · ' : '') + t(lang, 'welcome');
  $('title').textContent = cfg.merchant || t(lang, 'welcome');
  $('merchant').textContent = cfg.merchant || '';
  $('pair-title').textContent = t(lang, 'pair_title');
  $('pair-help').textContent = t(lang, 'pair_help');
  $('pair-label').textContent = t(lang, 'pair_label');
  $('pair-button').textContent = t(lang, 'pair_button');
}

async function pair(ev) {
  ev.preventDefault();
  $('pair-error').textContent = '';
  const code = $('pair-code').value;
  try {
    const res = await fetch('/display/pair', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    if (!res.ok) throw new Error(String(res.status));
    $('pair-code').value = '';
    startStream();
  } catch (e) {
    $('pair-error').textContent = t(lang, 'pair_bad');
  }
}

async function main() {
  cfg = await loadConfig();
  lang = chooseLang(params.get('lang'), cfg.lang, navigator.languages || [navigator.language]);
  applyTexts();
  $('pair-form').addEventListener('submit', pair);
  if (!cfg.authorized) {
    showPairing(true);
    return;
  }
  startStream();
}

main();
