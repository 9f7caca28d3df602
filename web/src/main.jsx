// Maekin's dashboard: log in, then the cloud around Virtual Infrastructures. It speaks
// only the gateway's public REST API and its WebSocket stream. Views are chosen by the
// URL's fragment (#/vis/lab), so every view has an address and the gateway serves one page.
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, all, del, get, onUnauthorized, post } from './api.js';
import * as stream from './stream.js';
import { Overview } from './overview.jsx';
import { ViDetail, ViList } from './vis.jsx';
import { VmDetail, VmList } from './vms.jsx';
import { HostDetail, HostList } from './hosts.jsx';
import { Audit, Templates, Users, ViAdmin } from './admin.jsx';
import { Notice } from './ui.jsx';
import './style.css';

function useRoute() {
  const decode = (part) => {
    try {
      return decodeURIComponent(part);
    } catch (e) {
      return part; // a malformed escape: the view says it finds nothing by that name
    }
  };
  const read = () => (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decode);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function Login({ onIn }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const reply = await post('/session', { user: user.trim(), password });
      onIn(reply.user);
    } catch (err) {
      setError(err.status === 401 ? new Error('The user or the password is wrong.') : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Maekin</h1>
        <label>
          User <input name="user" autocomplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} autofocus />
        </label>
        <label>
          Password <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <Notice error={error} />
      </form>
    </main>
  );
}

function Nav({ me, connected, onOut }) {
  const links = [
    ['overview', 'Overview'],
    ['vis', 'VIs'],
    ['vms', 'VMs'],
    ['hosts', 'Hosts'],
  ];
  if (me.admin)
    links.push(['admin/vis', 'VI quotas'], ['admin/users', 'Users'], ['admin/templates', 'Templates'], ['admin/audit', 'Audit']);
  return (
    <header class="top">
      <strong class="brand">Maekin</strong>
      <nav aria-label="views">
        {links.map(([href, label]) => (
          <a href={`#/${href}`}>{label}</a>
        ))}
      </nav>
      <span class={`live ${connected ? 'on' : 'off'}`} role="status" title={connected ? 'live updates on' : 'live updates reconnecting'}>
        {connected ? 'live' : 'reconnecting…'}
      </span>
      <span class="me">
        {me.name}
        {me.admin ? ' (administrator)' : ''}
      </span>
      <button type="button" onClick={onOut}>
        Log out
      </button>
    </header>
  );
}

const SIGNED_IN = 'maekin:signed-in'; // a mark, not the credential

function App() {
  const [me, setMe] = useState(undefined); // undefined: not known yet; null: logged out
  const [vis, setVis] = useState(null);
  const [visError, setVisError] = useState(null);
  const [connected, setConnected] = useState(false);
  const route = useRoute();

  useEffect(() => stream.onStatus(setConnected), []);
  // A session that ended (expired, logged out elsewhere): back to the login.
  useEffect(
    () =>
      onUnauthorized(() => {
        stream.stop();
        localStorage.removeItem(SIGNED_IN);
        setVis(null);
        setMe(null);
      }),
    [],
  );
  useEffect(() => {
    // Only a page that logged in asks who it is (the cookie is HTTP-only: unreadable here);
    // a first visit goes to the login at once, without a refused request.
    if (!localStorage.getItem(SIGNED_IN)) return setMe(null);
    get('/session').then(
      (who) => setMe(who.user),
      (e) => setMe(e instanceof ApiError && e.status === 401 ? null : (setVisError(e), null)),
    );
  }, []);
  const loadVis = useCallback(() => {
    all('/vis', 'vis').then(
      (list) => {
        setVis(list);
        setVisError(null);
      },
      setVisError,
    );
  }, []);
  useEffect(() => {
    if (!me) return;
    stream.start();
    loadVis();
  }, [me]);

  const logout = async () => {
    try {
      await del('/session');
    } catch (e) {
      // the session may be gone already: logged out either way
    }
    stream.stop();
    localStorage.removeItem(SIGNED_IN);
    setVis(null);
    setMe(null);
    location.hash = '';
  };

  if (me === undefined) return <p class="muted">Loading…</p>;
  if (!me)
    return (
      <>
        <Notice error={visError} />
        <Login
          onIn={(user) => {
            localStorage.setItem(SIGNED_IN, '1');
            setMe(user);
          }}
        />
      </>
    );
  const roles = Object.fromEntries((vis || []).map((vi) => [vi.name, vi.role]));
  const [view, a, b] = route;
  let body;
  if (view === 'vis' && a) body = <ViDetail key={a} name={a} roles={roles} admin={me.admin} onChange={loadVis} />;
  else if (view === 'vis') body = <ViList vis={vis} error={visError} />;
  else if (view === 'vms' && a && b) body = <VmDetail key={`${a}/${b}`} vi={a} name={b} roles={roles} admin={me.admin} />;
  else if (view === 'vms') body = <VmList roles={roles} admin={me.admin} />;
  else if (view === 'hosts' && a) body = <HostDetail key={a} name={a} />;
  else if (view === 'hosts') body = <HostList />;
  else if (view === 'admin' && me.admin && a === 'users') body = <Users />;
  else if (view === 'admin' && me.admin && a === 'templates') body = <Templates />;
  else if (view === 'admin' && me.admin && a === 'audit') body = <Audit />;
  else if (view === 'admin' && me.admin && a === 'vis') body = <ViAdmin onChange={loadVis} />;
  else body = <Overview admin={me.admin} />;
  return (
    <>
      <a
        class="skip"
        href="#/"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main').focus();
        }}
      >
        Skip to the content
      </a>
      <Nav me={me} connected={connected} onOut={logout} />
      <main id="main" tabIndex="-1">
        {body}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app'));
