#!/usr/bin/env node
// `npm start` and friends build through this: it runs `tsc -p .` (incremental) only when a source,
// tsconfig.json or package.json is newer than the last successful build, so a start with nothing
// changed does not recompile. `--root DIR` builds another project (the tests use a scratch one);
// `--allow-failure` (npm's prepare step) reports a failed build without failing `npm install`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const at = process.argv.indexOf('--root');
const root = path.resolve(at > 0 ? process.argv[at + 1] : path.join(__dirname, '..'));
const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));
const outDir = path.resolve(root, (tsconfig.compilerOptions && tsconfig.compilerOptions.outDir) || 'dist');
const stamp = path.join(outDir, '.build-stamp');

/** Newest mtime under the compiled inputs; directories count too, so a deleted file is a change. */
function newest(entry) {
  let st;
  try {
    st = fs.statSync(entry);
  } catch {
    return 0;
  }
  let t = st.mtimeMs;
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(entry)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const full = path.join(entry, name);
      if (full === outDir) continue;
      t = Math.max(t, newest(full));
    }
  }
  return t;
}

/** node_modules/typescript/bin/tsc in `dir` or a parent folder (the package exports no bin path). */
function findTsc(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, 'node_modules', 'typescript', 'bin', 'tsc');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) return undefined;
  }
}

const inputs = [...(tsconfig.include || ['.']), 'tsconfig.json', 'package.json'].map((p) => path.join(root, p));
const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
if (built && Math.max(...inputs.map(newest)) <= built) {
  if (process.argv.includes('--verbose')) process.stdout.write('build: up to date\n');
  process.exit(0);
}
const tsc = findTsc(root) || findTsc(__dirname);
if (!tsc) {
  process.stderr.write(`build: TypeScript is not installed under ${root} (run npm install)\n`);
  process.exit(1);
}
const r = spawnSync(process.execPath, [tsc, '-p', root], { stdio: 'inherit' });
if (r.status !== 0) {
  // npm install (prepare) must not fail on a build error: it is shown, and bin/scepter or npm start try again
  if (process.argv.includes('--allow-failure')) {
    process.stderr.write('build: tsc failed (see above); dist/ is not up to date\n');
    process.exit(0);
  }
  process.exit(r.status === null ? 1 : r.status);
}
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
if (process.argv.includes('--verbose')) process.stdout.write('build: compiled\n');
