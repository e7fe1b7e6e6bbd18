// End-to-end test of the customer display and the integrator console in
// headless Chromium (the system's /usr/bin/chromium, driven by
// playwright-core). It owns the daemon process: starts it, kills it with
// SIGKILL mid-payment and starts it again. The Go test (e2e_test.go)
// prepares the daemon and passes:
//
//   WEB_DAEMON     JSON {"argv": [...], "env": {...}} of the daemon to run
//   WEB_BASE       http://127.0.0.1:PORT the daemon serves
//   WEB_TOKEN or WEB_TOKEN_FILE   the local API's bearer token
//   WEB_ARTIFACTS  folder for screenshots and decoded codes
//   WEB_CURRENCY, WEB_AMOUNT, WEB_SLOW_AMOUNT   test amounts (decimal)
//   WEB_OPS        set: refunds and voids work (not on the fake daemon)
//   WEB_PRESENT    JSON {"path", "body"}: the call that taps the simulated card
//   WEB_QR_AMOUNT, WEB_QR_BODY  a merchant-presented QR payment (skipped when unset)
//   WEB_QR_PAYLOAD_PATH  GET PATH+id answers the payment's payload as text
//   WEB_ONLY=qr    only the pages' loading and the QR check
//
// It prints one line per check and "N passed, N failed" at the end.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const env = process.env;
const base = env.WEB_BASE;
const art = env.WEB_ARTIFACTS || path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts');
const currency = env.WEB_CURRENCY || 'EUR';
const amount = env.WEB_AMOUNT || '12.34';
const slowAmount = env.WEB_SLOW_AMOUNT || '';
const daemonSpec = JSON.parse(env.WEB_DAEMON || 'null');
const remoteBase = (base || '').replace('127.0.0.1', 'display.test');
fs.mkdirSync(art, { recursive: true });

let passed = 0;
let failed = 0;
const log = (...a) => console.log(...a);
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    log(`ok   ${name} (${Date.now() - t0} ms)`);
    return true;
  } catch (e) {
    failed++;
    log(`FAIL ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
    return false;
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
  // display.test is this machine under a name that is not loopback: the
  // daemon treats a browser asking for it as a remote display.
  '--host-resolver-rules=MAP display.test 127.0.0.1'];

// --- the daemon ---------------------------------------------------------
let daemon = null;
let daemonLog = null;
function startDaemon() {
  assert(daemonSpec && daemonSpec.argv, 'WEB_DAEMON not set');
  daemonLog = fs.openSync(path.join(art, 'daemon.log'), 'a');
  daemon = spawn(daemonSpec.argv[0], daemonSpec.argv.slice(1), {
    env: Object.assign({}, env, daemonSpec.env || {}),
    stdio: ['ignore', daemonLog, daemonLog],
    cwd: daemonSpec.cwd || process.cwd(),
  });
  daemon.exited = new Promise((r) => daemon.on('exit', (code, sig) => r({ code, sig })));
}
async function waitReady(ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(base + '/display/config');
      if (r.ok) return;
    } catch (e) {
      /* not up yet */
    }
    assert(Date.now() < end, 'daemon not ready after ' + ms + ' ms (see daemon.log)');
    await sleep(100);
  }
}
async function killDaemon() {
  if (!daemon) return;
  daemon.kill('SIGKILL');
  await daemon.exited;
  daemon = null;
}
function token() {
  if (env.WEB_TOKEN) return env.WEB_TOKEN;
  return fs.readFileSync(env.WEB_TOKEN_FILE, 'utf8').trim();
}
async function api(method, p, body) {
  const r = await fetch(base + p, {
    method,
    headers: Object.assign({ Authorization: 'Bearer ' + token() }, body ? { 'Content-Type': 'application/json' } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const buf = Buffer.from(await r.arrayBuffer());
  return { status: r.status, buf, json: () => JSON.parse(buf.toString()) };
}

// --- the browser --------------------------------------------------------
// Records every view the display renders (its posagent-display DOM events:
// view and payment) and counts page loads, so a reload cannot pass as
// recovery.
const recorder = () => {
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return;
  const n = Number(sessionStorage.getItem('__loads') || 0) + 1;
  sessionStorage.setItem('__loads', String(n));
  window.__views = [];
  document.addEventListener('posagent-display', (e) => {
    const v = e.detail.view + '|' + e.detail.payment;
    if (window.__views[window.__views.length - 1] !== v) window.__views.push(v);
  });
};

async function axeCheck(page, name) {
  await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  fs.writeFileSync(path.join(art, `axe-${name}.json`), JSON.stringify(res.violations, null, 2));
  const minor = res.violations.filter((v) => !bad.includes(v)).map((v) => v.id);
  if (minor.length) log(`     axe ${name}: minor/moderate: ${minor.join(', ')}`);
  assert(!bad.length, `axe ${name}: ` + bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`).join(' / '));
}

