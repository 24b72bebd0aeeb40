import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, TEST_CHALLENGE } from '../support/test-server';
import { startServerProcess } from '../support/server-process';
import { ScepClient } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';
import { Database } from '../../src/db/database';

const ROOT = path.resolve(__dirname, '../../..');
const BULK = 2000;

/**
 * Runs `scepter integration delete ID --yes --force`. Times count from the preview on stderr (printed
 * just before the deleting transaction starts), so kills land in the deletion, not in node's start-up.
 */
function deleteCli(
  env: Record<string, string>,
  id: string,
  killAfterMs?: number,
): Promise<{ code: number | null; signal: string | null; ms: number; err: string }> {
  return new Promise((resolve) => {
    let started = Date.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'scepter'), 'integration', 'delete', id, '--yes', '--force'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    let previewed = false;
    child.stderr.on('data', (d) => {
      err += d;
      if (previewed || !/Deleting it revokes/.test(err)) return;
      previewed = true;
      started = Date.now();
      if (killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.on('exit', (code, signal) => (clearTimeout(timer), resolve({ code, signal, ms: Date.now() - started, err })));
  });
}

/**
 * A SIGKILL during `integration delete` leaves all or nothing: either every certificate is
 * revoked and the integration deleted, or none is and it is intact (SQLite, the embedded default).
 */
describe('crash safety: SIGKILL during integration delete', function () {
  this.timeout(90_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-crashdel-'));
  const template = path.join(dir, 'template.sqlite');
  let env: Record<string, string>;
  let integrationId: string;
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A fresh copy of the prepared database, and the env pointing the CLI at it. */
  const copy = (name: string) => {
    const file = path.join(dir, `${name}.sqlite`);
    fs.copyFileSync(template, file);
    return { ...env, SCEPTER_DATABASE: file };
  };

  async function state(file: string): Promise<{ total: number; revoked: number; deleted: boolean }> {
    const db = await Database.open(file);
    try {
      const [c] = await db.manager.query(
        "SELECT COUNT(*) AS total, SUM(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END) AS revoked FROM certificates WHERE integration_id = ?",
        [integrationId],
      );
      const [i] = await db.manager.query('SELECT deleted_at FROM integrations WHERE id = ?', [integrationId]);
      return { total: Number(c.total), revoked: Number(c.revoked ?? 0), deleted: i.deleted_at !== null };
    } finally {
      await db.close();
    }
  }

  before(async () => {
    const port = await freeTcpPort();
    env = {
      SCEPTER_HTTP_PORT: String(port),
      SCEPTER_HOST: '127.0.0.1',
      SCEPTER_TLS_PORT: '0',
      SCEPTER_DATABASE: template,
      SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
      SCEPTER_CA_KEY_BITS: '2048',
      SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
      SCEPTER_LOG_LEVEL: 'warn',
    };
    const server = await startServerProcess(env);
    let serial: string;
    try {
      const client = new ScepClient(`http://127.0.0.1:${port}/scep`);
      const r = await client.enroll({
        cas: await client.getCaCertificates(),
        challenge: TEST_CHALLENGE,
        subject: [{ type: 'CN', value: 'crash-del-template' }],
      });
      expect(r.status).to.equal(PkiStatus.SUCCESS);
      serial = r.certificate!.serialHex;
    } finally {
      await server.kill('SIGTERM');
    }
    const db = await Database.open(template);
    try {
      const made = await new Promise<string>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [path.join(ROOT, 'bin', 'scepter'), '--json', 'integration', 'create', '--type', 'ios-certs', '--name', 'doomed', '--allow-legacy'],
          { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`integration create exited ${code}`))));
      });
      integrationId = (JSON.parse(made) as { id: string }).id;
      // bulk: copies of the one real certificate under fresh serials, all issued by the doomed integration
      await db.manager.query(
        `INSERT INTO certificates (serial, subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, transaction_id, endpoint_id, integration_id, device_id, status, created_at)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${BULK})
         SELECT printf('B%015X', i), subject, fingerprint_sha256, public_key_hash, not_before, not_after, der, 'bulk-' || i, endpoint_id, ?, 'device-' || (i % 500), status, created_at FROM certificates, n WHERE serial = ?`,
        [integrationId, serial!],
      );
    } finally {
      await db.close();
    }
    const s = await state(template);
    expect(s).to.deep.equal({ total: BULK, revoked: 0, deleted: false });
  });

  it(`kills at random points leave all ${BULK} revoked and the integration deleted, or none and it intact`, async () => {
    const full = await deleteCli(copy('calibrate'), integrationId);
    expect(full.code, full.err).to.equal(0);
    const outcomes: string[] = [];
    let lastIntact: Record<string, string> | undefined;
    for (let run = 0; run < 12; run++) {
      const runEnv = copy(`run-${run}`);
      // anywhere from the start of the deletion to a little past its usual end
      const at = Math.round(full.ms * 1.1 * Math.random());
      const r = await deleteCli(runEnv, integrationId, at);
      const s = await state(runEnv.SCEPTER_DATABASE);
      const all = s.deleted && s.revoked === BULK;
      const none = !s.deleted && s.revoked === 0;
      expect(all || none, `run ${run} killed at ${at} ms: ${JSON.stringify(s)}`).to.equal(true);
      outcomes.push(`${at}ms:${r.signal ? 'killed' : 'finished'}:${all ? 'all' : 'none'}`);
      if (none) lastIntact = runEnv;
    }
    console.log(`      uninterrupted deletion ${full.ms} ms after the preview; runs: ${outcomes.join(' ')}`);
    // a crashed delete leaves nothing in the way of a completed one
    const finalEnv = lastIntact ?? copy('final');
    const done = await deleteCli(finalEnv, integrationId);
    expect(done.code, done.err).to.equal(0);
    expect(await state(finalEnv.SCEPTER_DATABASE)).to.deep.equal({ total: BULK, revoked: BULK, deleted: true });
  });
});
