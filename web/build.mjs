// Builds the dashboard into OUT (default ../build/web): index.html and
// assets/main-HASH.js and .css (bundled, minified; the hash changes with the contents,
// so the gateway lets browsers cache them for good), each beside its gzip-compressed
// copy (NAME.gz) that the gateway sends to browsers that accept gzip.
// usage: node build.mjs [OUT]
import * as esbuild from 'esbuild';
import { gzipSync, constants } from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, '../build/web'));
const staging = out + '.new';
fs.rmSync(staging, { recursive: true, force: true });

const result = await esbuild.build({
  entryPoints: [path.join(here, 'src/main.jsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome109', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: path.join(staging, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`esbuild made no script or no style: ${outputs.join(', ')}`);
const html = fs.readFileSync(path.join(here, 'index.html'), 'utf8').replace('{{js}}', js).replace('{{css}}', css);
fs.writeFileSync(path.join(staging, 'index.html'), html);

let sent = 0;
for (const file of ['index.html', `assets/${js}`, `assets/${css}`]) {
  const full = path.join(staging, file);
  const gz = gzipSync(fs.readFileSync(full), { level: constants.Z_BEST_COMPRESSION });
  fs.writeFileSync(full + '.gz', gz);
  sent += gz.length;
  console.log(`web: ${file} ${fs.statSync(full).size} bytes, ${gz.length} gzipped`);
}
console.log(`web: ${sent} bytes gzipped in all, into ${out}`);
// The new build takes the old one's place by two renames (the old removed after): a
// gateway that starts meanwhile reads one whole build or the other, but for the instant
// between the renames, when it finds none and serves the API alone.
const old = out + '.old';
fs.rmSync(old, { recursive: true, force: true });
if (fs.existsSync(out)) fs.renameSync(out, old);
fs.renameSync(staging, out);
fs.rmSync(old, { recursive: true, force: true });
