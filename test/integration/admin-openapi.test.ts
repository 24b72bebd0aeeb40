import { expect } from 'chai';
import Ajv from 'ajv';
import { AuthFailureLimiter } from '../../src/admin/auth-failure-limiter';
import { can, ROLES, type Permission } from '../../src/admin/roles';
import { buildAdminRouter } from '../../src/http/http.module';
import { openApiDocument } from '../../src/http/admin/openapi-document';
import { createIosCerts, IntegrationServer, startIntegrationServer, TEST_ACTOR } from './integrations-support';

type Doc = ReturnType<typeof openApiDocument>;
const METHODS = ['get', 'post', 'put', 'delete', 'patch'];

/** Every registered admin route as "METHOD /path/{param}" (HEAD is Koa's own twin of GET). */
function registeredRoutes(server: IntegrationServer): string[] {
  const router = buildAdminRouter(server.app.services, new AuthFailureLimiter(server.app.services.config.auth, server.app.services.clock), () => '127.0.0.1');
  const out: string[] = [];
  for (const layer of router.stack) {
    const path = String(layer.path)
      .replace(/^\/admin\/v1/, '')
      .replace(/:(\w+)/g, '{$1}');
    for (const m of layer.methods) if (m !== 'HEAD') out.push(`${m} ${path}`);
  }
  return out.sort();
}

