import type Router from '@koa/router';
import type { Context } from 'koa';
import { IntegrationView } from '../../../integrations/integration.presenter';
import { INTEGRATION_TYPES } from '../../../integrations/integration.types';
import type { AppConfigView } from '../../../mdm/workspace-one/app-config.presenter';
import { formText, may, need, queryText } from '../console-state';
import { html, Html } from '../html';
import { copyable, field, page, PageContext, postForm, select, table, when } from '../layout';
import type { ConsolePageDeps } from '../console-deps';

const TYPE_LABEL: Record<string, string> = {
  windows: 'Windows (desktop agent)',
  macos: 'macOS (desktop agent)',
  android: 'Android (App Config)',
  ios: 'iOS (App Config)',
  'ios-certs': 'Certs for iOS (legacy, end of life)',
};

/** Integrations list, create (ending on what to paste into WS1), and one integration's page. */
export function registerIntegrationPages(r: Router, d: ConsolePageDeps): void {
  r.get('/integrations', async (ctx) => {
    const s = need(ctx, 'integrations:read');
    const list = await d.integrations.list();
    const rows = list.map(
      (i) =>
        html`<tr>
          <td><a href="/console/integrations/${i.id}">${i.name}</a></td>
          <td><code>${i.id}</code></td>
          <td>${TYPE_LABEL[i.type]}</td>
          <td>${i.status}${i.group ? ` (${i.group})` : ''}</td>
          <td>${when(i.createdAt)}</td>
        </tr>`,
    );
    ctx.body = page(
      s.pc,
      'Integrations',
      html`${may(ctx, 'integrations:write') ? html`<p><a class="button" href="/console/integrations/new">Create integration</a></p>` : ''}
      ${table(['Name', 'Id', 'Type', 'Status', 'Created'], rows)}`,
    ).text;
  });

  r.get('/integrations/new', async (ctx) => {
    const s = need(ctx, 'integrations:write');
    ctx.body = page(
      s.pc,
      'Create integration',
      postForm(
        s.pc,
        '/console/integrations',
        html`${field('Name', 'name', { required: true })}
          ${select(
            'Type',
            'type',
            INTEGRATION_TYPES.map((t) => [t, TYPE_LABEL[t]!]),
            queryText(ctx, 'type') ?? 'ios',
          )}
          <p class="field">
            <input type="checkbox" id="f-allowLegacy" name="allowLegacy" value="yes" /><label for="f-allowLegacy" class="inline"
              >Create a legacy Certs for iOS integration anyway (e.g. to run a migration)</label
            >
          </p>`,
        'Create',
        { className: 'card' },
      ),
    ).text;
  });

  r.post('/integrations', async (ctx) => {
    const s = need(ctx, 'integrations:write');
    const v = await d.integrations.create(
      {
        type: formText(ctx, 'type', { required: true }),
        name: formText(ctx, 'name', { required: true, max: 200 }),
        allowLegacy: formText(ctx, 'allowLegacy') === 'yes',
      },
      s.actor,
    );
    d.stats.invalidate();
    const appConfig = v.type === 'ios' || v.type === 'android' ? await d.appConfig.forIntegration(v.id) : undefined;
    ctx.body = page(
      s.pc,
      `Created ${v.name}`,
      html`${ws1Values(v, appConfig)}
        <p><a class="button" href="/console/integrations/${v.id}">Go to the integration</a></p>`,
    ).text;
  });

  r.get('/integrations/:id', async (ctx) => {
    const s = need(ctx, 'integrations:read');
    const v = await d.integrations.show(ctx.params.id!);
    ctx.body = page(s.pc, v.name, await integrationBody(ctx, d, s.pc, v)).text;
  });
}

