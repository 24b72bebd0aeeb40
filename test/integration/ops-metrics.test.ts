import { expect } from 'chai';
import { PkiStatus } from '../../src/scep/scep.types';
import { startTestServer, TestServer } from '../support/test-server';
import { pooledKeys } from '../support/keys';
import { parsePromText, Sample, sumOf } from '../support/prom-text';
import { issue, ocspQuery, scratch } from './revocation-support';
import { startWs1Simulator } from '../../scripts/ws1-sim/ws1-simulator';

async function scrape(server: TestServer): Promise<Sample[]> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).to.equal(200);
  expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
  return parsePromText(await res.text());
}

async function readyz(
  server: TestServer,
): Promise<{ status: number; body: { status: string; failed: string[]; checks: { name: string; ok: boolean; detail?: string }[] } }> {
  const res = await fetch(`${server.url}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

describe('ops: /metrics and /readyz', function () {
  this.timeout(120_000);
  let server: TestServer;
  let other: TestServer;
  const files = scratch();

  before(async () => {
    server = await startTestServer();
    other = await startTestServer({ SCEPTER_AUTH_MAX_FAILURES: '1' });
  });
  after(async () => {
    await server?.destroy();
    await other?.destroy();
  });

  it('a scrape after enrollments, trust checks, OCSP, CRL and challenge fetches shows each counter moved', async () => {
    const before = await scrape(server);
    const [k1, k2, k3] = await pooledKeys(3);
    const a = await issue(server, files.dir, 'metrics-dev-1', k1);
    await issue(server, files.dir, 'metrics-dev-2', k2);
    // a wrong challenge: a signed FAILURE with failInfo badRequest
    const cas = await server.client.getCaCertificates();
    const refused = await server.client.enroll({ cas, subject: [{ type: 'CN', value: 'metrics-bad' }], challenge: 'not-the-challenge', key: k3 });
    expect(refused.status).to.equal(PkiStatus.FAILURE);
    // garbage before decryption: HTTP 400
    expect(
      (await fetch(`${server.scepUrl}?operation=PKIOperation`, { method: 'POST', body: 'garbage', headers: { 'Content-Type': 'application/x-pki-message' } }))
        .status,
    ).to.equal(400);
    // device trust without a certificate: deny with a reason
    const trust = await fetch(`${server.url}/v1/device-trust?user=alice`);
    const decision = (await trust.json()) as { decision: string; reason: string };
    // OCSP: one good answer (openssl), one malformed request
    const ocsp = await ocspQuery(server, [a.pem]);
    expect(ocsp.out).to.contain(': good');
    await fetch(`${server.url}/ocsp`, { method: 'POST', body: 'nonsense', headers: { 'Content-Type': 'application/ocsp-request' } });
    expect((await fetch(`${server.url}/crl/ca.crl`)).status).to.equal(200);
    // the challenge URL without credentials
    expect((await fetch(`${server.url}/certsrv/mscep_admin/`)).status).to.equal(401);

    const after = await scrape(server);
    const moved = (name: string, labels: Record<string, string> = {}) => sumOf(after, name, labels) - sumOf(before, name, labels);
    expect(moved('scepter_enrollments_total', { outcome: 'issued' })).to.equal(2);
    expect(moved('scepter_enrollments_total', { outcome: 'refused', fail_info: 'badRequest' })).to.equal(1);
    expect(moved('scepter_scep_pki_operations_total', { message_type: 'PKCSReq', status: 'SUCCESS' })).to.equal(2);
    expect(moved('scepter_scep_pki_operations_total', { status: 'bad_request' })).to.equal(1);
    expect(moved('scepter_scep_request_duration_seconds_count', { operation: 'PKCSReq' })).to.equal(3);
    expect(moved('scepter_scep_request_duration_seconds_count', { operation: 'GetCACert' })).to.be.at.least(1);
    expect(moved('scepter_trust_decisions_total', { decision: decision.decision, reason: decision.reason })).to.equal(1);
    expect(moved('scepter_ocsp_requests_total', { method: 'POST', status: 'successful' })).to.equal(1);
    expect(moved('scepter_ocsp_requests_total', { method: 'POST', status: 'malformedRequest' })).to.equal(1);
    expect(moved('scepter_crl_requests_total', { code: '200' })).to.equal(1);
    expect(moved('scepter_challenge_fetches_total', { result: 'unauthorized' })).to.equal(1);
    expect(moved('scepter_http_requests_total', { area: 'scep', code: '400' })).to.equal(1);
    // prom-client's process metrics, event-loop lag among them
    expect(after.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).to.equal(true);
    expect(after.some((s) => s.name === 'process_resident_memory_bytes')).to.equal(true);
  });

  it('counts WS1 syncs by result, with their duration and devices', async () => {
    const sim = await startWs1Simulator({ devicesPerPlatform: { Android: 40, Apple: 0 }, seed: 3 });
    try {
      const s = server.app.services;
      const actor = { who: 'test', from: 'test' };
      const id = (await s.integrations.create({ type: 'android', name: 'Metrics Androids', allowLegacy: false }, actor)).id;
      await s.ws1Settings.configure(
        id,
        { baseUrl: sim.url, username: sim.credentials.username, password: sim.credentials.password, apiKey: sim.credentials.tenantCode },
        actor,
      );
      const ok = await s.ws1Sync.sync(id);
      expect(ok!.ok).to.equal(true);
      sim.setFault({ type: 'status', status: 401 });
      const failed = await s.ws1Sync.sync(id);
      expect(failed!.ok).to.equal(false);
      const m = await scrape(server);
      expect(sumOf(m, 'scepter_ws1_syncs_total', { result: 'success' })).to.equal(1);
      expect(sumOf(m, 'scepter_ws1_syncs_total', { result: 'failure' })).to.equal(1);
      expect(sumOf(m, 'scepter_ws1_sync_duration_seconds_count', { result: 'success' })).to.equal(1);
      expect(sumOf(m, 'scepter_ws1_sync_devices', { integration: id }))
        .to.equal((ok as { fetched: number }).fetched)
        .and.be.greaterThan(0);
    } finally {
      await sim.close();
    }
  });

  it('each app counts on a registry of its own', async () => {
    const mine = sumOf(await scrape(server), 'scepter_enrollments_total');
    const theirs = sumOf(await scrape(other), 'scepter_enrollments_total');
    expect(mine).to.be.greaterThan(0);
    expect(theirs).to.equal(0);
  });

  it('counts limiter refusals (429) of the challenge URL', async () => {
    const bad = { headers: { authorization: `Basic ${Buffer.from('nobody:wrong').toString('base64')}` } };
    expect((await fetch(`${other.url}/certsrv/mscep_admin/`, bad)).status).to.equal(401);
    expect((await fetch(`${other.url}/certsrv/mscep_admin/`, bad)).status).to.equal(429);
    const m = await scrape(other);
    expect(sumOf(m, 'scepter_auth_limiter_refusals_total', { area: 'challenge' })).to.equal(1);
    expect(sumOf(m, 'scepter_challenge_fetches_total', { result: 'limited' })).to.equal(1);
    expect(sumOf(m, 'scepter_challenge_fetches_total', { result: 'unauthorized' })).to.equal(1);
  });

  it('/readyz answers 200 with every check, and 503 naming the database when it refuses writes', async () => {
    const ok = await readyz(server);
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    expect(ok.body.failed).to.deep.equal([]);
    expect(ok.body.checks.map((c) => c.name).sort()).to.deep.equal(['ca_key', 'crl', 'database', 'public_url']);
    expect(ok.body.checks.every((c) => c.ok)).to.equal(true);

    // the server's own SQLite connection turned read-only: every write fails as on a read-only file
    await server.app.services.db.dataSource.query('PRAGMA query_only = ON');
    try {
      const bad = await readyz(server);
      expect(bad.status).to.equal(503);
      expect(bad.body.failed).to.deep.equal(['database']);
      expect(bad.body.checks.find((c) => c.name === 'database')!.detail).to.match(/readonly|read-only/i);
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
    } finally {
      await server.app.services.db.dataSource.query('PRAGMA query_only = OFF');
    }
    expect((await readyz(server)).status).to.equal(200);
  });

  it('/readyz flags the localhost default public URL', async () => {
    const local = await startTestServer({ SCEPTER_PUBLIC_URL: '' });
    try {
      const r = await readyz(local);
      expect(r.status).to.equal(503);
      expect(r.body.failed).to.deep.equal(['public_url']);
      expect(r.body.checks.find((c) => c.name === 'public_url')!.detail).to.contain('SCEPTER_PUBLIC_URL is not set');
    } finally {
      await local.destroy();
    }
  });
});
