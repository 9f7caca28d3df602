// The dashboard in Debian's Chromium, driven by playwright-core: what a person does, and
// what the page must show. Waits for conditions (never for times), so a slow machine is
// only slower. Prints "ok WHAT" per check; exits non-zero at the first failure.
// usage: node dashboard.mjs BASE_URL ADMIN_PASSWORD VERA_PASSWORD SCREENSHOT_DIR
// The cloud (tests/integration/dashboard.sh): node1 (monitored) and big; a template tiny;
// a VI lab of at most one VM that may use tiny, where vera is a viewer; 1,000 running
// VMs bulk-0000..bulk-0999 in the default VI.
import { chromium } from 'playwright-core';
import path from 'node:path';

const [base, adminPassword, veraPassword, shots] = process.argv.slice(2);
const TIMEOUT = 60000; // for each condition: generous, a slow machine only waits longer

const browser = await chromium.launch({
  executablePath: '/usr/lib/chromium/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
context.setDefaultTimeout(TIMEOUT);
const page = await context.newPage();

// Every console error and page error, with the step it happened in: at the end, none may
// remain but the refusals a step asked for.
let step = 'start';
const problems = [];
page.on('console', (m) => {
  if (m.type() === 'error') problems.push({ step, text: m.text() });
});
page.on('pageerror', (e) => problems.push({ step, text: 'uncaught: ' + e.message }));

const ok = (what) => console.log(`ok ${what}`);
async function shot(name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}
async function go(hash) {
  await page.goto(`${base}/#/${hash}`);
}
function fail(what) {
  console.log(`FAIL ${what} (in step ${step})`);
  throw new Error(what);
}

async function login(user, password) {
  await page.goto(base + '/');
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

// The state a VM's row shows, in a list on the page.
const rowState = (key) => page.locator(`tr[data-vm="${key}"] .badge`);

try {
  step = 'login page';
  await page.goto(base + '/');
  await page.getByRole('heading', { name: 'Maekin' }).waitFor();
  await shot('login');
  ok('the login page, with no refused request on a first visit');

  step = 'wrong password';
  await page.getByLabel('User').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('The user or the password is wrong.').waitFor();
  ok('a wrong password says so');

  step = 'overview';
  await login('admin', adminPassword);
  await page.getByTestId('hosts-up').filter({ hasText: '2' }).waitFor();
  await page.getByTestId('vms-running').filter({ hasText: '1000' }).waitFor();
  await page.waitForFunction(() => performance.getEntriesByName('maekin:overview-drawn').length === 1);
  await shot('overview');
  ok('the overview: 2 hosts up, 1000 VMs running, its performance mark set');

  step = 'create';
  await go('vis/lab');
  await page.getByRole('heading', { name: /VI lab/ }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('web-1');
  await page.getByLabel('Template').selectOption('tiny');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByText(/create web-1: done \(task \d+\)/).waitFor();
  await rowState('lab:web-1').filter({ hasText: 'running' }).waitFor();
  await page.locator('meter[aria-label="VMs: 1 of 1"]').waitFor();
  await shot('vi-lab');
  ok('web-1 created from tiny in lab: its task done, its row running, the quota bar full');

  step = 'quota';
  await page.getByLabel('Name', { exact: true }).fill('web-2');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const refusal = page.getByText(/create web-2 refused: .*quota/);
  await refusal.waitFor();
  ok(`a create over the quota shows the reason: "${(await refusal.textContent()).trim()}"`);

  step = 'stop';
  await page.getByRole('button', { name: 'stop web-1' }).click();
  await page.getByText(/stop web-1: done/).waitFor();
  await rowState('lab:web-1').filter({ hasText: 'stopped' }).waitFor();
  await page.getByRole('button', { name: 'start web-1' }).waitFor();
  ok('web-1 stopped from its row; start is offered now, stop no more');

  step = 'vm detail';
  await page.getByRole('link', { name: 'web-1' }).click();
  await page.getByRole('heading', { name: /VM web-1/ }).waitFor();
  await page.getByText('tiny', { exact: true }).waitFor();
  await shot('vm-web-1');
  ok("web-1's page: its fields and actions");

  step = 'live chart';
  await go('hosts/node1');
  const chart = page.locator('figure.chart', { hasText: 'CPU busy' }).first();
  await page.waitForFunction((el) => Number(el.dataset.points) >= 2, await chart.elementHandle());
  const before = Number(await chart.getAttribute('data-points'));
  await page.waitForFunction(([el, n]) => Number(el.dataset.points) > n, [await chart.elementHandle(), before]);
  await shot('host-node1');
  ok(`node1's live CPU chart moves: ${before} points, then more`);

  step = 'migrate';
  await page.goto(`${base}/#/hosts/big`);
  await page.locator('.chip[data-vm="bulk-0000"]').dragTo(page.locator('.target[data-host="node1"]'));
  await page.getByText(/Moving bulk-0000 to node1 is refused: live migration is not built yet/).waitFor();
  ok('a VM dragged onto another host: refused with the reason');
  // The same without a mouse: chosen with the keyboard, the same answer.
  const vmChoice = page.locator('select[name=move-vm]');
  const hostChoice = page.locator('select[name=move-to]');
  await vmChoice.focus();
  await page.keyboard.press('End'); // the last VM of the host
  const chosen = await vmChoice.inputValue();
  await hostChoice.focus();
  await page.keyboard.press('End'); // the last other host: node1
  if ((await hostChoice.inputValue()) !== 'node1') fail(`the keyboard chose ${await hostChoice.inputValue()}`);
  await page.keyboard.press('Tab'); // to the Move button
  await page.keyboard.press('Enter');
  await page.getByText(new RegExp(`Moving ${chosen} to node1 is refused`)).waitFor();
  ok(`the keyboard's way to move a VM (${chosen}): refused with the reason`);

  step = 'vm list';
  await page.evaluate(() => performance.clearMarks()); // the VI's list set one already
  await go('vms');
  await page.getByTestId('vm-count').filter({ hasText: /^100[01]\+? VMs$/ }).waitFor();
  await page.waitForFunction(() => performance.getEntriesByName('maekin:vms-drawn').length === 1);
  const drawn = await page.locator('table.vms tbody tr[data-vm]').count();
  if (drawn >= 200) fail(`the VM list drew ${drawn} rows of 1001: it should draw those in view`);
  await shot('vms');
  // Scrolled to the end, the list fetches the next page: all 1,001.
  await page.locator('.scroller').evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await page.getByTestId('vm-count').filter({ hasText: /^1001 VMs$/ }).waitFor();
  await page.locator('tr[data-vm="lab:web-1"], tr[data-vm="bulk-0999"]').first().waitFor();
  await page.getByLabel('Name starts with').fill('bulk-099');
  await page.getByTestId('vm-count').filter({ hasText: /^10 VMs$/ }).waitFor();
  const names = await page.locator('table.vms tbody tr[data-vm]').evaluateAll((rows) => rows.map((r) => r.dataset.vm));
  if (names.length !== 10 || names.some((n) => !n.startsWith('bulk-099'))) fail(`filtered by name: ${names}`);
  await page.getByLabel('Name starts with').fill('');
  await page.getByLabel('State').selectOption('stopped');
  await page.getByTestId('vm-count').filter({ hasText: /^1 VM$/ }).waitFor();
  await rowState('lab:web-1').filter({ hasText: 'stopped' }).waitFor();
  await shot('vms-stopped');
  ok(`the VM list of 1,001 draws ${drawn} rows, and filters by name (10) and by state (1)`);

  step = 'admin views';
  for (const [hash, heading] of [
    ['vis', 'Virtual Infrastructures'],
    ['hosts', 'Hosts'],
    ['admin/users', 'Users'],
    ['admin/templates', 'Templates'],
    ['admin/audit', 'Audit log'],
    ['admin/vis', /quotas and templates/],
  ]) {
    await go(hash);
    await page.getByRole('heading', { name: heading, exact: typeof heading === 'string' }).waitFor();
    await shot(hash.replace('/', '-'));
  }
  await go('admin/audit');
  await page.getByRole('cell', { name: 'vm_create' }).first().waitFor();
  ok('the administrator\'s views: VIs, hosts, users, templates, the audit log, quotas');

  step = 'logout';
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  ok('logged out');

  step = 'viewer';
  await login('vera', veraPassword);
  await go('vis/lab');
  await rowState('lab:web-1').filter({ hasText: 'stopped' }).waitFor();
  if (await page.locator('tr[data-vm="lab:web-1"] button').count()) fail('vera, a viewer, is offered an action on web-1');
  if (await page.getByRole('button', { name: 'Create', exact: true }).count()) fail('vera, a viewer, is offered the create form');
  if (await page.getByRole('link', { name: 'Users' }).count()) fail('vera is offered the administrator\'s views');
  await shot('viewer-lab');
  // The page offers nothing; a forged request with her cookie and CSRF token is refused.
  const csrf = await page.evaluate(async () => (await fetch('/api/v1/session')).headers.get('X-CSRF-Token'));
  const forged = await page.request.post(`${base}/api/v1/vis/lab/vms/web-1/start`, {
    headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' },
  });
  const answer = await forged.json();
  if (forged.status() !== 403 || !/operator/.test(answer.reason)) fail(`the forged start: ${forged.status()} ${JSON.stringify(answer)}`);
  ok(`vera is offered no action; a forged start is refused: 403 "${answer.reason}"`);

  // The only console errors: Chromium's own line for each refusal a step asked for.
  const asked = { 'wrong password': /status of 401/, quota: /status of 403/ };
  const unexpected = problems.filter((p) => !(asked[p.step] && asked[p.step].test(p.text)));
  if (unexpected.length) fail(`console errors: ${JSON.stringify(unexpected)}`);
  for (const s of Object.keys(asked)) if (!problems.some((p) => p.step === s)) fail(`no refusal logged in step ${s}: was it asked?`);
  ok('no console error on any page but the two refusals asked for (a wrong password, a create over quota)');
} catch (e) {
  await shot(`failed-${step.replace(/\W+/g, '-')}`).catch(() => {});
  console.log(`FAIL in step ${step}: ${e.message.split('\n')[0]}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
