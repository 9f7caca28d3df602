// The cloud at a glance: hosts up and down, VMs by state, recent tasks and events, kept
// current by the stream (a burst of events is one reload).
import { useEffect, useRef, useState } from 'preact/hooks';
import { all, get } from './api.js';
import { subscribe } from './stream.js';
import { Loading, Notice, StateBadge, useCoalesced, useLoad, Head } from './ui.jsx';

const EVENTS_KEPT = 20;

// { hostsUp, hostsDown, vms: [[state, count]], tasksOpen }: the administrator's from the
// cloud's figures; anyone else's from what they may see.
async function figures(admin) {
  if (admin) {
    const s = await get('/stats');
    const hosts = s.hosts || [];
    return {
      hostsUp: hosts.filter((h) => h.state === 'up').length,
      hostsDown: hosts.filter((h) => h.state !== 'up').length,
      vms: (s.vms || []).map((c) => [c.state, c.count]),
      tasksOpen: (s.tasks_open || []).reduce((n, c) => n + c.count, 0),
    };
  }
  const [hosts, vms] = await Promise.all([all('/hosts', 'hosts'), all('/vms', 'vms')]);
  const byState = new Map();
  for (const vm of vms) byState.set(vm.state, (byState.get(vm.state) || 0) + 1);
  return {
    hostsUp: hosts.filter((h) => h.state === 'up').length,
    hostsDown: hosts.filter((h) => h.state !== 'up').length,
    vms: [...byState.entries()].sort(),
    tasksOpen: null,
  };
}

export function Overview({ admin }) {
  const stats = useLoad(() => figures(admin), [admin]);
  const tasks = useLoad(() => get('/tasks?limit=10'), []);
  const [events, setEvents] = useState([]);
  const refresh = useCoalesced(() => {
    stats.reload();
    tasks.reload();
  }, 1000);
  useEffect(() => {
    const take = (events) => {
      setEvents((old) => events.slice().reverse().concat(old).slice(0, EVENTS_KEPT));
      refresh();
    };
    const off = ['event.vm', 'event.task', 'event.host'].map((t) => subscribe(t, take));
    return () => off.forEach((f) => f());
  }, [refresh]);
  const marked = useRef(false);
  useEffect(() => {
    if (stats.data && tasks.data && !marked.current) {
      marked.current = true;
      requestAnimationFrame(() => performance.mark('maekin:overview-drawn'));
    }
  }, [stats.data, tasks.data]);
  const s = stats.data;
  return (
    <section aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      <Notice error={stats.error || tasks.error} />
      {!s && !stats.error && <Loading what="the cloud's figures" />}
      {s && (
        <ul class="figures">
          <li class="figure">
            <strong data-testid="hosts-up">{s.hostsUp}</strong> hosts up
          </li>
          <li class={`figure ${s.hostsDown ? 'warn' : ''}`}>
            <strong data-testid="hosts-down">{s.hostsDown}</strong> hosts down
          </li>
          {s.vms.map(([state, count]) => (
            <li class="figure" key={state}>
              <strong data-testid={`vms-${state}`}>{count}</strong> VMs {state}
            </li>
          ))}
          {s.tasksOpen != null && (
            <li class="figure">
              <strong>{s.tasksOpen}</strong> tasks open
            </li>
          )}
        </ul>
      )}
      <div class="columns">
        <section aria-labelledby="tasks-title">
          <h3 id="tasks-title">Recent tasks</h3>
          <table>
            <Head cols={['Task', 'VM', 'Operation', 'State']} />
            <tbody>
              {((tasks.data && tasks.data.tasks) || []).map((t) => (
                <tr key={t.id}>
                  <td>{t.id}</td>
                  <td>{t.vi && t.vi !== 'default' ? `${t.vi}:${t.vm}` : t.vm}</td>
                  <td>{String(t.op).replace('VM_OP_', '').toLowerCase()}</td>
                  <td>
                    <StateBadge state={t.state} />
                    {t.error ? ` ${t.error}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="events-title">
          <h3 id="events-title">Events, live</h3>
          {!events.length && <p class="muted">None since this page opened.</p>}
          <ol class="events">
            {events.map((e) => (
              <li key={`${e.stream}-${e.seq}`}>
                <time>{new Date(e.time_us / 1000).toLocaleTimeString()}</time> {e.stream.replace('event.', '')} {e.subject} <StateBadge state={e.state} />
                {e.detail ? ` ${e.detail}` : ''}
              </li>
            ))}
          </ol>
        </section>
      </div>
      {!tasks.data && !tasks.error && <Loading what="recent tasks" />}
    </section>
  );
}
