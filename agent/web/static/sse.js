// Server-Sent Events over fetch, shared by the display and the console.
// EventSource cannot send an Authorization header and gives up on some
// errors; this reader sends Last-Event-ID itself, reconnects with backoff
// after a dropped connection or a daemon restart, and drops a connection
// that has been silent for longer than the server's keep-alive.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// openStream(url or () => url, {headers, lastEventId, onEvent({type, data, json, id}),
// onStatus(status, httpCode) -> false to stop}) returns {close(), lastId()}.
// onEvent gets data as text and, when it is JSON, parsed as json.
export function openStream(url, opts = {}) {
  let last = opts.lastEventId || '';
  let stopped = false;
  let ctrl = null;
  const silentMs = opts.silentMs || 40000;
  const status = (s, code) => {
    if (opts.onStatus && opts.onStatus(s, code) === false) stopped = true;
  };

  async function once() {
    ctrl = new AbortController();
    let watchdog = 0;
    const kick = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ctrl.abort(), silentMs);
    };
    try {
      const headers = Object.assign({ Accept: 'text/event-stream' }, opts.headers ? opts.headers() : {});
      if (last) headers['Last-Event-ID'] = last;
      kick();
      const res = await fetch(typeof url === 'function' ? url() : url, { headers, signal: ctrl.signal, cache: 'no-store', credentials: 'same-origin' });
      const type = res.headers.get('content-type') || '';
      if (!res.ok || !type.startsWith('text/event-stream')) {
        status(res.status === 401 || res.status === 403 ? 'unauthorized' : 'error', res.status);
        return false;
      }
      status('open', res.status);
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      let ev = { type: '', data: [], id: null };
      for (;;) {
        const { value, done } = await reader.read();
        if (done || stopped) break;
        kick();
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          let line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            if (ev.id !== null) last = ev.id;
            if (ev.data.length) {
              const data = ev.data.join('\n');
              let json = null;
              try {
                json = JSON.parse(data);
              } catch (e) {
                /* not JSON: json stays null */
              }
              try {
                opts.onEvent({ type: ev.type || 'message', data, json, id: last });
              } catch (e) {
                console.error('event handler', e);
              }
            }
            ev = { type: '', data: [], id: null };
            continue;
          }
          if (line.startsWith(':')) continue;
          const c = line.indexOf(':');
          const field = c < 0 ? line : line.slice(0, c);
          let val = c < 0 ? '' : line.slice(c + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'data') ev.data.push(val);
          else if (field === 'event') ev.type = val;
          else if (field === 'id' && !val.includes('\0')) ev.id = val;
        }
      }
      return true;
    } catch (e) {
      return false;
    } finally {
      clearTimeout(watchdog);
    }
  }

  (async () => {
    let delay = 250;
    while (!stopped) {
      const hadStream = await once();
      if (stopped) break;
      status('reconnecting');
      if (hadStream) delay = 250;
      await sleep(delay);
      delay = Math.min(delay * 2, 4000);
    }
    status('closed');
  })();

  return {
    close() {
      stopped = true;
      if (ctrl) ctrl.abort();
    },
    lastId: () => last,
  };
}
