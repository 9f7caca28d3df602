// Virtual Infrastructures, the dashboard's centre: the ones the caller belongs to, each
// with its quota's use, members and roles, templates and VMs. The administrator gives
// VIs their quotas and templates; a VI's owners change its members.
import { useState } from 'preact/hooks';
import { del, get, post, put, seg } from './api.js';
import { VmCreate, VmList } from './vms.jsx';
import { Bar, Head, Loading, Notice, may, useLoad } from './ui.jsx';

export function ViList({ vis, error }) {
  return (
    <section aria-labelledby="vis-title">
      <h2 id="vis-title">Virtual Infrastructures</h2>
      <Notice error={error} />
      {!vis && !error && <Loading what="your VIs" />}
      {vis && !vis.length && <p class="muted">You hold a role in no VI yet: ask a VI's owner to invite you.</p>}
      <ul class="cards">
        {(vis || []).map((vi) => (
          <li class="card" key={vi.name}>
            <h3>
              <a href={`#/vis/${encodeURIComponent(vi.name)}`}>{vi.name}</a> <span class="badge">{vi.role}</span>
            </h3>
            {vi.description && <p>{vi.description}</p>}
            <Quota vi={vi} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function Quota({ vi }) {
  const q = vi.quota || {};
  const u = vi.used || {};
  return (
    <div class="quota">
      <Bar label="VMs" used={u.vms || 0} limit={q.vms || 0} />
      <Bar label="vCPUs" used={u.vcpus || 0} limit={q.vcpus || 0} />
      <Bar label="Memory" used={u.memory_mb || 0} limit={q.memory_mb || 0} unit=" MiB" />
      <Bar label="Disk" used={u.disk_gb || 0} limit={q.disk_gb || 0} unit=" GB" />
    </div>
  );
}

function Members({ vi, role, onChange }) {
  const [user, setUser] = useState('');
  const [newRole, setNewRole] = useState('viewer');
  const [error, setError] = useState(null);
  const owner = may(role, 'owner');
  const act = async (fn) => {
    try {
      await fn();
      setError(null);
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  const base = '/vis' + seg(vi.name, 'members');
  return (
    <section aria-labelledby="members-title">
      <h3 id="members-title">Members</h3>
      <table>
        <Head cols={['User', 'Role', owner && 'Change']} />
        <tbody>
          {(vi.members || []).map((m) => (
            <tr key={m.user}>
              <td>{m.user}</td>
              <td>{m.role}</td>
              {owner && (
                <td>
                  <select aria-label={`role of ${m.user}`} value={m.role} onChange={(e) => act(() => put(base + seg(m.user), { role: e.currentTarget.value }))}>
                    {['viewer', 'operator', 'manager', 'owner'].map((r) => (
                      <option value={r}>{r}</option>
                    ))}
                  </select>{' '}
                  <button type="button" class="danger" onClick={() => act(() => del(base + seg(m.user)))} aria-label={`remove ${m.user}`}>
                    remove
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {owner && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            act(() => post(base, { user: user.trim(), role: newRole }));
          }}
        >
          <label>
            Invite user <input required name="member-user" value={user} onInput={(e) => setUser(e.currentTarget.value)} />
          </label>
          <label>
            as{' '}
            <select name="member-role" value={newRole} onChange={(e) => setNewRole(e.currentTarget.value)}>
              {['viewer', 'operator', 'manager', 'owner'].map((r) => (
                <option value={r}>{r}</option>
              ))}
            </select>
          </label>
          <button type="submit">Invite</button>
        </form>
      )}
      <Notice error={error} />
    </section>
  );
}

export function ViDetail({ name, roles, admin, onChange }) {
  const vi = useLoad(() => get('/vis' + seg(name)), [name]);
  // The default VI may use every template of the cloud.
  const all = useLoad(() => (name === 'default' ? get('/templates?limit=1000') : Promise.resolve(null)), [name]);
  const [listKey, setListKey] = useState(0);
  const data = vi.data;
  const role = admin ? 'admin' : data ? data.role : roles[name];
  const templates = name === 'default' ? ((all.data && all.data.templates) || []).filter((t) => !t.vi).map((t) => t.name) : (data && data.templates) || [];
  const changed = () => {
    vi.reload();
    onChange && onChange();
  };
  return (
    <section aria-labelledby="vi-title">
      <h2 id="vi-title">
        VI {name} {role && <span class="badge">{role}</span>}
      </h2>
      <Notice error={vi.error} />
      {!data && !vi.error && <Loading what="the VI" />}
      {data && (
        <div class="columns">
          <div>
            {data.description && <p>{data.description}</p>}
            <h3>Quota</h3>
            <Quota vi={data} />
            <h3>IP pool</h3>
            <p>{data.pool || <span class="muted">none: its VMs take no address</span>}</p>
            <h3>Templates</h3>
            <p>{templates.length ? templates.join(', ') : <span class="muted">none</span>}</p>
            <Members vi={data} role={role} onChange={changed} />
          </div>
          <div>
            {may(role, 'manager') && (
              <VmCreate
                vi={name}
                templates={templates}
                onCreated={() => {
                  setListKey((k) => k + 1);
                  changed();
                }}
              />
            )}
          </div>
        </div>
      )}
      <VmList key={listKey} vi={name} roles={roles} admin={admin} />
    </section>
  );
}

