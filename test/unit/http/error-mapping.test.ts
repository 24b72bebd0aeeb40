import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { errorMapping } from '../../../src/http/error-mapping';
import { Asn1DecodeError } from '../../../src/pki/pki.errors';
import { BadRequestError, StorageUnavailableError, TooManyRequestsError } from '../../../src/shared/errors';
import { createLogger } from '../../../src/shared/logger';

describe('http/error-mapping: the one place errors become HTTP answers', () => {
  let server: http.Server;
  let base: string;
  let thrown: unknown;

  before(async () => {
    const app = new Koa();
    app.use(errorMapping(createLogger('silent')));
    app.use(() => {
      throw thrown;
    });
    const callback = app.callback();
    server = http.createServer((req, res) => void callback(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const answer = async (err: unknown, path = '/v1/x') => {
    thrown = err;
    const res = await fetch(`${base}${path}`);
    return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() };
  };

  it('answers an exposed AppError with its status and message, JSON on API paths and text elsewhere', async () => {
    expect(await answer(new BadRequestError('bad subject'))).to.deep.include({ status: 400, text: '{"error":"bad_request","message":"bad subject"}' });
    expect(await answer(new BadRequestError('bad subject'), '/scep')).to.deep.include({ status: 400, text: 'bad subject\n' });
  });

  it("maps the PKI layer's decode errors to 400", async () => {
    const r = await answer(new Asn1DecodeError('truncated length'));
    expect(r.status).to.equal(400);
    expect(r.text).to.contain('truncated length');
  });

  it('sends Retry-After with 429 and 503', async () => {
    expect(await answer(new TooManyRequestsError('slow down', 7))).to.deep.include({ status: 429, retryAfter: '7' });
    expect(await answer(new StorageUnavailableError())).to.deep.include({ status: 503, retryAfter: '30' });
  });

  it('answers anything else with a generic 500 that leaks nothing', async () => {
    const r = await answer(new Error('SELECT * FROM secrets at /srv/scepter/db.ts:12'));
    expect(r.status).to.equal(500);
    expect(r.text).to.equal('{"error":"internal","message":"internal error"}');
  });
});
