import { expect } from 'chai';
import http from 'node:http';
import { Writable } from 'node:stream';
import { startWs1Simulator, type Ws1Simulator } from '../../scripts/ws1-sim/ws1-simulator';
import { createLogger } from '../../src/shared/logger';
import { ScepClient } from '../../src/scep/client/scep-client';
import { PkiStatus } from '../../src/scep/scep.types';
import { pooledKeys } from '../support/keys';
import { ATTR, rawCsr, selfSigned, sendPkiMessage, sendRawPkcsReq, utf8Name } from '../support/raw-scep';
import { startTestServer, TEST_CHALLENGE, type TestServer } from '../support/test-server';
import { basic, httpGet } from '../integration/integrations-support';
import { adminApi } from './security-support';

const ACTOR = { who: 'test', from: 'test' };
const UDID = '00008030-001A35E83C38802E';

/** Raw request: any method, any path (percent escapes sent as written), any body. */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// what a stack trace or internal detail looks like in a body
const INTERNALS = /\n\s+at |node_modules|\/src\/|\/dist\/|\.js:\d+|TypeError|SQLITE_|QueryFailedError/;

/**
 * Threats: a secret (API key, challenge credentials, a one-time challenge, the static challenge,
 * WS1 password or API key) reaches the log or the unauthenticated /metrics page, where log readers
 * and scrapers see it; and a bad request to an admin, ops or challenge route answers a 500 or shows
 * a stack trace or internal error text.
 */
