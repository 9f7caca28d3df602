// Small pieces every view uses: loading data, errors, quota bars, state badges and the
// progress of an action's task.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { follow } from './api.js';

// Loads with fn (async) when deps change: { data, error, reload }.
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: null, error: null });
  const live = useRef(0);
  // New inputs: what was shown for the old ones goes at once (a page of another VM must
  // not show this one's fields and buttons while it loads).
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else setState({ data: null, error: null });
  }, deps);
  const reload = useCallback(() => {
    const ticket = ++live.current;
    fn().then(
      (data) => ticket === live.current && setState({ data, error: null }),
      (error) => ticket === live.current && setState((s) => ({ data: s.data, error })),
    );
  }, deps);
  useEffect(() => {
    reload();
    return () => live.current++;
  }, [reload]);
  return { ...state, reload };
}

// Calls fn at most once per `ms` while events keep coming (a burst is one reload).
export function useCoalesced(fn, ms = 300) {
  const timer = useRef(null);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, ms);
  }, [ms]);
}

export function Notice({ error, kind = 'error' }) {
  if (!error) return null;
  const text = typeof error === 'string' ? error : error.message;
  return (
    <p class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {text}
    </p>
  );
}

// A table's header row; a column that is false is left out.
export function Head({ cols }) {
  return (
    <thead>
      <tr>
        {cols.filter(Boolean).map((c) => (
          <th scope="col">{c}</th>
        ))}
      </tr>
    </thead>
  );
}

export function Loading({ what }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function StateBadge({ state }) {
  return <span class={`badge state-${state}`}>{state}</span>;
}

// A quota's use: a bar with its numbers (no bar when there is no limit).
export function Bar({ label, used, limit, unit = '' }) {
  const share = limit ? Math.min(1, used / limit) : 0;
  return (
    <div class="bar">
      <span class="bar-label">{label}</span>
      {limit ? (
        <meter min="0" max={limit} value={used} high={limit * 0.9} aria-label={`${label}: ${used} of ${limit}${unit}`} />
      ) : (
        <span class="muted">no limit</span>
      )}
      <span class="bar-figure">
        {used}
        {unit}
        {limit ? ` / ${limit}${unit}` : ''}
        {limit ? ` (${Math.round(share * 100)}%)` : ''}
      </span>
    </div>
  );
}

// Runs an action that answers a task, and follows the task to its end: { run, status },
// status null, or { text, kind } to show (progress, done, or why it was refused/failed).
export function useTask(onDone) {
  const [status, setStatus] = useState(null);
  const run = useCallback(
    async (what, action) => {
      setStatus({ text: `${what}: asking…`, kind: 'progress' });
      try {
        const accepted = await action();
        const id = accepted && accepted.task_id;
        if (!id) {
          setStatus({ text: `${what}: done`, kind: 'ok' });
          onDone && onDone();
          return;
        }
        setStatus({ text: `${what}: task ${id} accepted`, kind: 'progress' });
        const task = await follow(id, (t) => setStatus({ text: `${what}: task ${id} ${t.state}`, kind: 'progress' }));
        if (task.state === 'done') setStatus({ text: `${what}: done (task ${id})`, kind: 'ok' });
        else setStatus({ text: `${what}: ${task.state}${task.error ? ': ' + task.error : ''} (task ${id})`, kind: 'error' });
      } catch (e) {
        setStatus({ text: `${what} refused: ${e.message}`, kind: 'error' });
      }
      onDone && onDone();
    },
    [onDone],
  );
  return { run, status };
}

export function TaskStatus({ status }) {
  if (!status) return null;
  return (
    <p class={`notice ${status.kind}`} role={status.kind === 'error' ? 'alert' : 'status'} aria-live="polite">
      {status.text}
    </p>
  );
}

export const mib = (mb) => (mb >= 1024 ? `${(mb / 1024).toFixed(mb % 1024 ? 1 : 0)} GiB` : `${mb} MiB`);
export const when = (unix) => (unix ? new Date(unix * 1000).toLocaleString() : '—');

// What a role may do in a VI (the controller decides; the page only offers what it allows).
const RANKS = { viewer: 1, operator: 2, manager: 3, owner: 4, admin: 5 };
export const may = (role, need) => (RANKS[role] || 0) >= RANKS[need];
