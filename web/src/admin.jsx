// The administrator's views: users, VIs (quotas, templates granted), templates and the
// audit log. The controller refuses anyone else; the page offers them to the
// administrator alone.
import { useRef, useState } from 'preact/hooks';
import { del, get, post, put, query, seg } from './api.js';
import { Loading, Notice, mib, useLoad, when, Head } from './ui.jsx';

// A form's submit that runs fn, shows its error, and calls done after.
function useSubmit(done) {
  const [error, setError] = useState(null);
  const run = (fn) => async (e) => {
    if (e && e.preventDefault) e.preventDefault();
    try {
      await fn();
      setError(null);
      done && done();
    } catch (err) {
      setError(err);
    }
  };
  return { run, error };
}

const field = (set, key) => (e) => set((o) => ({ ...o, [key]: e.currentTarget.value }));

export function Users() {
  const users = useLoad(() => get('/users?limit=1000'), []);
  const [form, setForm] = useState({ name: '', password: '', admin: false });
  const act = useSubmit(users.reload);
  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <Notice error={users.error || act.error} />
      {!users.data && !users.error && <Loading what="users" />}
      <table>
        <Head cols={['User', 'Administrator', 'State', 'Last login', 'Sessions', 'Change']} />
        <tbody>
          {((users.data && users.data.users) || []).map((u) => (
            <tr key={u.name}>
              <td>{u.name}</td>
              <td>{u.admin ? 'yes' : ''}</td>
              <td>{u.disabled ? 'disabled' : 'active'}</td>
              <td>{when(u.last_login)}</td>
              <td>{u.sessions}</td>
              <td>
                <button type="button" onClick={act.run(() => post('/users' + seg(u.name, u.disabled ? 'enable' : 'disable')))} aria-label={`${u.disabled ? 'enable' : 'disable'} user ${u.name}`}>
                  {u.disabled ? 'enable' : 'disable'}
                </button>{' '}
                <button type="button" class="danger" onClick={act.run(() => confirm(`delete the user ${u.name}?`) && del('/users' + seg(u.name)))} aria-label={`delete user ${u.name}`}>
                  delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="inline" onSubmit={act.run(() => post('/users', { name: form.name.trim(), password: form.password, admin: form.admin }))}>
        <h3>A new user</h3>
        <label>
          Name <input required name="user-name" value={form.name} onInput={field(setForm, 'name')} />
        </label>
        <label>
          Password <input required type="password" name="user-password" autocomplete="new-password" value={form.password} onInput={field(setForm, 'password')} />
        </label>
        <label>
          <input type="checkbox" name="user-admin" checked={form.admin} onChange={(e) => setForm((o) => ({ ...o, admin: e.currentTarget.checked }))} /> administrator
        </label>
        <button type="submit">Create</button>
      </form>
    </section>
  );
}

export function Templates() {
  const templates = useLoad(() => get('/templates?limit=1000'), []);
  const [form, setForm] = useState({ name: '', vcpus: '1', memory_mb: '512', disk_gb: '0', image: '' });
  const act = useSubmit(templates.reload);
  const create = () =>
    post('/templates', {
      name: form.name.trim(),
      vcpus: Number(form.vcpus),
      memory_mb: Number(form.memory_mb),
      disk_gb: Number(form.disk_gb),
      image: form.image.trim(),
    });
  return (
    <section aria-labelledby="templates-title">
      <h2 id="templates-title">Templates</h2>
      <Notice error={templates.error || act.error} />
      <table>
        <Head cols={['Template', 'VI', 'vCPUs', 'Memory', 'Disk', 'Image', 'Change']} />
        <tbody>
          {((templates.data && templates.data.templates) || []).map((t) => (
            <tr key={`${t.vi}:${t.name}`}>
              <td>{t.name}</td>
              <td>{t.vi || 'the cloud'}</td>
              <td>{t.vcpus}</td>
              <td>{mib(t.memory_mb)}</td>
              <td>{t.disk_gb ? `${t.disk_gb} GB` : ''}</td>
              <td>{t.image}</td>
              <td>
                <button type="button" class="danger" onClick={act.run(() => del((t.vi ? '/vis' + seg(t.vi) : '') + '/templates' + seg(t.name)))} aria-label={`delete template ${t.name}`}>
                  delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="inline" onSubmit={act.run(create)}>
        <h3>A new template</h3>
        <label>
          Name <input required name="template-name" value={form.name} onInput={field(setForm, 'name')} />
        </label>
        <label>
          vCPUs <input required type="number" min="1" name="template-vcpus" value={form.vcpus} onInput={field(setForm, 'vcpus')} />
        </label>
        <label>
          Memory (MiB) <input required type="number" min="16" name="template-memory" value={form.memory_mb} onInput={field(setForm, 'memory_mb')} />
        </label>
        <label>
          Disk (GB) <input type="number" min="0" name="template-disk" value={form.disk_gb} onInput={field(setForm, 'disk_gb')} />
        </label>
        <label>
          Image <input name="template-image" value={form.image} onInput={field(setForm, 'image')} />
        </label>
        <button type="submit">Create</button>
      </form>
    </section>
  );
}

function ViGovern({ vi, templates, done }) {
  const q = vi.quota || {};
  const [quota, setQuota] = useState({ vms: q.vms || 0, vcpus: q.vcpus || 0, memory_mb: q.memory_mb || 0, disk_gb: q.disk_gb || 0 });
  const [grant, setGrant] = useState('');
  const act = useSubmit(done);
  const numbers = Object.fromEntries(Object.entries(quota).map(([k, v]) => [k, Number(v)]));
  return (
    <li class="card">
      <h3>{vi.name}</h3>
      <form class="inline" onSubmit={act.run(() => put('/vis' + seg(vi.name, 'quota'), numbers))} aria-label={`quota of ${vi.name}`}>
        {['vms', 'vcpus', 'memory_mb', 'disk_gb'].map((k) => (
          <label key={k}>
            {k.replace('_mb', ' (MiB)').replace('_gb', ' (GB)')} <input type="number" min="0" value={quota[k]} name={`quota-${k}`} onInput={field(setQuota, k)} />
          </label>
        ))}
        <button type="submit">Set quota</button>
      </form>
      <p>
        Templates:{' '}
        {(vi.templates || []).map((t) => (
          <button type="button" class="chip" onClick={act.run(() => del('/vis' + seg(vi.name, 'grants', t)))} aria-label={`take ${t} from ${vi.name}`}>
            {t} ✕
          </button>
        ))}
      </p>
      <form class="inline" onSubmit={act.run(() => put('/vis' + seg(vi.name, 'grants', grant)))}>
        <label>
          Grant{' '}
          <select value={grant} onChange={(e) => setGrant(e.currentTarget.value)} required name="grant-template">
            <option value="">a template…</option>
            {templates.map((t) => (
              <option value={t}>{t}</option>
            ))}
          </select>
        </label>
        <button type="submit">Grant</button>{' '}
        <button type="button" class="danger" onClick={act.run(() => confirm(`delete the VI ${vi.name}?`) && del('/vis' + seg(vi.name)))}>
          Delete the VI
        </button>
      </form>
      <Notice error={act.error} />
    </li>
  );
}

export function ViAdmin({ onChange }) {
  const vis = useLoad(() => get('/vis?limit=1000'), []);
  const templates = useLoad(() => get('/templates?limit=1000'), []);
  const [form, setForm] = useState({ name: '', description: '', owner: '' });
  const done = () => {
    vis.reload();
    onChange && onChange();
  };
  const act = useSubmit(done);
  const names = ((templates.data && templates.data.templates) || []).filter((t) => !t.vi).map((t) => t.name);
  return (
    <section aria-labelledby="vi-admin-title">
      <h2 id="vi-admin-title">Virtual Infrastructures: quotas and templates</h2>
      <Notice error={vis.error || act.error} />
      <form class="inline" onSubmit={act.run(() => post('/vis', { name: form.name.trim(), description: form.description, owner: form.owner.trim() }))}>
        <h3>A new VI</h3>
        <label>
          Name <input required name="vi-name" value={form.name} onInput={field(setForm, 'name')} />
        </label>
        <label>
          Description <input name="vi-description" value={form.description} onInput={field(setForm, 'description')} />
        </label>
        <label>
          Owner <input name="vi-owner" value={form.owner} onInput={field(setForm, 'owner')} />
        </label>
        <button type="submit">Create</button>
      </form>
      <ul class="cards">
        {((vis.data && vis.data.vis) || []).map((vi) => (
          <ViGovern key={vi.name + JSON.stringify(vi.quota) + (vi.templates || []).join()} vi={vi} templates={names} done={done} />
        ))}
      </ul>
    </section>
  );
}

export function Audit() {
  const [pages, setPages] = useState([]);
  const [after, setAfter] = useState('');
  const first = useLoad(() => get('/audit' + query({ limit: 50 })), []);
  const [error, setError] = useState(null);
  const entries = [...((first.data && first.data.entries) || []), ...pages];
  const next = after || (first.data && first.data.next);
  const busy = useRef(false);
  const more = async () => {
    if (busy.current) return; // one page at a time: two clicks would load it twice
    busy.current = true;
    try {
      const page = await get('/audit' + query({ limit: 50, after: next }));
      setPages((p) => p.concat(page.entries || []));
      setAfter(page.next || '');
      if (!page.next) setAfter('end');
    } catch (e) {
      setError(e);
    } finally {
      busy.current = false;
    }
  };
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <Notice error={first.error || error} />
      <table>
        <Head cols={['When', 'User', 'Request', 'Subject', 'Status', 'Reason']} />
        <tbody>
          {entries.map((a) => (
            <tr key={a.id}>
              <td>{new Date(a.time_us / 1000).toLocaleString()}</td>
              <td>{a.user || a.credential}</td>
              <td>{a.request}</td>
              <td>{a.vi && a.vi !== 'default' ? `${a.vi}:${a.subject}` : a.subject}</td>
              <td>{a.status}</td>
              <td>{a.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next && next !== 'end' && (
        <button type="button" onClick={more}>
          Older entries
        </button>
      )}
    </section>
  );
}
