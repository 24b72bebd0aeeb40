import { pipeline } from 'node:stream/promises';
import { escapeText } from '../../shared/terminal-text';
import { Command, Option } from 'commander';
import { csvExport } from '../../lists/list-csv';
import { ITEM_JSON } from '../../lists/list.presenter';
import { MAX_PAGE_SIZE, type ListKind, type RawListParams } from '../../lists/list.service';
import { CERTIFICATE_STATUSES, DEVICE_TRUST, type CertificateListItem, type DeviceListItem, type InventoryListItem } from '../../lists/list.types';
import type { Services } from '../../main';
import { output, withServices } from '../cli-context';
import { commandGroup } from './cert.commands';

interface ListOpts {
  integration?: string;
  status?: string;
  device?: string;
  expiringBefore?: string;
  trust?: string;
  platform?: string;
  enrollmentStatus?: string;
  limit?: string;
  cursor?: string;
  after?: string;
  csv?: boolean;
}

/**
 * `scepter cert list`, `scepter device list`, `scepter inventory list`: keyset-paged lists with
 * filters; `--json` for one page as JSON, `--csv` streams every page from --cursor on.
 */
export function registerListCommands(program: Command): void {
  const cert = commandGroup(program, 'cert', 'certificates this CA issued');
  paging(
    cert
      .command('list')
      .description(
        'issued certificates (valid includes superseded ones, usable until they expire); oldest first, or soonest to expire with --expiring-before/--status expired, or by device id with --device',
      )
      .option('--integration <id>', 'only this integration')
      .addOption(new Option('--status <status>', 'only these').choices([...CERTIFICATE_STATUSES]))
      .option('--device <prefix>', 'device ids starting with this')
      .option('--expiring-before <date>', 'notAfter before this date (YYYY-MM-DD or ISO 8601 time)')
      .option('--after <id>', 'page on after this certificate id (in id order; --cursor works for every order)'),
    'certificates',
    '1000',
  );
  const device = commandGroup(program, 'device', 'devices: their certificates and logins');
  paging(
    device
      .command('list')
      .description('devices with certificates, by device id: integration, certificate counts, latest serial, trust, last seen')
      .option('--integration <id>', 'only this integration')
      .option('--device <prefix>', 'device ids starting with this')
      .addOption(new Option('--trust <trust>', 'trusted: an unrevoked unexpired certificate; revoked; expired').choices([...DEVICE_TRUST])),
    'devices',
  );
  const inventory = commandGroup(program, 'inventory', 'the WS1 device inventories synced for each integration');
  paging(
    inventory
      .command('list')
      .description('synced WS1 devices, integration by integration, by UDID')
      .option('--integration <id>', 'only this integration')
      .option('--platform <platform>', 'e.g. Apple, Android, AppleOsX, WinRT')
      .option('--enrollment-status <status>', 'e.g. Enrolled')
      .option('--device <prefix>', 'UDIDs starting with this (any case)'),
    'inventory',
  );
}

function paging(cmd: Command, kind: ListKind, defaultLimit = '100'): void {
  cmd
    .option('--limit <n>', `rows per page, 1 to ${MAX_PAGE_SIZE}`, defaultLimit)
    .option('--cursor <cursor>', 'page on: the nextCursor a previous page printed')
    .option('--csv', 'CSV of every page from --cursor on, streamed (--limit is ignored)')
    .action(async (o: ListOpts, c: Command) =>
      withServices(c, async (s) => {
        const raw: RawListParams = {
          integration: o.integration,
          status: o.status,
          device: o.device,
          expiringBefore: o.expiringBefore,
          trust: o.trust,
          platform: o.platform,
          enrollmentStatus: o.enrollmentStatus,
          limit: o.limit,
          cursor: o.cursor,
          after: o.after,
        };
        if (o.csv) return exportCsv(s, kind, raw);
        const page = await s.lists[kind](raw);
        const toJson: (i: unknown) => unknown = ITEM_JSON[kind];
        const items = page.items as unknown[];
        const json: Record<string, unknown> = { [kind]: items.map((i) => toJson(i)), nextCursor: page.nextCursor };
        if (kind === 'certificates')
          json.next = 'order' in page && page.order === 'id' && page.nextCursor ? (items[items.length - 1] as CertificateListItem).id : null;
        output(c, json, () => table(kind, items, page.nextCursor));
      }),
    );
}

async function exportCsv(s: Services, kind: ListKind, raw: RawListParams): Promise<void> {
  const pages = await s.lists.pages(kind, raw);
  let failed: Error | undefined;
  const csv = csvExport(kind, pages, (err) => (failed = err instanceof Error ? err : new Error(String(err))));
  try {
    await pipeline(csv, process.stdout, { end: false });
  } catch (err) {
    // a reader that stops early (`| head`) is not an error
    if (failed) throw failed;
    if ((err as { code?: string }).code !== 'EPIPE') throw err;
  }
}

/** Control characters in device-supplied text are shown escaped, never sent to the terminal. */
// device-supplied text: control characters, ANSI escapes and bidi controls shown escaped
const safe = (v: string | null | undefined) => escapeText(v ?? '-');
const day = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');

function table(kind: ListKind, items: unknown[], next: string | null): string {
  if (!items.length) return kind === 'certificates' ? 'no certificates' : kind === 'devices' ? 'no devices' : 'no synced devices';
  let rows: string[][];
  if (kind === 'certificates') {
    rows = [['SERIAL', 'STATUS', 'NOT AFTER', 'INTEGRATION', 'DEVICE', 'SUBJECT']];
    for (const c of items as CertificateListItem[])
      rows.push([c.serial, c.status, c.notAfter.slice(0, 10), safe(c.integrationId), safe(c.deviceId), safe(c.subject)]);
  } else if (kind === 'devices') {
    rows = [['INTEGRATION', 'DEVICE', 'TRUST', 'CERTS', 'VALID', 'LATEST SERIAL', 'LAST SEEN']];
    for (const d of items as DeviceListItem[])
      rows.push([d.integrationId, safe(d.deviceId), d.trust, String(d.certificates), String(d.validCertificates), d.latestSerial ?? '-', day(d.lastSeenAt)]);
  } else {
    rows = [['INTEGRATION', 'UDID', 'PLATFORM', 'STATUS', 'SERIAL NUMBER', 'USER', 'LAST SEEN']];
    for (const d of items as InventoryListItem[])
      rows.push([d.integrationId, safe(d.udid), safe(d.platform), safe(d.enrollmentStatus), safe(d.serialNumber), safe(d.userName), day(d.lastSeen)]);
  }
  const widths = rows[0]!.map((_, i) => Math.min(40, Math.max(...rows.map((r) => r[i]!.length))));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  if (next) lines.push(`(more: --cursor ${next})`);
  return lines.join('\n');
}
