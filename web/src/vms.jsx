// VMs: a list that stays fast with thousands (only the rows in view are drawn, the
// filters asked of the gateway), one VM's page, the create form, and every action the
// caller's role in the VM's VI allows, each followed through its task.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { del, get, post, query, seg } from './api.js';
import { subscribe } from './stream.js';
import { Head, Loading, Notice, StateBadge, TaskStatus, mib, may, useCoalesced, useLoad, useTask, when } from './ui.jsx';

const ROW = 36; // px: every row is this tall, so the rows in view are known from the scroll
const STATES = ['', 'running', 'stopped', 'paused', 'creating', 'starting', 'stopping', 'error'];

// The actions a VM's state allows, each with what the role needs.
const ACTIONS = {
  running: ['stop', 'reboot', 'suspend', 'destroy'],
  paused: ['resume', 'destroy'],
  stopped: ['start', 'delete'],
  error: ['start', 'stop', 'destroy', 'delete'],
};
const NEEDS = { delete: 'manager' };
export const vmActions = (vm, role) => (ACTIONS[vm.state] || []).filter((a) => may(role, NEEDS[a] || 'operator'));

// A state a VM rests in (not one it passes through on its way to another).
const settled = (s) => ['running', 'stopped', 'paused', 'error'].includes(s);

export const vmKey = (vm) => (vm.vi && vm.vi !== 'default' ? `${vm.vi}:${vm.name}` : vm.name);
const vmPath = (vm) => '/vis' + seg(vm.vi || 'default', 'vms', vm.name);

export function runAction(task, vm, action) {
  const path = vmPath(vm);
  const lose = { destroy: 'power it off at once, as a pulled plug would', delete: 'delete it and its disk for good' };
  if (lose[action] && !confirm(`${action} ${vm.name}: ${lose[action]}?`)) return;
  return task.run(`${action} ${vm.name}`, () => (action === 'delete' ? del(path) : post(`${path}/${action}`)));
}

function Actions({ vm, role, task }) {
  const actions = vmActions(vm, role);
  if (!actions.length) return null;
  return (
    <span class="actions">
      {actions.map((a) => (
        <button type="button" class={a === 'destroy' || a === 'delete' ? 'danger' : ''} onClick={() => runAction(task, vm, a)} aria-label={`${a} ${vm.name}`}>
          {a}
        </button>
      ))}
    </span>
  );
}

// The VMs the caller sees, or one VI's; roles: VI name -> the caller's role there.
export function VmList({ vi = '', roles, admin }) {
  const [name, setName] = useState('');
  const [state, setState] = useState('');
  const [typed, setTyped] = useState('');
  const [rows, setRows] = useState(null);
  const [next, setNext] = useState('');
  const [error, setError] = useState(null);
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(600);
  const box = useRef(null);
  const loading = useRef(false);
  const marked = useRef(false);
  const generation = useRef(0);

  // The name filter is asked of the gateway once typing pauses.
  useEffect(() => {
    const t = setTimeout(() => setName(typed.trim()), 200);
    return () => clearTimeout(t);
  }, [typed]);

  const load = async (after = '') => {
    const ticket = after ? generation.current : ++generation.current;
    loading.current = true;
    try {
      const page = await get((vi ? '/vis' + seg(vi) : '') + '/vms' + query({ limit: 1000, after, name, state }));
      if (ticket !== generation.current) return;
      setRows((old) => (after && old ? old.concat(page.vms || []) : page.vms || []));
      setNext(page.next || '');
      setError(null);
    } catch (e) {
      if (ticket === generation.current) setError(e);
    } finally {
      loading.current = false;
    }
  };
  useEffect(() => {
    load();
    if (box.current) box.current.scrollTop = 0; // new filters: from the top
    setScroll(0);
  }, [vi, name, state]);
  const reload = useCoalesced(() => load());

  // Live: states change in place; a VM made or gone reloads (a burst once).
  useEffect(
    () =>
      subscribe('event.vm', (events) => {
        let changed = false;
        setRows((old) => {
          if (!old) return old;
          const byKey = new Map(old.map((vm, i) => [vmKey(vm), i]));
          let rowsNow = old;
          for (const e of events) {
            const at = byKey.get(e.subject);
            if (at === undefined) {
              if (e.state === 'creating') changed = true;
              continue;
            }
            if (e.state === 'deleted') {
              changed = true;
              continue;
            }
            if (rowsNow === old) rowsNow = old.slice();
            rowsNow[at] = { ...rowsNow[at], state: e.state };
          }
          // A VM whose new state the state filter leaves out leaves the list.
          return state && rowsNow !== old ? rowsNow.filter((vm) => vm.state === state || !settled(vm.state)) : rowsNow;
        });
        if (changed) reload();
      }),
    [reload, state],
  );

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    setHeight(el.clientHeight || 600);
    const observer = new ResizeObserver(() => setHeight(el.clientHeight || 600));
    observer.observe(el);
    return () => observer.disconnect();
  }, [rows !== null]);

  // The performance mark the benchmark reads: the list's data is drawn.
  useEffect(() => {
    if (rows && !marked.current) {
      marked.current = true;
      requestAnimationFrame(() => performance.mark('maekin:vms-drawn'));
    }
  }, [rows]);

  const task = useTask(reload);
  const onScroll = (e) => {
    const el = e.currentTarget;
    setScroll(el.scrollTop);
    if (next && !loading.current && el.scrollTop + el.clientHeight > el.scrollHeight - 20 * ROW) load(next);
  };

  const count = rows ? rows.length : 0;
  const first = Math.max(0, Math.floor(scroll / ROW) - 10);
  const last = Math.min(count, Math.ceil((scroll + height) / ROW) + 10);
  const shown = rows ? rows.slice(first, last) : [];
  return (
    <section aria-labelledby="vms-title">
      <h2 id="vms-title">{vi ? `VMs of ${vi}` : 'VMs'}</h2>
      <div class="filters" role="search">
        <label>
          Name starts with <input type="search" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} name="filter-name" />
        </label>
        <label>
          State{' '}
          <select value={state} onChange={(e) => setState(e.currentTarget.value)} name="filter-state">
            {STATES.map((s) => (
              <option value={s}>{s || 'any'}</option>
            ))}
          </select>
        </label>
        <span class="muted" role="status" data-testid="vm-count">
          {rows ? `${count}${next ? '+' : ''} VM${count === 1 && !next ? '' : 's'}` : ''}
        </span>
      </div>
      <TaskStatus status={task.status} />
      <Notice error={error} />
      {!rows && !error && <Loading what="VMs" />}
      {rows && (
        <div class="scroller" ref={box} onScroll={onScroll} tabIndex="0" role="region" aria-label="VM list">
          <table class="vms" aria-rowcount={count + 1}>
            <Head cols={['Name', !vi && 'VI', 'State', 'Host', 'vCPUs', 'Memory', 'Actions']} />
            <tbody>
              {first > 0 && <tr style={{ height: `${first * ROW}px` }} aria-hidden="true" />}
              {shown.map((vm) => (
                <tr key={vmKey(vm)} data-vm={vmKey(vm)}>
                  <td>
                    <a href={`#/vms/${encodeURIComponent(vm.vi || 'default')}/${encodeURIComponent(vm.name)}`}>{vm.name}</a>
                  </td>
                  {!vi && <td>{vm.vi}</td>}
                  <td>
                    <StateBadge state={vm.state} />
                  </td>
                  <td>{vm.host}</td>
                  <td>{vm.vcpus}</td>
                  <td>{mib(vm.memory_mb)}</td>
                  <td>
                    <Actions vm={vm} role={admin ? 'admin' : roles[vm.vi || 'default']} task={task} />
                  </td>
                </tr>
              ))}
              {last < count && <tr style={{ height: `${(count - last) * ROW}px` }} aria-hidden="true" />}
            </tbody>
          </table>
          {!count && <p class="muted">No VMs{name || state ? ' match the filters' : ''}.</p>}
        </div>
      )}
    </section>
  );
}

