import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../src/config/config';
import { freeTcpPort, startTestServer, TestServer } from '../support/test-server';
import { nginxAvailable, startNginx } from '../support/nginx';
import { run } from '../support/proc';
import { ROOT, scratchDir } from './ops-support';

const TEST_ACTOR = { who: 'test', from: 'test' };

async function get(url: string, key?: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
  return { status: r.status, body: await r.text() };
}

function tlsGet(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: p, rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

describe('admin API on its own listener (SCEPTER_ADMIN_HOST / SCEPTER_ADMIN_PORT)', function () {
  let server: TestServer;
  let adminUrl: string;
  let key: string;

  before(async () => {
    const adminPort = await freeTcpPort();
    server = await startTestServer({ SCEPTER_ADMIN_PORT: String(adminPort) });
    adminUrl = `http://127.0.0.1:${adminPort}`;
    key = (await server.app.services.apiKeys.create('owner', TEST_ACTOR)).key;
  });
  after(async () => server?.destroy());

  it('answers the admin API on the admin port, 404 for it on the public HTTP and HTTPS ports, however spelt', async () => {
    expect(server.app.adminPort()).to.equal(Number(new URL(adminUrl).port));
    const ok = await get(`${adminUrl}/admin/v1/integrations`, key);
    expect(ok.status, ok.body).to.equal(200);
    expect(JSON.parse(ok.body)).to.have.property('integrations');
    for (const p of ['/admin/v1/integrations', '/ADMIN/v1/integrations', '/%61dmin/v1/integrations', '//admin/v1/integrations', '/admin', '/admin/v1']) {
      const r = await get(`${server.url}${p}`, key);
      expect(r.status, p).to.equal(404);
      expect(JSON.parse(r.body), p).to.deep.equal({ error: 'not found' });
      expect(await tlsGet(server.app.tlsPort(), p), `HTTPS ${p}`).to.equal(404);
    }
  });

  it('keeps SCEP and the CRL on the public port only; /healthz on both', async () => {
    expect((await get(`${server.scepUrl}?operation=GetCACaps`)).status).to.equal(200);
    expect((await get(`${server.url}/crl/ca.crl`)).status).to.equal(200);
    expect((await get(`${adminUrl}/scep?operation=GetCACaps`)).status).to.equal(404);
    expect((await get(`${adminUrl}/crl/ca.crl`)).status).to.equal(404);
    expect((await get(`${adminUrl}/healthz`)).status).to.equal(200);
    expect((await get(`${server.url}/healthz`)).status).to.equal(200);
  });

  it('without SCEPTER_ADMIN_PORT the admin API stays on the public port; bad settings name the variable', async () => {
    const plain = await startTestServer();
    try {
      const k = (await plain.app.services.apiKeys.create('owner', TEST_ACTOR)).key;
      expect((await get(`${plain.url}/admin/v1/integrations`, k)).status).to.equal(200);
      expect(plain.app.adminPort()).to.equal(undefined);
    } finally {
      await plain.destroy();
    }
    expect(() => loadConfig({ SCEPTER_ADMIN_HOST: '127.0.0.1' })).to.throw('SCEPTER_ADMIN_HOST: needs SCEPTER_ADMIN_PORT');
    expect(() => loadConfig({ SCEPTER_ADMIN_PORT: '8080' })).to.throw('SCEPTER_ADMIN_PORT: must differ from SCEPTER_HTTP_PORT (8080)');
    expect(() => loadConfig({ SCEPTER_ADMIN_PORT: 'eighty' })).to.throw('SCEPTER_ADMIN_PORT');
    expect(loadConfig({ SCEPTER_ADMIN_PORT: '8081' }).admin).to.deep.equal({ host: '127.0.0.1', port: 8081 });
  });

  it('deploy/nginx-scepter.conf in front of it: SCEP and CRL pass, the admin API does not', async function () {
    if (!nginxAvailable()) throw new Error('nginx is not installed (apt-get install nginx; .ci/run installs it)');
    const dir = scratchDir('nginx-tls');
    const r = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=scepter.example.com',
      '-keyout',
      path.join(dir, 'privkey.pem'),
      '-out',
      path.join(dir, 'fullchain.pem'),
    ]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const httpPort = await freeTcpPort();
    const site = fs
      .readFileSync(path.join(ROOT, 'deploy', 'nginx-scepter.conf'), 'utf8')
      .replace(/^\s*#.*$/gm, '')
      .replace(/^\s*listen \[::\].*$/gm, '') // the test machine may lack IPv6
      .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
      .replace('listen 443 ssl http2;', 'listen 127.0.0.1:{{PORT}} ssl http2;')
      .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${new URL(server.url).port};`)
      .replace(/\/etc\/ssl\/scepter\//g, `${dir}/`)
      .replace(/\/etc\/nginx\/scepter-proxy\.conf/g, path.join(ROOT, 'deploy', 'scepter-proxy.conf'));
    expect(site).to.not.match(/:8080|listen 80|listen 443|\/etc\//);
    const nginx = await startNginx({ servers: site });
    try {
      const base = `https://127.0.0.1:${nginx.port}`;
      const viaTls = (p: string) =>
        new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
          https
            .get(`${base}${p}`, { rejectUnauthorized: false, headers: { Authorization: `Bearer ${key}` } }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
            })
            .on('error', reject);
        });
      const caps = await viaTls('/scep?operation=GetCACaps');
      expect(caps.status).to.equal(200);
      expect(caps.body.toString()).to.contain('POSTPKIOperation');
      expect((await viaTls('/admin/v1/integrations')).status).to.equal(404);
      expect((await viaTls('/ADMIN/v1/integrations')).status).to.equal(404);
      // plain HTTP: the CRL is served, everything else redirects to HTTPS
      const crl = await fetch(`http://127.0.0.1:${httpPort}/crl/ca.crl`);
      expect(crl.status).to.equal(200);
      expect(crl.headers.get('content-type')).to.equal('application/pkix-crl');
      const other = await fetch(`http://127.0.0.1:${httpPort}/admin/v1/integrations`, { redirect: 'manual' });
      expect(other.status).to.equal(301);
    } finally {
      await nginx.stop();
    }
  });
});
