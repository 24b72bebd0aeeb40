import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, TEST_CHALLENGE } from '../support/test-server';
import { startServerProcess, ServerProcess } from '../support/server-process';

/** Slowloris, header floods and oversized bodies are cut off by the HTTP limits; the server keeps serving. */
describe('resilience: HTTP limits against hostile clients', function () {
  this.timeout(90_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepter-limits-'));
  let server: ServerProcess;
  let port: number;

  before(async () => {
    port = await freeTcpPort();
    server = await startServerProcess({
      SCEPTER_HTTP_PORT: String(port),
      SCEPTER_HOST: '127.0.0.1',
      SCEPTER_TLS_PORT: '0',
      SCEPTER_DATABASE: path.join(dir, 'db.sqlite'),
      SCEPTER_CERTS_DIR: path.join(dir, 'certs'),
      SCEPTER_CA_KEY_BITS: '2048',
      SCEPTER_STATIC_CHALLENGE: TEST_CHALLENGE,
      SCEPTER_HEADERS_TIMEOUT_MS: '2000', // short, so the test sees the cut-off
    });
  });
  after(async () => {
    await server?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `head` raw, then the drip (if any); resolves with what came back once the server closes. */
  function raw(head: string | Buffer, dripMs?: number, maxMs = 30_000): Promise<{ reply: string; closedAfterMs: number; dripped: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const s = net.connect(port, '127.0.0.1');
      let reply = '';
      let dripped = 0;
      let timer: NodeJS.Timeout | undefined;
      const give = setTimeout(() => (s.destroy(), reject(new Error(`still open after ${maxMs} ms (dripped ${dripped})`))), maxMs);
      s.on('data', (d) => (reply += d.toString('latin1')));
      s.on('error', () => undefined); // a reset counts as a close
      s.on('close', () => {
        clearTimeout(give);
        clearInterval(timer);
        resolve({ reply, closedAfterMs: Date.now() - started, dripped });
      });
      s.on('connect', () => {
        s.write(head);
        if (dripMs) timer = setInterval(() => s.writable && (s.write('X'), dripped++), dripMs);
      });
    });
  }

  async function stillServes() {
    const res = await fetch(`http://127.0.0.1:${port}/scep?operation=GetCACaps`);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.contain('POSTPKIOperation');
  }

  it('slowloris (one header byte a second) is cut off by the header timeout', async () => {
    const r = await raw('GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\nX-Slow: ', 1000);
    expect(r.closedAfterMs, 'closed well before a patient client would finish').to.be.below(10_000);
    expect(r.reply === '' || r.reply.startsWith('HTTP/1.1 408'), r.reply).to.equal(true);
    await stillServes();
  });

  it('500 headers get 431 or a closed connection', async () => {
    const headers = Array.from({ length: 500 }, (_, i) => `X-Flood-${i}: ${'v'.repeat(40)}\r\n`).join('');
    const r = await raw(`GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
    expect(r.reply === '' || r.reply.startsWith('HTTP/1.1 431'), r.reply.slice(0, 100)).to.equal(true);
    await stillServes();
  });

  it('one 100 KB header gets 431 or a closed connection', async () => {
    const r = await raw(`GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`);
    expect(r.reply === '' || r.reply.startsWith('HTTP/1.1 431'), r.reply.slice(0, 100)).to.equal(true);
    await stillServes();
  });

  it('an oversized body (1 MB, limit 64 KB) gets a 4xx', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/scep?operation=PKIOperation',
          headers: { 'Content-Type': 'application/x-pki-message', 'Content-Length': String(1 << 20) },
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(Buffer.alloc(1 << 20, 0x30));
    });
    expect(status).to.be.within(400, 499);
    await stillServes();
  });
});
