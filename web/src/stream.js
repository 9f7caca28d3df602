// The gateway's live stream (GET /api/v1/stream, a WebSocket): the cloud's events and
// every host's samples. One socket for the page; views subscribe to topics. After a
// disconnect it reconnects (backing off up to 10 s) saying the last sequence number it
// saw of each event stream, and the gateway sends what was missed first: no event is
// lost or repeated across a reconnect.

const listeners = new Map(); // topic ('event.vm', 'metric.host') -> Set of functions
const last = { vm: 0, task: 0, host: 0 };
let socket = null;
let timer = null; // a reconnect waiting
let wanted = false;
let backoff = 500;
let statusListeners = new Set();
export let connected = false;

function setConnected(value) {
  connected = value;
  for (const fn of statusListeners) fn(value);
}

function dispatch(message) {
  if (message.error) {
    console.warn('stream:', message.error.reason);
    return;
  }
  const topic = message.topic || '';
  if (message.events) {
    const short = topic.replace('event.', '');
    for (const event of message.events.events || []) if (event.seq > last[short]) last[short] = event.seq;
    const fns = listeners.get(topic);
    if (fns) for (const fn of fns) fn(message.events.events || [], message.caught_up);
  } else if (message.sample) {
    const fns = listeners.get('metric.host');
    if (fns) for (const fn of fns) fn(message.sample);
  }
}

function open() {
  if (!wanted) return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const after = Object.entries(last)
    .filter(([, seq]) => seq > 0)
    .map(([name, seq]) => `&after_${name}=${seq}`)
    .join('');
  const ws = new WebSocket(`${scheme}//${location.host}/api/v1/stream?metrics=all${after}`);
  socket = ws;
  // A socket that is no longer the page's (closed by stop(), replaced) says nothing more.
  ws.onopen = () => {
    if (socket !== ws) return;
    backoff = 500;
    setConnected(true);
  };
  ws.onmessage = (e) => {
    if (socket !== ws) return;
    let message;
    try {
      message = JSON.parse(e.data);
    } catch (err) {
      console.warn('stream: a message that is not JSON');
      return;
    }
    dispatch(message);
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    setConnected(false);
    if (wanted) {
      timer = setTimeout(() => {
        timer = null;
        open();
      }, backoff);
      backoff = Math.min(backoff * 2, 10000);
    }
  };
}

// Starts the stream (after a login); stop() at logout.
export function start() {
  if (wanted) return;
  wanted = true;
  backoff = 500;
  open();
}

export function stop() {
  wanted = false;
  clearTimeout(timer);
  timer = null;
  const ws = socket;
  socket = null; // its handlers ignore it from now on
  if (ws) ws.close();
  setConnected(false);
  last.vm = last.task = last.host = 0;
}

// Calls fn for each message of a topic: 'event.vm', 'event.task', 'event.host' (fn gets
// the events) or 'metric.host' (fn gets a host's sample). Returns the unsubscribe.
export function subscribe(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
  return () => listeners.get(topic).delete(fn);
}

export function onStatus(fn) {
  statusListeners.add(fn);
  return () => statusListeners.delete(fn);
}
