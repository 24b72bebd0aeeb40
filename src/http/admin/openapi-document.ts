import { CERTIFICATE_STATUSES, DEVICE_TRUST } from '../../lists/list.types';
import { ROLES, type Permission } from '../../admin/roles';

/**
 * The OpenAPI 3.1 document of `/admin/v1`, served at `GET /admin/v1/openapi.json`. Tests check it
 * against the router (every route documented, every documented route registered) and validate
 * real answers against these schemas, so it cannot drift from the code unnoticed. Schemas name
 * the fields clients rely on; objects stay open (new fields are not a breaking change).
 */
type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str: Schema = { type: 'string' };
const time: Schema = { type: 'string', format: 'date-time' };
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const obj = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({ type: 'object', properties, required });
const arrayOf = (s: Schema): Schema => ({ type: 'array', items: s });
/** a request body: the route refuses any field not listed (400 "unknown field") */
const input = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  ...obj(properties, required),
  additionalProperties: false,
});

const schemas: Record<string, Schema> = {
  Error: obj({ error: str, message: str }),
  Integration: obj(
    {
      id: str,
      type: { enum: ['windows', 'macos', 'android', 'ios', 'ios-certs'] },
      name: str,
      status: { enum: ['disabled', 'test-group', 'all'] },
      group: nullable(str),
      createdAt: time,
      updatedAt: time,
      scepUrl: str,
      challengeUrl: str,
      challengeUsername: str,
      challengePassword: str,
      subjectName: str,
    },
    ['id', 'type', 'name', 'status', 'group', 'createdAt', 'updatedAt'],
  ),
  Group: obj({ name: str, members: arrayOf(str), createdAt: time }),
  AuditEntry: obj({ id: { type: 'integer' }, at: time, who: str, from: str, action: str, target: nullable(str), details: nullable({ type: 'object' }) }),
  ApiKey: obj({ id: str, role: { enum: [...ROLES] }, createdBy: str, createdAt: time, revokedAt: nullable(time) }),
  Policy: obj({ global: str, applications: arrayOf(obj({ application: str, policy: str, updatedAt: time })) }),
  Certificate: obj({
    id: { type: 'integer' },
    serial: { type: 'string', pattern: '^[0-9A-F]+$' },
    subject: str,
    status: { enum: [...CERTIFICATE_STATUSES] },
    notBefore: time,
    notAfter: time,
    integrationId: nullable(str),
    deviceId: nullable(str),
    revokedAt: nullable(time),
    reason: nullable(str),
    lastSeenAt: nullable(time),
  }),
  Device: obj({
    integrationId: str,
    deviceId: str,
    certificates: { type: 'integer', minimum: 1 },
    validCertificates: { type: 'integer', minimum: 0 },
    revokedCertificates: { type: 'integer', minimum: 0 },
    latestSerial: nullable(str),
    trust: { enum: [...DEVICE_TRUST] },
    lastSeenAt: nullable(time),
  }),
  InventoryDevice: obj({
    integrationId: str,
    udid: str,
    serialNumber: nullable(str),
    macAddress: nullable(str),
    imei: nullable(str),
    platform: str,
    enrollmentStatus: str,
    userName: nullable(str),
    lastSeen: nullable(time),
    syncedAt: time,
  }),
  MigrationStep: obj({
    step: str,
    legacyId: str,
    outcome: { enum: ['done', 'already', 'report-only', 'dry-run'] },
    actions: arrayOf(str),
    warnings: arrayOf(str),
  }),
};

interface Op {
  summary: string;
  /** the permission the route declares with allow(...): what the key's role must grant (see the role table) */
  permission: Permission;
  query?: Record<string, string>;
  body?: Schema;
  ok?: Schema;
  status?: number;
  csv?: boolean;
}

const page = (key: string, item: string, extra: Record<string, Schema> = {}) => obj({ [key]: arrayOf(ref(item)), nextCursor: nullable(str), ...extra });
const listQuery = {
  limit: 'rows per page, 1 to 1000 (default 100)',
  cursor: 'nextCursor of the previous page (same filters)',
  format: 'json (default) or csv: every page from the cursor on, streamed',
};
const bool: Schema = { type: 'boolean' };
const ws1Source: Schema = { type: 'object', description: '{"fromIntegration": id} or {"url", "username", "password", "apiKey", "caPem"?}' };
const STEP_BODIES: Record<string, Schema> = {
  plan: input({ dryRun: bool, ws1: ws1Source }, []),
  apply: input({ dryRun: bool, ws1: ws1Source, name: str }, []),
  verify: input({ dryRun: bool }, []),
  cutover: input({ dryRun: bool, minReady: { type: 'number' }, force: bool }, []),
  finalize: input({ dryRun: bool, graceDays: { type: 'number' }, force: bool }, []),
  rollback: input({ dryRun: bool }, []),
};
const R: Permission = 'integrations:read';
const W: Permission = 'integrations:write';
const S: Permission = 'session:read';
const REVOKE: Permission = 'certificates:revoke';

