// Hosts: the list, live; one host's live charts (from the stream's samples) and its
// history (from the gateway), its VMs, and moving one by dragging it onto another host.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, query, seg } from './api.js';
import { subscribe } from './stream.js';
import { Chart } from './chart.jsx';
import { Loading, Notice, StateBadge, mib, useCoalesced, useLoad, Head } from './ui.jsx';

const LIVE_POINTS = 120;
const CHIPS = 60; // the VMs of a host offered to drag: the first ones

export function HostList() {
  const hosts = useLoad(() => get('/hosts?limit=1000'), []);
  const reload = useCoalesced(hosts.reload, 500);
  useEffect(() => subscribe('event.host', reload), [reload]);
  const list = (hosts.data && hosts.data.hosts) || [];
  return (
    <section aria-labelledby="hosts-title">
      <h2 id="hosts-title">Hosts</h2>
      <Notice error={hosts.error} />
      {!hosts.data && !hosts.error && <Loading what="hosts" />}
      <table>
        <Head cols={['Host', 'State', 'VMs', 'vCPUs used', 'Memory used', 'CPU busy']} />
        <tbody>
          {list.map((h) => (
            <tr key={h.name}>
              <td>
                <a href={`#/hosts/${encodeURIComponent(h.name)}`}>{h.name}</a>
              </td>
              <td>
                <StateBadge state={h.state} />
              </td>
              <td>{h.vm_count}</td>
              <td>
                {h.vcpus_used} / {h.vcpus}
              </td>
              <td>
                {mib(h.memory_mb_used)} / {mib(h.memory_mb)}
              </td>
              <td>{h.cpu_busy_pct}%</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const busy = (c) => c.user + c.nice + c.system + c.irq + c.softirq + c.steal;
const total = (c) => busy(c) + c.idle + c.iowait;
const netBytes = (s) => (s.interfaces || []).reduce((sum, i) => [sum[0] + (i.rx_bytes || 0), sum[1] + (i.tx_bytes || 0)], [0, 0]);

// The live series of one host: CPU %, memory used (MiB), network rx/tx (bytes/s).
function useLiveSamples(host) {
  const [series, setSeries] = useState({ t: [], cpu: [], mem: [], rx: [], tx: [] });
  const previous = useRef(null);
  useEffect(() => {
    previous.current = null;
    setSeries({ t: [], cpu: [], mem: [], rx: [], tx: [] });
    return subscribe('metric.host', (s) => {
      if (s.host !== host || !s.cpu) return;
      const prev = previous.current;
      previous.current = s;
      if (!prev) return;
      const seconds = (s.time_ms - prev.time_ms) / 1000;
      const spent = total(s.cpu) - total(prev.cpu);
      if (seconds <= 0 || spent <= 0) return;
      const [rx, tx] = netBytes(s);
      const [prx, ptx] = netBytes(prev);
      const push = (list, v) => list.concat([v]).slice(-LIVE_POINTS);
      setSeries((old) => ({
        t: push(old.t, s.time_ms / 1000),
        cpu: push(old.cpu, (100 * (busy(s.cpu) - busy(prev.cpu))) / spent),
        mem: push(old.mem, Math.round(((s.memory_total_kb || 0) - (s.memory_available_kb || 0)) / 1024)),
        rx: push(old.rx, Math.max(0, (rx - prx) / seconds)),
        tx: push(old.tx, Math.max(0, (tx - ptx) / seconds)),
      }));
    });
  }, [host]);
  return series;
}

const CPU = [{ label: 'CPU busy', unit: '%' }];
const MEM = [{ label: 'Memory used', unit: ' MiB' }];
const NET = [
  { label: 'received', unit: ' B/s' },
  { label: 'sent', unit: ' B/s' },
];

function History({ host }) {
  const since = useRef(Math.floor(Date.now() / 1000) - 3600);
  const history = useLoad(() => get('/hosts' + seg(host, 'history') + query({ since_s: since.current })), [host]);
  const points = (history.data && history.data.points) || [];
  const t = points.map((p) => p.t);
  return (
    <section aria-labelledby="history-title">
      <h3 id="history-title">The last hour</h3>
      <Notice error={history.error} />
      {history.data && !points.length && <p class="muted">No history kept yet.</p>}
      {points.length > 0 && (
        <div class="charts">
          <Chart title="CPU busy (history)" series={CPU} data={[t, points.map((p) => p.cpu_permille / 10)]} />
          <Chart title="Memory used (history)" series={MEM} data={[t, points.map((p) => Math.round(p.mem_kb / 1024))]} />
        </div>
      )}
    </section>
  );
}

// VMs dragged onto another host: the move is asked for, or refused with the reason.
function Moves({ host, others, vms }) {
  const [message, setMessage] = useState(null);
  const [pick, setPick] = useState({ vm: '', to: '' });
  const move = (vm, target) =>
    setMessage(
      `Moving ${vm} to ${target} is refused: live migration is not built yet (the bus has no migrate operation). ` +
        `Stop the VM and create it again on ${target} meanwhile.`,
    );
  const drop = (target) => (e) => {
    e.preventDefault();
    e.currentTarget.classList.remove('over');
    const vm = e.dataTransfer.getData('text/x-maekin-vm');
    if (vm) move(vm, target);
  };
  const key = (vm) => (vm.vi && vm.vi !== 'default' ? `${vm.vi}:${vm.name}` : vm.name);
  return (
    <section aria-labelledby="moves-title">
      <h3 id="moves-title">Its VMs</h3>
      <p class="muted">Drag a VM below onto another host to move it there.</p>
      <ul class="targets" aria-label="other hosts">
        {others.map((h) => (
          <li
            class="target"
            data-host={h.name}
            onDragOver={(e) => {
              e.preventDefault();
              e.currentTarget.classList.add('over');
            }}
            onDragLeave={(e) => e.currentTarget.classList.remove('over')}
            onDrop={drop(h.name)}
          >
            {h.name} <StateBadge state={h.state} />
          </li>
        ))}
      </ul>
      {message && (
        <p class="notice error" role="alert">
          {message}
        </p>
      )}
      <ul class="chips">
        {vms.slice(0, CHIPS).map((vm) => (
          <li
            key={vm.name + vm.vi}
            class="chip"
            draggable
            data-vm={vm.name}
            onDragStart={(e) => e.dataTransfer.setData('text/x-maekin-vm', key(vm))}
          >
            {vm.name} <StateBadge state={vm.state} />
          </li>
        ))}
        {!vms.length && <li class="muted">none</li>}
        {vms.length > CHIPS && (
          <li class="muted">
            and {vms.length - CHIPS} more: <a href="#/vms">the VM list</a> shows them all
          </li>
        )}
      </ul>
      <form
        class="inline"
        aria-label="move a VM without dragging"
        onSubmit={(e) => {
          e.preventDefault();
          move(pick.vm, pick.to);
        }}
      >
        <label>
          Move{' '}
          <select required name="move-vm" value={pick.vm} onChange={(e) => setPick({ ...pick, vm: e.currentTarget.value })}>
            <option value="">a VM…</option>
            {vms.slice(0, 1000).map((vm) => (
              <option value={key(vm)}>{key(vm)}</option>
            ))}
          </select>
        </label>
        <label>
          to{' '}
          <select required name="move-to" value={pick.to} onChange={(e) => setPick({ ...pick, to: e.currentTarget.value })}>
            <option value="">a host…</option>
            {others.map((h) => (
              <option value={h.name}>{h.name}</option>
            ))}
          </select>
        </label>
        <button type="submit">Move</button>
      </form>
    </section>
  );
}

export function HostDetail({ name }) {
  const host = useLoad(() => get('/hosts' + seg(name)), [name]);
  const hosts = useLoad(() => get('/hosts?limit=1000'), []);
  const vms = useLoad(() => get('/vms' + query({ host: name, limit: 1000 })), [name]);
  const live = useLiveSamples(name);
  const h = host.data;
  const others = ((hosts.data && hosts.data.hosts) || []).filter((o) => o.name !== name);
  return (
    <section aria-labelledby="host-title">
      <h2 id="host-title">
        Host {name} {h && <StateBadge state={h.state} />}
      </h2>
      <Notice error={host.error} />
      {h && (
        <p>
          {h.vm_count} VMs · {h.vcpus_used}/{h.vcpus} vCPUs · {mib(h.memory_mb_used)}/{mib(h.memory_mb)} · load {(h.load1_x100 / 100).toFixed(2)} · {h.uri}
        </p>
      )}
      <h3>Live</h3>
      {!live.t.length && <p class="muted">Waiting for the host's monitor…</p>}
      <div class="charts">
        <Chart title="CPU busy" series={CPU} data={[live.t, live.cpu]} />
        <Chart title="Memory used" series={MEM} data={[live.t, live.mem]} />
        <Chart title="Network" series={NET} data={[live.t, live.rx, live.tx]} />
      </div>
      <History host={name} />
      <Moves host={name} others={others} vms={(vms.data && vms.data.vms) || []} />
    </section>
  );
}