// Create a VM from one of the VI's templates.
export function VmCreate({ vi, templates, onCreated }) {
  const [name, setName] = useState('');
  const [template, setTemplate] = useState('');
  const task = useTask(onCreated);
  const choices = templates || [];
  useEffect(() => {
    if (!template && choices.length) setTemplate(choices[0]);
  }, [choices.join()]);
  const submit = (e) => {
    e.preventDefault();
    const vm = name.trim();
    task.run(`create ${vm}`, () => post('/vis' + seg(vi, 'vms'), { name: vm, template }));
  };
  return (
    <form class="create" onSubmit={submit} aria-label={`Create a VM in ${vi}`}>
      <h3>Create a VM</h3>
      <label>
        Name <input required name="vm-name" value={name} onInput={(e) => setName(e.currentTarget.value)} pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" />
      </label>
      <label>
        Template{' '}
        <select name="vm-template" value={template} onChange={(e) => setTemplate(e.currentTarget.value)} required>
          {choices.map((t) => (
            <option value={t}>{t}</option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={!choices.length}>
        Create
      </button>
      {!choices.length && <span class="muted"> (the VI may use no template yet)</span>}
      <TaskStatus status={task.status} />
    </form>
  );
}

export function VmDetail({ vi, name, roles, admin }) {
  const path = '/vis' + seg(vi, 'vms', name);
  const vm = useLoad(() => get(path), [path]);
  const reload = useCoalesced(vm.reload, 100);
  const task = useTask(reload);
  const key = vi === 'default' ? name : `${vi}:${name}`;
  useEffect(() => subscribe('event.vm', (events) => events.some((e) => e.subject === key) && reload()), [key, reload]);
  const role = admin ? 'admin' : roles[vi];
  const data = vm.data;
  const rows = useMemo(
    () =>
      data
        ? [
            ['VI', data.vi],
            ['UUID', data.uuid],
            ['Host', data.host],
            ['Template', data.template],
            ['vCPUs', data.vcpus],
            ['Memory', mib(data.memory_mb)],
            ['MAC', data.mac],
            ['Address', data.ip || 'none (its VI has no IP pool)'],
            ['Created', when(data.created)],
            ['Last task', data.last_task],
          ]
        : [],
    [data],
  );
  return (
    <section aria-labelledby="vm-title">
      <h2 id="vm-title">
        VM {name} {data && <StateBadge state={data.state} />}
      </h2>
      <Notice error={vm.error} />
      {!data && !vm.error && <Loading what="the VM" />}
      {data && (
        <>
          <dl class="fields">
            {rows.map(([k, v]) => (
              <>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </>
            ))}
          </dl>
          <Actions vm={data} role={role} task={task} />
          <TaskStatus status={task.status} />
        </>
      )}
    </section>
  );
}