const OPS: Record<string, Record<string, Op>> = {
  '/whoami': { get: { summary: 'the calling key', permission: S, ok: obj({ keyId: str, role: { enum: [...ROLES] } }) } },
  '/openapi.json': { get: { summary: 'this document', permission: S, ok: obj({ openapi: str, paths: { type: 'object' } }) } },
  '/integrations': {
    get: { summary: 'integrations that are not deleted', permission: R, ok: obj({ integrations: arrayOf(ref('Integration')) }) },
    post: {
      summary: 'create an integration (disabled)',
      permission: W,
      body: input({ type: str, name: str, allowLegacy: { type: 'boolean' } }, ['type', 'name']),
      ok: ref('Integration'),
      status: 201,
    },
  },
  '/integrations/{id}': {
    get: { summary: 'one integration, with its WS1 settings and sync state', permission: R, ok: ref('Integration') },
    delete: {
      summary: 'delete it, revoking its certificates (409 when it needs force)',
      permission: 'integrations:delete',
      query: { force: 'true to delete an active integration while a policy requires trusted devices' },
    },
  },
  '/integrations/{id}/status': {
    put: { summary: 'set the status', permission: W, body: input({ status: str, group: nullable(str) }, ['status']), ok: ref('Integration') },
  },
  '/integrations/{id}/name': { put: { summary: 'rename (id, URLs and certificates stay)', permission: W, body: input({ name: str }), ok: ref('Integration') } },
  '/integrations/{id}/rotate-challenge-credentials': {
    post: {
      summary: 'new challenge password (shown once); the old one stays valid for `grace` (default 24h)',
      permission: W,
      body: input({ grace: str, expireUnusedChallenges: { type: 'boolean' } }, []),
      ok: ref('Integration'),
    },
  },
  '/integrations/{id}/subject-template': {
    put: { summary: 'certificate subject template (ios-certs)', permission: W, body: input({ subjectName: str }), ok: ref('Integration') },
  },
  '/integrations/{id}/profile': {
    post: {
      summary: 'an iOS configuration profile with a fresh challenge (application/x-apple-aspen-config)',
      permission: W,
      body: input({ deviceUid: str }, []),
    },
  },
  '/integrations/{id}/ws1': {
    get: {
      summary: 'WS1 API settings (no secrets) and sync state',
      permission: R,
      ok: obj({ settings: nullable({ type: 'object' }), sync: { type: 'object' } }),
    },
    put: {
      summary: 'WS1 API settings (secrets never echoed)',
      permission: 'ws1:configure',
      body: input({ url: str, username: str, password: str, apiKey: str, caPem: nullable(str) }, []),
    },
  },
  '/integrations/{id}/ws1/test': { post: { summary: 'Test Configuration', permission: W, ok: obj({ ok: { type: 'boolean' }, message: str }) } },
  '/integrations/{id}/ws1/sync': { post: { summary: 'sync the WS1 inventory now (409 while one runs)', permission: W } },
  '/integrations/{id}/devices/search': {
    get: {
      summary: 'find a device in the synced inventory',
      permission: R,
      query: { identifier: 'UDID, serial number, MAC or IMEI' },
      ok: obj({ found: { type: 'boolean' } }),
    },
  },
  '/integrations/{id}/app-config': { get: { summary: 'the App Config key and values to paste into WS1', permission: R } },
  '/integrations/{id}/devices/{udid}/revoke': { post: { summary: "revoke a device's certificates", permission: REVOKE, body: input({ reason: str }, []) } },
  '/integrations/{id}/deletion': { get: { summary: 'what deleting it would revoke, and whether it needs force', permission: R } },
  '/groups': {
    get: { summary: 'user groups and their members', permission: 'groups:read', ok: obj({ groups: arrayOf(ref('Group')) }) },
    post: { summary: 'create a group', permission: 'groups:write', body: input({ name: str }), ok: ref('Group'), status: 201 },
  },
  '/groups/{name}': {
    get: { summary: 'one group', permission: 'groups:read', ok: ref('Group') },
    delete: {
      summary: 'delete a group (409 while a test-group status names it)',
      permission: 'groups:write',
      ok: obj({ name: str, deleted: { const: true }, members: { type: 'integer' } }),
    },
  },
  '/groups/{name}/members': {
    post: { summary: 'add a member (the user is created if new)', permission: 'groups:write', body: input({ user: str }), ok: ref('Group') },
  },
  '/groups/{name}/members/{user}': {
    delete: { summary: 'remove a member', permission: 'groups:write', ok: { allOf: [ref('Group'), obj({ removed: { type: 'boolean' } })] } },
  },
  '/audit': {
    get: {
      summary: 'the audit log, oldest first',
      permission: 'audit:read',
      query: { limit: 'at most this many', afterId: 'the entries that follow this id, oldest first (without it: the newest)', action: 'only this action' },
      ok: obj({ entries: arrayOf(ref('AuditEntry')) }),
    },
  },
  '/api-keys': {
    get: { summary: 'API keys (never the secret)', permission: 'api-keys:manage', ok: obj({ keys: arrayOf(ref('ApiKey')) }) },
    post: {
      summary: 'create a key (the secret is shown once)',
      permission: 'api-keys:manage',
      body: input({ role: { enum: [...ROLES] }, name: str, expiresAt: time }, ['role']),
      status: 201,
    },
  },
  '/api-keys/{id}': { delete: { summary: 'revoke a key', permission: 'api-keys:manage', status: 204 } },
  '/trust/policy': {
    get: { summary: 'the device-trust policy, global and per application', permission: R, ok: ref('Policy') },
    put: {
      summary: 'set the global policy, or an application override',
      permission: W,
      body: input({ policy: str, application: str }, ['policy']),
      ok: ref('Policy'),
    },
  },
  '/trust/policy/applications/{application}': { delete: { summary: "remove an application's override", permission: W, ok: ref('Policy') } },
  '/auth-log': {
    get: {
      summary: 'the authentication log, newest first',
      permission: 'audit:read',
      query: { user: 'only this user', since: 'ISO time', limit: 'at most this many' },
    },
  },
  '/devices/{udid}': { get: { summary: "a device's certificates and last login", permission: 'audit:read' } },
  '/certificates': {
    get: {
      summary: 'issued certificates, keyset-paged: in id order, by notAfter with expiringBefore or status=expired, by device id with device',
      permission: R,
      query: {
        integration: 'integration id',
        status: CERTIFICATE_STATUSES.join(' | '),
        device: 'device id prefix',
        expiringBefore: 'date or ISO time',
        after: 'certificate id (id order only)',
        ...listQuery,
      },
      ok: page('certificates', 'Certificate', { next: nullable({ type: 'integer' }) }),
      csv: true,
    },
  },
  '/certificates/{serial}/revoke': { post: { summary: 'revoke one certificate', permission: REVOKE, body: input({ reason: str }, []) } },
  '/devices': {
    get: {
      summary: 'devices with certificates, by device id',
      permission: R,
      query: { integration: 'integration id', device: 'device id prefix', trust: DEVICE_TRUST.join(' | '), ...listQuery },
      ok: page('devices', 'Device'),
      csv: true,
    },
  },
  '/inventory': {
    get: {
      summary: 'synced WS1 devices, integration by integration, by UDID',
      permission: R,
      query: { integration: 'integration id', platform: 'e.g. Apple', enrollmentStatus: 'e.g. Enrolled', device: 'UDID prefix', ...listQuery },
      ok: page('inventory', 'InventoryDevice'),
      csv: true,
    },
  },
  '/migrations': { get: { summary: 'legacy integrations and their migration state', permission: R, ok: { type: 'object' } } },
  ...Object.fromEntries(
    (['plan', 'apply', 'verify', 'cutover', 'finalize', 'rollback'] as const).map((step) => [
      `/migrations/{legacyId}/${step}`,
      {
        post: {
          summary: `migration step ${step} (as scepter migrate ${step}); {"dryRun": true} changes nothing`,
          permission: 'migrations:run',
          body: STEP_BODIES[step],
          ok: ref('MigrationStep'),
        },
      },
    ]),
  ),
};

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, ops] of Object.entries(OPS)) {
    paths[path] = {};
    for (const [method, op] of Object.entries(ops)) {
      const parameters = [
        ...[...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: str })),
        ...Object.entries(op.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: str })),
      ];
      const okContent: Record<string, unknown> = { 'application/json': { schema: op.ok ?? { type: 'object' } } };
      if (op.csv) okContent['text/csv'] = { schema: str };
      paths[path][method] = {
        summary: op.summary,
        'x-permission': op.permission,
        ...(parameters.length ? { parameters } : {}),
        ...(op.body ? { requestBody: { required: false, content: { 'application/json': { schema: op.body } } } } : {}),
        responses: {
          [String(op.status ?? 200)]: op.status === 204 ? { description: 'done' } : { description: 'success', content: okContent },
          default: { description: 'an error', content: { 'application/json': { schema: ref('Error') } } },
        },
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Scepter admin API',
      version: '1',
      description: 'Bearer API keys (scepter admin create-key --role ROLE); x-permission names what the role must grant.',
    },
    servers: [{ url: '/admin/v1' }],
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas },
    paths,
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;