/** What to paste into Workspace ONE: the CA and template forms (ios-certs) or the App Config rows, each with a copy button. */
export function ws1Values(v: IntegrationView, appConfig: AppConfigView | undefined): Html {
  if (v.ws1) {
    const ca = v.ws1.certificateAuthority;
    const t = v.ws1.certificateTemplate;
    return html`<section class="card" aria-labelledby="ws1ca-h">
        <h2 id="ws1ca-h">Workspace ONE › Certificate Authorities › Add</h2>
        ${copyable('Authority Type', ca.authorityType, 'ca-type')}${copyable('Protocol', ca.protocol, 'ca-protocol')}${copyable('Version', ca.version, 'ca-version')}
        ${copyable('SCEP URL', ca.scepUrl, 'ca-scep-url')}${copyable('Challenge Type', ca.challengeType, 'ca-challenge-type')}
        ${copyable('Challenge Username', ca.challengeUsername, 'ca-challenge-username')}
        ${
          ca.challengePassword
            ? html`${copyable('Challenge Password', ca.challengePassword, 'ca-challenge-password')}
                <p class="warn" role="note">The challenge password is shown once: paste it into WS1 now.</p>`
            : html`<p class="muted">Challenge Password: shown once when made; rotate the credentials for a new one.</p>`
        }
        ${copyable('SCEP Challenge URL', ca.scepChallengeUrl, 'ca-challenge-url')}
      </section>
      <section class="card" aria-labelledby="ws1t-h">
        <h2 id="ws1t-h">Workspace ONE › Certificate Templates › Add</h2>
        ${copyable('Subject Name', t.subjectName, 't-subject')}${copyable('Private Key Length', String(t.privateKeyLength), 't-keylen')}
        ${copyable('Private Key Type', t.privateKeyType, 't-keytype')}${copyable('Auto Renewal Period (days)', String(t.autoRenewalPeriodDays), 't-renewal')}
      </section>`;
  }
  if (appConfig)
    return html`<section class="card" aria-labelledby="ac-h">
      <h2 id="ac-h">Workspace ONE › Apps › Assignment › Application Configuration</h2>
      ${table(
        ['Configuration Key', 'Value Type', 'Configuration Value', ''],
        appConfig.entries.map(
          (e, n) =>
            html`<tr>
              <td><code id="ac-k${n}">${e.key}</code></td>
              <td>${e.valueType}</td>
              <td><code id="ac-v${n}">${e.value}</code></td>
              <td>
                <button type="button" class="copy" data-copy="ac-k${n}">Copy<span class="sr-only"> key ${e.key}</span></button>
                <button type="button" class="copy" data-copy="ac-v${n}">Copy<span class="sr-only"> value of ${e.key}</span></button>
              </td>
            </tr>`,
        ),
      )}
    </section>`;
  return html`<p class="muted">Desktop integrations (Windows, macOS) are matched by the WS1 device sync: set the WS1 API settings below.</p>`;
}