function documentedRoutes(doc: Doc): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe('admin API: the OpenAPI document against the routes and their answers; JSON 404s', function () {
  this.timeout(120_000);
  let server: IntegrationServer;
  let doc: Doc;
  let owner: string;
  let readOnly: string;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', { validate: (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(s) && !Number.isNaN(Date.parse(s)) });

  const call = async (method: string, path: string, key: string | undefined = owner, body?: unknown) => {
    const res = await fetch(`${server.url}/admin/v1${path}`, {
      method,
      headers: { ...(key ? { Authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text };
  };
  /** the real answer must match what the document says this route answers with this status */
  const conforms = (method: string, template: string, res: { status: number; body: unknown; text: string }) => {
    const op = (doc.paths as Record<string, Record<string, any>>)[template]?.[method];
    expect(op, `${method} ${template} is documented`).to.not.equal(undefined);
    const response = op.responses[String(res.status)] ?? op.responses.default;
    if (res.status >= 400)
      expect(op.responses[String(res.status)], `${method} ${template} ${res.status} is an error, described by default`).to.equal(undefined);
    const schema = response.content?.['application/json']?.schema;
    expect(schema, `${method} ${template} ${res.status} has a JSON schema`).to.not.equal(undefined);
    const validate = ajv.compile({ ...schema, components: doc.components });
    expect(validate(res.body), `${method} ${template} ${res.status}: ${ajv.errorsText(validate.errors)}\n${res.text.slice(0, 500)}`).to.equal(true);
  };

  before(async () => {
    server = await startIntegrationServer({ SCEPTER_SYNC_SCHEDULE: 'off' });
    owner = (await server.app.services.apiKeys.create('owner', TEST_ACTOR)).key;
    readOnly = (await server.app.services.apiKeys.create('read-only', TEST_ACTOR)).key;
    const served = await call('GET', '/openapi.json', readOnly);
    expect(served.status).to.equal(200);
    doc = served.body as Doc;
  });
  after(async () => server?.destroy());

  it('is served as OpenAPI 3.1 and documents every registered route, and only those', async () => {
    expect(doc).to.deep.equal(JSON.parse(JSON.stringify(openApiDocument())));
    expect(doc.openapi).to.equal('3.1.0');
    expect(doc.servers).to.deep.equal([{ url: '/admin/v1' }]);
    const registered = registeredRoutes(server);
    expect(registered.length).to.be.greaterThan(40);
    const documented = documentedRoutes(doc);
    expect(
      registered.filter((r) => !documented.includes(r)),
      'registered but not documented',
    ).to.deep.equal([]);
    expect(
      documented.filter((r) => !registered.includes(r)),
      'documented but not registered',
    ).to.deep.equal([]);
    for (const [path, ops] of Object.entries(doc.paths) as [string, Record<string, any>][]) {
      for (const [method, op] of Object.entries(ops)) {
        expect(METHODS).to.include(method);
        expect(op.summary, `${method} ${path}`).to.be.a('string').and.not.equal('');
        expect(op['x-permission'], `${method} ${path}`).to.be.a('string');
        const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(
          (op.parameters ?? []).filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name),
          `${method} ${path}`,
        ).to.deep.equal(params);
        expect(op.responses.default.content['application/json'].schema).to.deep.equal({ $ref: '#/components/schemas/Error' });
      }
    }
    // every schema the document refers to exists, and compiles
    for (const m of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)) expect(doc.components.schemas, m[1]).to.have.property(m[1]!);
    for (const [name, schema] of Object.entries(doc.components.schemas))
      expect(() => ajv.compile({ ...schema, components: doc.components }), name).to.not.throw();
  });

  it('real answers of the main routes match the documented schemas (successes and errors)', async () => {
    const integ = await createIosCerts(server, 'OpenAPI');
    conforms('get', '/whoami', await call('GET', '/whoami'));
    conforms('get', '/openapi.json', await call('GET', '/openapi.json'));
    conforms('post', '/integrations', await call('POST', '/integrations', owner, { type: 'ios', name: 'App Config' }));
    conforms('post', '/integrations', await call('POST', '/integrations', owner, { type: 'nope', name: 'x' }));
    conforms('get', '/integrations', await call('GET', '/integrations', readOnly));
    conforms('get', '/integrations/{id}', await call('GET', `/integrations/${integ.id}`));
    conforms('get', '/integrations/{id}', await call('GET', '/integrations/DINOSUCH'));
    conforms('put', '/integrations/{id}/name', await call('PUT', `/integrations/${integ.id}/name`, owner, { name: 'Renamed' }));
    conforms('put', '/integrations/{id}/status', await call('PUT', `/integrations/${integ.id}/status`, readOnly, { status: 'all' }));
    conforms('post', '/groups', await call('POST', '/groups', owner, { name: 'pilots' }));
    conforms('post', '/groups/{name}/members', await call('POST', '/groups/pilots/members', owner, { user: 'alice' }));
    conforms('get', '/groups', await call('GET', '/groups'));
    conforms('get', '/groups/{name}', await call('GET', '/groups/pilots'));
    conforms('delete', '/groups/{name}/members/{user}', await call('DELETE', '/groups/pilots/members/alice'));
    conforms('delete', '/groups/{name}', await call('DELETE', '/groups/pilots'));
    conforms('delete', '/groups/{name}', await call('DELETE', '/groups/pilots'));
    conforms('put', '/trust/policy', await call('PUT', '/trust/policy', owner, { policy: 'require-trusted', application: 'vpn' }));
    conforms('get', '/trust/policy', await call('GET', '/trust/policy'));
    conforms('delete', '/trust/policy/applications/{application}', await call('DELETE', '/trust/policy/applications/vpn'));
    conforms('get', '/audit', await call('GET', '/audit'));
    conforms('get', '/api-keys', await call('GET', '/api-keys'));
    conforms('get', '/certificates', await call('GET', '/certificates?limit=5'));
    conforms('get', '/certificates', await call('GET', '/certificates?limit=0'));
    conforms('get', '/devices', await call('GET', '/devices'));
    conforms('get', '/inventory', await call('GET', '/inventory'));
    conforms('get', '/migrations', await call('GET', '/migrations'));
    conforms('post', '/migrations/{legacyId}/plan', await call('POST', `/migrations/${integ.id}/plan`, owner, {}));
    conforms('post', '/migrations/{legacyId}/cutover', await call('POST', `/migrations/${integ.id}/cutover`, owner, { dryRun: true }));
  });

  it('every request body takes exactly the fields the document lists: another is a 400 naming them, nothing changes', async () => {
    const auditBefore = (await call('GET', '/audit?limit=1')).body.entries[0]?.id;
    let bodies = 0;
    for (const [template, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        if (!schema) continue;
        bodies++;
        const path = template.replace(/\{\w+\}/g, 'NOSUCH0000');
        const documented = Object.keys(schema.properties).sort();
        expect(schema.additionalProperties, `${method} ${template}`).to.equal(false);
        const res = await call(method.toUpperCase(), path, owner, { zzUnknownField: true });
        expect(res.status, `${method} ${template}: ${res.text}`).to.equal(400);
        const m = /^unknown field "zzUnknownField"; this request takes (.+)$/.exec(res.body.message);
        expect(m, `${method} ${template}: ${res.body.message}`).to.not.equal(null);
        expect(m![1]!.split(', ').sort(), `${method} ${template}: the route's fields against the document's`).to.deep.equal(documented);
      }
    }
    expect(bodies).to.be.greaterThan(15);
    expect((await call('GET', '/audit?limit=1')).body.entries[0]?.id, 'no change was audited').to.equal(auditBefore);
  });

  it('x-permission of every operation is the permission its route declares with allow(...)', () => {
    const declared = server.app.adminRoutes.map((r) => `${r.method} ${r.path.replace(/^\/admin\/v1/, '').replace(/:(\w+)/g, '{$1}')} ${r.permission}`).sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, any>>)
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => `${method.toUpperCase()} ${path} ${op['x-permission']}`))
      .sort();
    expect(documented).to.deep.equal(declared);
    expect(documented.filter((r) => r.includes('/migrations/{legacyId}/')).every((r) => r.endsWith(' migrations:run'))).to.equal(true);
  });

  it('x-permission is what the route enforces: every role on every GET route without parameters', async () => {
    const keys = Object.fromEntries(
      await Promise.all(ROLES.map(async (role) => [role, (await server.app.services.apiKeys.create(role, TEST_ACTOR)).key] as const)),
    );
    const gets = Object.entries(doc.paths as Record<string, Record<string, any>>).filter(([path, ops]) => ops.get && !path.includes('{'));
    expect(gets.length).to.be.greaterThan(10);
    for (const [path, ops] of gets) {
      const permission = ops.get['x-permission'] as string;
      for (const role of ROLES) {
        const r = await call('GET', path, keys[role]);
        const allowed = can(role, permission as Permission);
        expect(r.status === 403, `GET ${path} as ${role} (${permission}): ${r.status}`).to.equal(!allowed);
      }
    }
  });

  it('unknown paths under /admin/v1 answer a JSON 404; a known path with another method a JSON 405', async () => {
    for (const [method, path, key] of [
      ['GET', '/nope', owner],
      ['GET', '/nope', undefined],
      ['DELETE', '/integrations/x/y/z', owner],
      ['GET', '', owner],
    ] as const) {
      const r = await call(method, path, key);
      expect(r.status, `${method} ${path}`).to.equal(404);
      expect(r.headers.get('content-type')).to.match(/^application\/json/);
      expect(r.body).to.deep.equal({ error: 'not_found', message: `no admin API route ${method} /admin/v1${path}` });
    }
    const wrong = await call('POST', '/whoami', owner);
    expect(wrong.status).to.equal(405);
    expect(wrong.headers.get('allow')).to.contain('GET');
    expect(wrong.body).to.include({ error: 'method_not_allowed' });
    // elsewhere a 404 stays plain text
    const other = await fetch(`${server.url}/nope`);
    expect(other.status).to.equal(404);
    expect(other.headers.get('content-type')).to.match(/^text\/plain/);
  });
});