async function shot(page, name, size) {
  if (size) await page.setViewportSize(size);
  await sleep(150);
  const file = path.join(art, name + '.png');
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

const finalViews = ['approved', 'declined', 'cancelled', 'not_completed', 'refunded'];
async function waitView(page, id, views, ms = 30000) {
  try {
    await page.waitForFunction(
      ([id, views]) => window.__views.some((v) => views.includes(v.split('|')[0]) && v.endsWith('|' + id)),
      [id, views],
      { timeout: ms, polling: 50 }
    );
  } catch (e) {
    const seen = await page.evaluate(() => window.__views.join(' '));
    throw new Error(`display never showed ${views.join('/')} for ${id}; views: ${seen}`);
  }
}
const viewsOf = (page, id) => page.evaluate((id) => window.__views.filter((v) => v.endsWith('|' + id)).map((v) => v.split('|')[0]), id);

// present taps the simulated card when the daemon's reader waits for one.
async function present(card) {
  if (!env.WEB_PRESENT) return;
  const { path: p, body } = JSON.parse(env.WEB_PRESENT);
  const r = await api('POST', p, card ? Object.assign({}, body, { card }) : body);
  assert(r.status === 200, `POST ${p}: ${r.status} ${r.buf}`);
}

async function payFromConsole(console_, amt) {
  await console_.fill('#pay-amount', amt);
  await console_.fill('#pay-currency', currency);
  const before = await console_.$eval('#pay-result', (e) => e.dataset.payment || '');
  await console_.click('#pay-start');
  await console_.waitForFunction((before) => (document.querySelector('#pay-result').dataset.payment || '') !== before, before, { timeout: 15000 });
  return console_.$eval('#pay-result', (e) => e.dataset.payment);
}

async function main() {
  assert(base, 'WEB_BASE not set');
  startDaemon();
  await waitReady();
  // Playwright gives each launch a fresh --user-data-dir of its own (it
  // refuses one in args); every page below has its own context.
  const browser = await chromium.launch({ executablePath: env.CHROMIUM || '/usr/bin/chromium', headless: true, args: chromiumArgs });
  const errors = [];
  const offsite = [];
  async function newPage(opts = {}) {
    const ctx = await browser.newContext(Object.assign({ locale: 'en-US', viewport: { width: 1366, height: 900 } }, opts));
    await ctx.addInitScript(recorder);
    ctx.on('weberror', (e) => errors.push(String(e.error())));
    await ctx.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.origin !== new URL(base).origin && u.origin !== new URL(remoteBase).origin) {
        offsite.push(u.href);
        return route.abort();
      }
      return route.continue();
    });
    const page = await ctx.newPage();
    page.on('console', (m) => m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(m.text()) && errors.push(m.text()));
    return page;
  }

  const console_ = await newPage();
  const display = await newPage({ viewport: { width: 390, height: 844 } });
  let payID = '';

  await check('console loads and connects with the pasted token', async () => {
    await console_.goto(base + '/console');
    await console_.fill('#token', token());
    await console_.click('#token-form button[type=submit]');
    await console_.waitForFunction(() => document.querySelector('#conn').dataset.state === 'open', null, { timeout: 15000 });
    await console_.waitForSelector('#status #uplink', { timeout: 10000 });
    const up = await console_.$eval('#uplink', (e) => e.dataset.state);
    assert(up === 'up', 'uplink ' + up);
  });
  await check('display loads on loopback without a token and idles', async () => {
    await display.setViewportSize({ width: 390, height: 844 });
    await display.goto(base + '/display?lang=en');
    await display.waitForFunction(() => document.body.dataset.view === 'welcome', null, { timeout: 15000 });
    await shot(display, 'display-welcome-phone');
  });
  await check('axe: display (idle) has no serious violations', () => axeCheck(display, 'display-idle'));
  const runQR = async () => {
    if (env.WEB_QR_AMOUNT) {
      await check('merchant-presented QR: the code on the display decodes to the payment\'s payload', async () => {
        const extra = JSON.parse(env.WEB_QR_BODY || '{}');
        const body = Object.assign({ id: 'qr' + Date.now(), amount: Math.round(Number(env.WEB_QR_AMOUNT) * 100), currency, wait: false }, extra);
        const r = await api('POST', '/v1/payments', body);
        assert(r.status === 202 || r.status === 200, 'POST /v1/payments ' + r.status + ' ' + r.buf);
        await display.setViewportSize({ width: 390, height: 844 });
        await display.waitForFunction((id) => document.body.dataset.payment === id && document.body.dataset.qr === '1' && document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0, body.id, { timeout: 20000 });
        const side = await display.evaluate(() => document.getElementById('qr').getBoundingClientRect().width);
        assert(side >= 250, 'code only ' + side + ' px wide on a phone');
        const file = await shot(display, 'display-qr-phone');
        await shot(display, 'display-qr-desktop-24in', { width: 1920, height: 1080 });
        const fromScreen = execFileSync('zbarimg', ['--nodbus', '-q', '--raw', '-Sdisable', '-Sqrcode.enable', file]).toString().trim();
        const png = await api('GET', '/v1/payments/' + encodeURIComponent(body.id) + '/qr.png');
        assert(png.status === 200, 'qr.png ' + png.status);
        fs.writeFileSync(path.join(art, 'api-qr.png'), png.buf);
        const fromAPI = execFileSync('zbarimg', ['--nodbus', '-q', '--raw', '-Sdisable', '-Sqrcode.enable', path.join(art, 'api-qr.png')]).toString().trim();
        fs.writeFileSync(path.join(art, 'qr-decoded.txt'), fromScreen + '\n');
        assert(fromScreen === fromAPI, `screen ${fromScreen} != API code ${fromAPI}`);
        const p = (await api('GET', '/v1/payments/' + encodeURIComponent(body.id))).json();
        let payload = p.qr_payload || p.payload || (p.qr && p.qr.payload);
        if (env.WEB_QR_PAYLOAD_PATH) {
          const r = await api('GET', env.WEB_QR_PAYLOAD_PATH + encodeURIComponent(body.id));
          assert(r.status === 200, 'payload ' + r.status);
          payload = r.buf.toString();
        }
        assert(payload, 'no payload to compare the code with');
        assert(fromScreen === payload, `screen ${fromScreen} != payment payload ${payload}`);
        log(`     decoded: ${fromScreen}`);
        await axeCheck(display, 'display-qr');
        // Let the payment end: the customer taps the card after all.
        if (env.WEB_PRESENT) {
          await present();
          await waitView(display, body.id, finalViews);
        }
      });
    } else log('skip merchant-presented QR test: WEB_QR_AMOUNT not set');
  };
  if (env.WEB_ONLY === 'qr') {
    await runQR();
    await browser.close();
    return;
  }

  await check('payment from the console: display shows amount, present card, approved', async () => {
    payID = await payFromConsole(console_, amount);
    await waitView(display, payID, ['present_card']);
    await shot(display, 'display-present-card-phone');
    await present();
    const amountText = await display.textContent('#amount');
    assert(amountText.includes(amount.replace(/^0+/, '')) || amountText.replace(/[^\d]/g, '') === amount.replace(/[^\d]/g, ''), `amount shown ${amountText}, want ${amount}`);
    await waitView(display, payID, ['approved']);
    const seen = await viewsOf(display, payID);
    log(`     display views for ${payID}: ${seen.join(' -> ')}`);
    assert(seen.includes('present_card'), 'display never said present card: ' + seen.join(','));
    assert(seen.indexOf('present_card') < seen.indexOf('approved'), 'present card came after approved');
    const prompt = await display.textContent('#prompt-text');
    assert(/Approved/.test(prompt), 'prompt text ' + prompt);
  });
  await check('display shows no more card data than the last four digits', async () => {
    const p = (await api('GET', '/v1/payments/' + encodeURIComponent(payID))).json();
    assert(p.state === 'approved' || p.state === 'approved_offline', 'API state ' + p.state);
    const text = await display.evaluate(() => document.body.innerText + ' ' + document.documentElement.outerHTML);
    if (p.masked_pan) {
      const first6 = p.masked_pan.slice(0, 6);
      const last4 = p.masked_pan.slice(-4);
      assert(!text.includes(first6), 'display shows the BIN ' + first6);
      assert(!text.includes(p.masked_pan), 'display shows the masked PAN');
      assert((await display.textContent('#detail')).includes(last4), 'last four not shown');
    }
    for (const k of ['auth_code', 'stan', 'rrn', 'aid']) if (p[k]) assert(!text.includes(p[k]), `display shows ${k} ${p[k]}`);
  });
  for (const [name, size] of [
    ['phone-4in', { width: 320, height: 568 }],
    ['phone', { width: 390, height: 844 }],
    ['desktop-24in', { width: 1920, height: 1080 }],
  ]) {
    await check(`screenshot display approved ${name}, nothing cut off`, async () => {
      await shot(display, `display-approved-${name}`, size);
      const fits = await display.evaluate(() => {
        const r = (id) => document.getElementById(id).getBoundingClientRect();
        const w = document.documentElement.clientWidth;
        return ['amount', 'prompt'].every((id) => r(id).left >= 0 && r(id).right <= w + 1) && document.documentElement.scrollWidth <= w + 1;
      });
      assert(fits, 'amount or prompt wider than the screen');
      const px = await display.evaluate(() => parseFloat(getComputedStyle(document.getElementById('prompt')).fontSize));
      assert(px >= 24, 'prompt font ' + px + 'px is too small to read at arm\'s length');
      assert(!(await display.isVisible('#qr-box')), 'a code is shown after the payment ended');
    });
  }
  await check('axe: display (approved) has no serious violations', () => axeCheck(display, 'display-approved'));

  await check('console lists the payment with its state, receipt and timeline', async () => {
    await console_.waitForSelector(`#payments tr[data-id="${payID}"] td[data-state^="approved"]`, { timeout: 10000 });
    await console_.click(`#payments tr[data-id="${payID}"] button`);
    await console_.waitForSelector('#detail figure.receipt pre', { timeout: 10000 });
    const steps = await console_.$$eval('#timeline li', (l) => l.map((x) => x.textContent));
    assert(steps.some((s) => /approved/.test(s)) && steps.length >= 3, 'timeline: ' + steps.join(' / '));
    await shot(console_, 'console-desktop', { width: 1366, height: 900 });
    await console_.screenshot({ path: path.join(art, 'console-desktop-full.png'), fullPage: true });
    await shot(console_, 'console-phone', { width: 390, height: 844 });
    await console_.setViewportSize({ width: 1366, height: 900 });
  });
  await check('console: forward now answers', async () => {
    await console_.click('#queue-forward');
    await console_.waitForFunction(() => /forwarded|HTTP/.test(document.querySelector('#queue-result').textContent), null, { timeout: 15000 });
    const t = await console_.textContent('#queue-result');
    assert(/forwarded/.test(t), 'forward now: ' + t);
  });
  if (env.WEB_OPS) await check('a card pulled away mid-read: the display asks for it again, then the next tap is approved', async () => {
    const id = await payFromConsole(console_, '2.22');
    await waitView(display, id, ['present_card']);
    await present('removed');
    await waitView(display, id, ['try_another_interface', 'present_card_again']);
    await shot(display, 'display-try-another-phone', { width: 390, height: 844 });
    log(`     prompt: ${await display.textContent('#prompt-text')}`);
    await present();
    await waitView(display, id, ['approved']);
  });
  if (env.WEB_OPS) await check('an issuer decline: the display says declined, in words and with an icon', async () => {
    const id = await payFromConsole(console_, '6.66');
    await waitView(display, id, ['present_card']);
    await present();
    await waitView(display, id, ['declined']);
    assert((await display.textContent('#prompt-text')) === 'Declined', 'prompt ' + (await display.textContent('#prompt-text')));
    assert((await display.getAttribute('#icon use', 'href')) === '#i-bad', 'icon');
    await shot(display, 'display-declined-phone', { width: 390, height: 844 });
  });
  if (env.WEB_OPS) await check('console: a partial refund and a void from the form', async () => {
    await console_.fill('#op-payment', payID);
    await console_.fill('#op-amount', '1.00');
    await console_.click('#op-refund');
    await console_.waitForFunction(() => /^refund /.test(document.getElementById('op-result').textContent), null, { timeout: 20000 });
    const t = await console_.textContent('#op-result');
    assert(/refunded/.test(t), 'refund: ' + t);
    const p = (await api('GET', '/v1/payments/' + encodeURIComponent(payID))).json();
    assert(p.refunded_amount === 100, 'refunded_amount ' + p.refunded_amount);
    // A second payment, voided.
    const id = await payFromConsole(console_, '3.21');
    await waitView(display, id, ['present_card']);
    await present();
    await waitView(display, id, ['approved']);
    await console_.fill('#op-payment', id);
    await console_.fill('#op-amount', '');
    await console_.click('#op-void');
    await console_.waitForFunction(() => /^void /.test(document.getElementById('op-result').textContent), null, { timeout: 20000 });
    const v = await console_.textContent('#op-result');
    assert(/voided/.test(v), 'void: ' + v);
    await waitView(display, id, ['cancelled']);
    await console_.waitForSelector(`#payments tr[data-id="${id}"] td[data-state="voided"]`, { timeout: 10000 });
  });
  await check('console: totals and status shown', async () => {
    if (env.WEB_OPS) await console_.waitForFunction(() => /voided/.test(document.getElementById('totals').textContent), null, { timeout: 10000 });
    await console_.waitForSelector('#totals-net', { timeout: 10000 });
    await console_.waitForSelector('#status #readers', { timeout: 10000 });
  });
  await check('axe: console has no serious violations', () => axeCheck(console_, 'console'));

  if (slowAmount) {
    await check('kill -9 and restart the daemon mid-payment: display and console recover without a reload', async () => {
      const loads = await display.evaluate(() => sessionStorage.getItem('__loads'));
      const id = await payFromConsole(console_, slowAmount);
      await waitView(display, id, ['present_card']);
      await present();
      // Wait until the request has left (state online) when the API says so.
      const end = Date.now() + 10000;
      let st = '';
      for (;;) {
        st = (await api('GET', '/v1/payments/' + encodeURIComponent(id))).json().state;
        if (st === 'online' || Date.now() > end) break;
        await sleep(50);
      }
      await killDaemon();
      log(`     killed the daemon (SIGKILL) with the payment ${st}`);
      await display.waitForFunction(() => document.body.dataset.conn === 'reconnecting', null, { timeout: 15000 });
      const reconnecting = await display.textContent('#conn');
      assert(/Reconnecting/.test(reconnecting), 'no reconnecting notice: ' + reconnecting);
      await shot(display, 'display-reconnecting-phone', { width: 390, height: 844 });
      startDaemon();
      await waitReady();
      await waitView(display, id, finalViews, 60000);
      await display.waitForFunction(() => document.body.dataset.conn === 'open', null, { timeout: 15000 });
      const seen = await viewsOf(display, id);
      const p = (await api('GET', '/v1/payments/' + encodeURIComponent(id))).json();
      log(`     after restart: API state ${p.state}, display views ${seen.join(' -> ')}`);
      const want = { approved: 'approved', approved_offline: 'approved', declined: 'declined', reversed: 'not_completed', failed: 'not_completed', aborted: 'cancelled', voided: 'cancelled' }[p.state];
      assert(want, 'payment not final after the restart: ' + p.state);
      assert(seen[seen.length - 1] === want, `display ends on ${seen[seen.length - 1]}, API says ${p.state}`);
      assert((await display.evaluate(() => sessionStorage.getItem('__loads'))) === loads, 'the display page was reloaded');
      await console_.waitForFunction(() => document.querySelector('#conn').dataset.state === 'open', null, { timeout: 20000 });
      await console_.waitForSelector(`#payments tr[data-id="${id}"] td[data-state="${p.state}"]`, { timeout: 15000 });
      assert(!(await display.isVisible('#qr-box')), 'a code is shown after the payment ended');
      await shot(display, 'display-recovered-phone');
    });
  } else log('skip kill -9 test: WEB_SLOW_AMOUNT not set');

  await runQR();

  await check('display languages: zh-Hant, zh-Hans by parameter, zh-TW from the browser', async () => {
    const page = await newPage({ viewport: { width: 390, height: 844 } });
    const idle = () => page.waitForFunction(() => document.body.dataset.conn === 'open' && document.body.dataset.view === 'welcome', null, { timeout: 15000 });
    for (const [q, want] of [['zh-Hant', '歡迎光臨'], ['zh-Hans', '欢迎光临']]) {
      await page.goto(base + '/display?hold=0.5&lang=' + q);
      await sleep(700);
      await idle();
      assert((await page.textContent('#prompt-text')) === want, q + ': ' + (await page.textContent('#prompt-text')));
      assert((await page.getAttribute('html', 'lang')) === q, 'html lang');
      await shot(page, 'display-welcome-' + q);
    }
    await page.context().close();
    const p2 = await newPage({ locale: 'zh-TW', viewport: { width: 390, height: 844 } });
    await p2.goto(base + '/display?hold=0.5');
    await sleep(700);
    await p2.waitForFunction(() => document.body.dataset.conn === 'open' && document.body.dataset.view === 'welcome', null, { timeout: 15000 });
    const txt = await p2.textContent('#prompt-text');
    await p2.context().close();
    assert(txt === '歡迎光臨', 'zh-TW browser got ' + txt);
  });

  await check('a display on another host pairs with a code from the console, then shows payments', async () => {
    const page = await newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(remoteBase + '/display?lang=en');
    await page.waitForSelector('#pair:not([hidden])', { timeout: 15000 });
    assert((await page.evaluate(async () => (await fetch('/display/events')).status)) === 401, 'unpaired display read the stream');
    await shot(page, 'display-pairing-phone');
    await axeCheck(page, 'display-pairing');
    await page.fill('#pair-code', '00000000');
    await page.click('#pair-button');
    await page.waitForFunction(() => document.getElementById('pair-error').textContent !== '', null, { timeout: 10000 });
    await console_.click('#pair-new');
    await console_.waitForFunction(() => /^\d{8}$/.test(document.getElementById('pair-code').dataset.code || ''), null, { timeout: 10000 });
    const code = await console_.$eval('#pair-code', (e) => e.dataset.code);
    await page.fill('#pair-code', code.slice(0, 4) + ' ' + code.slice(4));
    await page.click('#pair-button');
    await page.waitForFunction(() => document.body.dataset.conn === 'open' && !document.getElementById('pay').hidden, null, { timeout: 15000 });
    assert(!(await page.evaluate(() => document.cookie)).includes('posagent_display'), 'display token readable by scripts');
    const id = await payFromConsole(console_, amount);
    await waitView(page, id, ['present_card']);
    await present();
    await waitView(page, id, ['approved']);
    await shot(page, 'display-paired-approved-phone');
    // The code was used up.
    const again = await page.evaluate(async (code) => (await fetch('/display/pair', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code }) })).status, code);
    assert(again === 403, 'a pairing code worked twice: ' + again);
    await page.context().close();
  });
  await check('no script errors and nothing requested outside the daemon', async () => {
    assert(!errors.length, errors.join(' / '));
    assert(!offsite.length, offsite.join(' '));
  });
  await browser.close();
}

try {
  await main();
} catch (e) {
  failed++;
  log('FAIL setup: ' + (e && e.stack ? e.stack : e));
} finally {
  await killDaemon().catch(() => {});
}
log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