async function integrationBody(ctx: Context, d: ConsolePageDeps, pc: PageContext, v: IntegrationView): Promise<Html> {
  const write = may(ctx, 'integrations:write');
  const legacy = v.type === 'ios-certs';
  const appConfig = v.type === 'ios' || v.type === 'android' ? await d.appConfig.forIntegration(v.id) : undefined;
  const settings = legacy ? undefined : await d.ws1Settings.view(v.id);
  const sync = legacy ? undefined : await d.ws1Sync.status(v.id);
  const groups = write ? await d.groups.list() : [];
  const search = queryText(ctx, 'identifier');
  const found = search && !legacy ? await d.ws1Sync.search(v.id, search) : undefined;
  const counts = await d.stats.counts(v.id);
  const statusForm = write
    ? postForm(
        pc,
        `/console/integrations/${v.id}/status`,
        html`${select(
          'Status',
          'status',
          [
            ['disabled', 'Disabled'],
            ['test-group', 'Test group'],
            ['all', 'All users'],
          ],
          v.status,
        )}${select('Test group', 'group', [['', '(none)'], ...groups.map((g): [string, string] => [g.name, g.name])], v.group ?? '')}`,
        'Set status',
        { className: 'row' },
      )
    : '';
  return html`<dl class="facts">
      <dt>Id</dt>
      <dd><code>${v.id}</code></dd>
      <dt>Type</dt>
      <dd>${TYPE_LABEL[v.type]}</dd>
      <dt>Status</dt>
      <dd>${v.status}${v.group ? html` with group <strong>${v.group}</strong>` : ''}</dd>
      <dt>${legacy ? 'Devices with a valid certificate' : 'Synced devices'}</dt>
      <dd>${legacy ? (counts?.devices ?? '…') : (sync?.deviceCount ?? 0)}</dd>
      ${
        legacy
          ? html`<dt>Certificates</dt>
              <dd>${counts ? `${counts.valid} valid, ${counts.expiring} expiring within 30 days, ${counts.revoked} revoked` : '…'}</dd>`
          : ''
      }
    </dl>
    ${statusForm} ${ws1Values(v, appConfig)}
    ${
      legacy
        ? html`<section class="card" aria-labelledby="cred-h">
            <h2 id="cred-h">Challenge credentials and template</h2>
            ${
              write
                ? html`${postForm(pc, `/console/integrations/${v.id}/rotate`, field('Old password keeps working for', 'grace', { value: '24h', hint: 'e.g. 24h, 0 for not at all' }), 'Rotate challenge credentials', { confirm: 'Make a new challenge password? WS1 must be given the new one.' })}
                  ${postForm(pc, `/console/integrations/${v.id}/subject-template`, field('Subject name template', 'subjectName', { value: v.subjectName ?? '', required: true }), 'Save template')}
                  ${postForm(pc, `/console/integrations/${v.id}/profile`, field('Device UID (optional)', 'deviceUid'), 'Download iOS profile')}`
                : html`<p class="muted">Subject name template: <code>${v.subjectName}</code></p>`
            }
            <p>
              <a href="/console/certificates?integration=${v.id}">Certificates</a> · <a href="/console/devices?integration=${v.id}">Devices</a> ·
              <a href="/console/migrations/${v.id}">Migration</a>
            </p>
          </section>`
        : html`<section class="card" aria-labelledby="ws1s-h">
            <h2 id="ws1s-h">Workspace ONE API</h2>
            ${settings ? html`<p>${settings.baseUrl} as <code>${settings.username}</code>${settings.extraCa ? ' (extra CA)' : ''}, updated ${when(settings.updatedAt)}</p>` : html`<p class="muted">Not configured.</p>`}
            ${
              may(ctx, 'ws1:configure')
                ? postForm(
                    pc,
                    `/console/integrations/${v.id}/ws1`,
                    html`${field('API URL', 'url', { value: settings?.baseUrl ?? '', required: !settings })}${field('Username', 'username', { value: settings?.username ?? '', required: !settings })}
                    ${field('Password', 'password', { type: 'password', autocomplete: 'off', hint: settings ? 'leave empty to keep' : undefined })}${field('API key (aw-tenant-code)', 'apiKey', { type: 'password', autocomplete: 'off', hint: settings ? 'leave empty to keep' : undefined })}`,
                    'Save WS1 settings',
                  )
                : ''
            }
            ${
              write && settings
                ? html`${postForm(pc, `/console/integrations/${v.id}/ws1/test`, '', 'Test Configuration', { className: 'inline' })}
                    <form method="post" action="/console/integrations/${v.id}/sync" class="inline" data-sync="${v.id}">
                      <input type="hidden" name="_csrf" value="${pc.csrf}" /><button type="submit">Sync now</button>
                    </form>
                    <p id="sync-progress" role="status" aria-live="polite">${sync?.running ? 'A sync is running.' : ''}</p>`
                : ''
            }
            <p>
              Last sync:
              ${when(sync?.lastSuccessAt)}${sync?.lastFailureAt ? html` · <span class="bad">last failure ${when(sync.lastFailureAt)}: ${sync.lastFailureMessage}</span>` : ''}
            </p>
            <form method="get" action="/console/integrations/${v.id}" class="row" role="search">
              <p class="field">
                <label for="f-identifier">Find a device (UDID, serial, MAC, IMEI)</label><input id="f-identifier" name="identifier" value="${search ?? ''}" />
              </p>
              <button type="submit">Search</button>
            </form>
            ${
              found
                ? found.device
                  ? table(
                      ['UDID', 'Serial', 'Platform', 'Enrollment', 'User', 'Last seen'],
                      [
                        html`<tr>
                          <td><code>${found.device.udid}</code></td>
                          <td>${found.device.serialNumber ?? '—'}</td>
                          <td>${found.device.platform}</td>
                          <td>${found.device.enrollmentStatus}</td>
                          <td>${found.device.userName ?? '—'}</td>
                          <td>${when(found.device.lastSeen)}</td>
                        </tr>`,
                      ],
                      'Device',
                    )
                  : html`<p>No device matches ${search}.</p>`
                : ''
            }
          </section>`
    }
    ${
      may(ctx, 'integrations:delete')
        ? html`<section class="card danger-zone" aria-labelledby="del-h">
            <h2 id="del-h">Delete</h2>
            <p><a class="button danger" href="/console/integrations/${v.id}/delete">Delete this integration…</a></p>
          </section>`
        : ''
    }`;
}
