// The dashboard's figures in Debian's Chromium (tests/bench/dashboard.sh): the bytes of
// script and style of a cold load (as sent: gzip-compressed), then, REPEAT times each,
// the time from a navigation to the performance mark the page sets once a view's data is
// drawn: the VM list (maekin:vms-drawn) and the overview (maekin:overview-drawn).
// usage: node bench.mjs BASE_URL ADMIN_PASSWORD REPEAT
import { chromium } from 'playwright-core';

const [base, password, repeatText] = process.argv.slice(2);
const repeat = Number(repeatText) || 5;
const browser = await chromium.launch({
  executablePath: '/usr/lib/chromium/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
context.setDefaultTimeout(60000);
const page = await context.newPage();

// A cold load: what the script and style weigh as they come over the wire.
const sizes = [];
page.on('requestfinished', async (request) => {
  const type = request.resourceType();
  if (type === 'script' || type === 'stylesheet') sizes.push((await request.sizes()).responseBodySize);
});
await page.goto(base + '/');
await page.getByLabel('User').fill('admin');
await page.getByLabel('Password').fill(password);
await page.getByRole('button', { name: 'Log in' }).click();
await page.getByRole('button', { name: 'Log out' }).waitFor();
const bytes = sizes.reduce((a, b) => a + b, 0);
console.log(`cold load: ${bytes} bytes of script and style in ${sizes.length} files, gzip-compressed (target: under 300 KB)`);

async function measure(hash, mark, ready) {
  const times = [];
  for (let i = 0; i < repeat; i++) {
    await page.goto('about:blank');
    await page.goto(`${base}/#/${hash}`);
    await page.waitForFunction((name) => performance.getEntriesByName(name).length > 0, mark);
    await ready();
    times.push(await page.evaluate((name) => performance.getEntriesByName(name)[0].startTime, mark));
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const worst = times[times.length - 1];
  console.log(`${hash}: navigation to ${mark}: median ${median.toFixed(0)} ms, worst ${worst.toFixed(0)} ms of ${repeat} (target: within 1000 ms)`);
}
await measure('vms', 'maekin:vms-drawn', () => page.getByTestId('vm-count').filter({ hasText: /^1000/ }).waitFor());
await measure('overview', 'maekin:overview-drawn', () => page.getByTestId('vms-running').waitFor());
await browser.close();