describe('security: secrets stay out of logs and /metrics; no internals reach a client', function () {
  this.timeout(180_000);
  let sim: Ws1Simulator;
  let server: TestServer;
  const lines: string[] = [];
  let owner: string;
  let manager: string;
  let certs: { id: string; challengeUsername: string; challengePassword: string };
  let android: string;

  before(async () => {
    sim = await startWs1Simulator({ devicesPerPlatform: { Android: 2 }, seed: 5 });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    server = await startTestServer({ SCEPTER_SYNC_SCHEDULE: 'off' }, undefined, { logger: createLogger('trace', sink) });
    const s = server.app.services;
    owner = (await s.apiKeys.create('owner', ACTOR)).key;
    manager = (await s.apiKeys.create('application-manager', ACTOR)).key;
    certs = (await s.integrations.create({ type: 'ios-certs', name: 'certs', allowLegacy: true }, ACTOR)) as never;
    android = (await s.integrations.create({ type: 'android', name: 'androids', allowLegacy: false }, ACTOR)).id;
  });
  after(async () => {
    await server?.destroy();
    await sim?.close();
  });

  it('API keys, challenge credentials, challenges and WS1 secrets appear neither in the log (trace level), nor in /metrics, nor in the audit log', async () => {
    const secrets: Record<string, string> = {
      owner,
      manager,
      challengePassword: certs.challengePassword,
      staticChallenge: TEST_CHALLENGE,
      ws1Password: sim.credentials.password,
      ws1ApiKey: sim.credentials.tenantCode,
    };
    // WS1 configured, tested and synced through the API
    expect(
      (
        await adminApi(server.url, 'PUT', `/integrations/${android}/ws1`, owner, {
          url: sim.url,
          username: sim.credentials.username,
          password: sim.credentials.password,
          apiKey: sim.credentials.tenantCode,
        })
      ).status,
    ).to.equal(200);
    expect((await adminApi(server.url, 'POST', `/integrations/${android}/ws1/test`, manager)).body).to.include({ ok: true });
    expect((await adminApi(server.url, 'POST', `/integrations/${android}/ws1/sync`, manager)).status).to.equal(200);
    // a wrong WS1 password entered: the simulator refuses it, and that refusal is logged without it
    const wrongWs1 = 'Wrong-ws1-Password-77';
    secrets.wrongWs1 = wrongWs1;
    await adminApi(server.url, 'PUT', `/integrations/${android}/ws1`, owner, { password: wrongWs1 });
    await adminApi(server.url, 'POST', `/integrations/${android}/ws1/test`, owner);
    // challenge URL: good and bad credentials; JSON and HTML; bound to a device
    const page = await httpGet(`${server.url}/certsrv/mscep_admin/?deviceUid=${UDID}`, {
      ...basic(certs.challengeUsername, certs.challengePassword),
      Accept: 'application/json',
    });
    expect(page.status).to.equal(200);
    const challenge = JSON.parse(page.body.toString()).challenge as string;
    expect(challenge).to.be.a('string').with.length.greaterThan(7);
    secrets.challenge = challenge;
    const wrongPassword = 'Not-the-password-1234';
    secrets.wrongPassword = wrongPassword;
    expect((await httpGet(`${server.url}/certsrv/mscep_admin/`, basic(certs.challengeUsername, wrongPassword))).status).to.equal(401);
    // admin API: a wrong key of the right shape, and a garbage one
    const wrongKey = `${owner.slice(0, -6)}zzzzzz`;
    secrets.wrongKey = wrongKey;
    expect((await adminApi(server.url, 'GET', '/whoami', wrongKey)).status).to.equal(401);
    // a profile minted through the API carries a challenge
    const profile = await adminApi(server.url, 'POST', `/integrations/${certs.id}/profile`, manager, { deviceUid: UDID });
    expect(profile.status).to.equal(200);
    secrets.profileChallenge = /<key>Challenge<\/key>\s*<string>([^<]+)<\/string>/.exec(String(profile.body))![1]!;
    // rotation: the new password is in the answer only
    const rotated = await adminApi(server.url, 'POST', `/integrations/${certs.id}/rotate-challenge-credentials`, owner, { grace: '1h' });
    expect(rotated.status).to.equal(200);
    secrets.rotatedPassword = rotated.body.challengePassword;
    // SCEP enrollments: the dynamic challenge, the static one, and a wrong static one
    const [key] = await pooledKeys(1);
    const integrationCas = await new ScepClient(`${server.url}/scep/${certs.id}`).getCaCertificates();
    const dyn = await sendRawPkcsReq(
      `${server.url}/scep/${certs.id}`,
      integrationCas,
      utf8Name([ATTR.OU, certs.id], [ATTR.CN, UDID]),
      key,
      challenge,
      'log-check-1',
    );
    expect(dyn.status, dyn.failText).to.equal(PkiStatus.SUCCESS);
    const cas = await server.client.getCaCertificates();
    expect((await sendRawPkcsReq(server.scepUrl, cas, utf8Name([ATTR.CN, 'log-check']), key, TEST_CHALLENGE, 'log-check-2')).status).to.equal(
      PkiStatus.SUCCESS,
    );
    const wrongStatic = 'wrong-static-challenge-99';
    secrets.wrongStatic = wrongStatic;
    expect((await sendRawPkcsReq(server.scepUrl, cas, utf8Name([ATTR.CN, 'log-check-3']), key, wrongStatic, 'log-check-3')).status).to.equal(PkiStatus.FAILURE);

    const metrics = await raw(server.url, 'GET', '/metrics');
    expect(metrics.status).to.equal(200);
    expect(metrics.text).to.contain('scepter_enrollments_total');
    const log = lines.join('');
    expect(log.length, 'the trace log was captured').to.be.greaterThan(1000);
    const base64 = (s: string) => Buffer.from(s).toString('base64');
    const found: string[] = [];
    for (const [name, value] of Object.entries(secrets)) {
      for (const [where, text] of [
        ['log', log],
        ['/metrics', metrics.text],
      ] as const) {
        if (text.includes(value)) found.push(`${name} in ${where}`);
      }
      // Basic credentials as sent on the wire
      if (log.includes(base64(`${certs.challengeUsername}:${value}`)) || log.includes(base64(`${sim.credentials.username}:${value}`)))
        found.push(`${name} (Basic) in log`);
    }
    // nor in the audit log (in the database, readable by the read-only role)
    const audit = JSON.stringify(await server.app.services.audit.list({ limit: 1000 }));
    expect(audit).to.contain('rotate-challenge-credentials');
    for (const [name, value] of Object.entries(secrets)) if (audit.includes(value)) found.push(`${name} in the audit log`);
    expect(found).to.deep.equal([]);
  });

  it('/metrics stays bounded: messageTypes a client makes up share one label instead of adding a series each', async () => {
    const [key] = await pooledKeys(1);
    const cas = await server.client.getCaCertificates();
    const signer = await selfSigned(key);
    for (const type of [250, 251, 987654321]) {
      const r = await sendPkiMessage(server.scepUrl, cas, type, rawCsr(utf8Name([ATTR.CN, 'made-up-type']), key, TEST_CHALLENGE), signer, `made-up-${type}`);
      expect([r.httpStatus, r.status]).to.deep.equal([200, PkiStatus.FAILURE]);
    }
    const text = (await raw(server.url, 'GET', '/metrics')).text;
    expect(text).not.to.match(/message_type="(250|251|987654321)"/);
    expect(text).to.match(/scepter_scep_pki_operations_total\{message_type="other",status="FAILURE",fail_info="badRequest"\} 3/);
  });

  it('/readyz (public) names a failed database check by its error code only; the full driver message goes to the log', async () => {
    await server.app.services.db.dataSource.query('PRAGMA query_only = ON');
    try {
      const r = await raw(server.url, 'GET', '/readyz');
      expect(r.status).to.equal(503);
      const db = (JSON.parse(r.text).checks as { name: string; detail: string }[]).find((c) => c.name === 'database')!;
      expect(db.detail).to.equal('the test write failed (SQLITE_READONLY)');
      expect(r.text).not.to.match(/attempt to write|INSERT|job_leases/i);
      expect(lines.join('')).to.contain('attempt to write a readonly database');
    } finally {
      await server.app.services.db.dataSource.query('PRAGMA query_only = OFF');
    }
    expect((await raw(server.url, 'GET', '/readyz')).status).to.equal(200);
  });

  it('bad input to the admin, ops, challenge and SCEP routes is a 4xx without stack traces or internal error text', async () => {
    const auth = { Authorization: `Bearer ${owner}` };
    const json = { ...auth, 'Content-Type': 'application/json' };
    const cases: [string, string, Record<string, string>, string?][] = [
      ['GET', '/admin/v1/certificates?limit=abc', auth],
      ['GET', '/admin/v1/certificates?limit=99999999999999999999', auth],
      ['GET', '/admin/v1/certificates?after=-1&status=valid&status=revoked', auth],
      ['GET', '/admin/v1/certificates?status=%00', auth],
      ['POST', '/admin/v1/certificates/zz/revoke', json, '{"reason":'],
      ['POST', '/admin/v1/certificates/%ZZ/revoke', json, '{}'],
      ['POST', '/admin/v1/certificates/01/revoke', json, '{"reason":"no-such-reason"}'],
      ['POST', '/admin/v1/certificates/01/revoke', json, '[]'],
      ['POST', `/admin/v1/integrations/${certs.id}/devices/%0D%0AX-Forged:%201/revoke`, json, '{}'],
      ['POST', '/admin/v1/integrations/nope/devices/x/revoke', json, '{"reason":5}'],
      ['GET', '/admin/v1/integrations/%ZZ/deletion', auth],
      ['DELETE', '/admin/v1/integrations/does-not-exist?force=maybe', auth],
      ['PUT', '/admin/v1/trust/policy', json, '"require-trusted"'],
      ['PUT', '/admin/v1/trust/policy', json, '{"policy":{"$gt":1}}'],
      ['PUT', '/admin/v1/trust/policy', { ...auth, 'Content-Type': 'text/plain' }, 'policy=off'],
      ['GET', '/admin/v1/auth-log?since=not-a-date&limit=-5', auth],
      ['GET', '/admin/v1/auth-log?limit=1e400', auth],
      ['GET', `/admin/v1/devices/${'A'.repeat(5000)}`, auth],
      ['GET', '/admin/v1/devices/%00%0A', auth],
      ['PUT', `/admin/v1/integrations/${android}/ws1`, json, '{"url":"ftp://x","username":"u","password":"p","apiKey":"k"}'],
      ['PUT', `/admin/v1/integrations/${android}/ws1`, json, '{"url":12,"username":[],"password":null,"apiKey":{}}'],
      ['PUT', `/admin/v1/integrations/${certs.id}/ws1`, json, '{"caPem":"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----"}'],
      ['POST', '/admin/v1/integrations/nope/ws1/test', json],
      ['POST', '/admin/v1/integrations/nope/ws1/sync', json],
      ['GET', `/admin/v1/integrations/${android}/devices/search?q=${'%25'.repeat(300)}&limit=zz`, auth],
      ['GET', `/admin/v1/integrations/${certs.id}/app-config`, auth],
      ['POST', `/admin/v1/integrations/${certs.id}/rotate-challenge-credentials`, json, '{"grace":"forever","expireUnusedChallenges":"yes"}'],
      ['POST', `/admin/v1/integrations/${certs.id}/profile`, json, '{"deviceUid":"a\\r\\nb"}'],
      ['PUT', `/admin/v1/integrations/${certs.id}/subject-template`, json, `{"subjectName":"CN=${'{A}x'.repeat(200)}"}`],
      ['POST', '/admin/v1/api-keys', json, '{"role":"owner","name":"x\\u0000","expiresAt":"yesterday"}'],
      ['GET', '/admin/v1/nothing-here', auth],
      ['POST', '/metrics', {}, 'x'],
      ['GET', '/readyz?x=%ZZ', {}],
      ['GET', '/certsrv/mscep_admin/?deviceUid=%0D%0A', basic(certs.challengeUsername, certs.challengePassword)],
      ['GET', '/certsrv/mscep_admin/', { Authorization: 'Basic %%%' }],
      ['GET', '/scep/%ZZ?operation=GetCACert', {}],
      ['GET', `/scep/${certs.id}?operation=PKIOperation&message=%ZZ`, {}],
      ['POST', `/scep/${certs.id}?operation=PKIOperation`, { 'Content-Type': 'application/x-pki-message' }, '0\x82\xff\xff'],
    ];
    const failures: string[] = [];
    for (const [method, path, headers, body] of cases) {
      const r = await raw(server.url, method, path, headers, body);
      if (r.status >= 500 || INTERNALS.test(r.text)) failures.push(`${method} ${path.slice(0, 80)}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    expect(failures).to.deep.equal([]);
  });
});
