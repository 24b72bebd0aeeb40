import { Integration, IntegrationStatus, IntegrationType, IOS_CERTS_TEMPLATE } from './integration.types';
import { escapeText } from '../shared/terminal-text';

/** An integration as the CLI (`--json`) and the admin API show it. */
export interface IntegrationView {
  id: string;
  type: IntegrationType;
  name: string;
  status: IntegrationStatus;
  group: string | null;
  createdAt: string;
  updatedAt: string;
  // ios-certs only:
  scepUrl?: string;
  ndesScepUrl?: string;
  challengeUrl?: string;
  challengeUrlById?: string;
  challengeUsername?: string;
  /** only right after creation or rotation: it is stored as a hash */
  challengePassword?: string;
  subjectName?: string;
  ws1?: Ws1Settings;
}

/** The WS1 "Certificate Authority" and "Certificate Template" forms, field by field. */
export interface Ws1Settings {
  certificateAuthority: {
    authorityType: 'Microsoft ADCS';
    protocol: 'SCEP';
    version: 'NDES 2008/2012';
    scepUrl: string;
    challengeType: 'Dynamic';
    challengeUsername: string;
    challengePassword: string | null;
    scepChallengeUrl: string;
  };
  certificateTemplate: {
    subjectName: string;
    privateKeyLength: number;
    privateKeyType: string;
    autoRenewalPeriodDays: number;
  };
}

export function scepUrls(publicUrl: string, id: string) {
  return { scepUrl: `${publicUrl}/scep/${id}`, ndesScepUrl: `${publicUrl}/certsrv/mscep/${id}/mscep.dll` };
}

export function integrationView(i: Integration, publicUrl: string, challengePassword?: string): IntegrationView {
  const view: IntegrationView = {
    id: i.id,
    type: i.type,
    name: i.name,
    status: i.status,
    group: i.groupName,
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
  };
  if (i.type !== 'ios-certs') return view;
  const { scepUrl, ndesScepUrl } = scepUrls(publicUrl, i.id);
  // the NDES path works for every integration (the Basic-auth username says which one)
  const challengeUrl = `${publicUrl}/certsrv/mscep_admin/`;
  const subjectName = i.subjectTemplate ?? '';
  const username = i.challengeUsername ?? '';
  return {
    ...view,
    scepUrl,
    ndesScepUrl,
    challengeUrl,
    challengeUrlById: `${publicUrl}/certsrv/mscep_admin/${i.id}/`,
    challengeUsername: username,
    ...(challengePassword ? { challengePassword } : {}),
    subjectName,
    ws1: {
      certificateAuthority: {
        authorityType: 'Microsoft ADCS',
        protocol: 'SCEP',
        version: 'NDES 2008/2012',
        scepUrl: ndesScepUrl,
        challengeType: 'Dynamic',
        challengeUsername: username,
        challengePassword: challengePassword ?? null,
        scepChallengeUrl: challengeUrl,
      },
      certificateTemplate: { subjectName, ...IOS_CERTS_TEMPLATE },
    },
  };
}

/** `integration show` as text: the WS1 forms in the order WS1 asks for the fields. */
export function integrationText(v: IntegrationView): string {
  const rows: [string, string][] = [
    ['Integration', v.id],
    ['Name', v.name],
    ['Type', v.type],
    ['Status', v.status + (v.group ? ` (group ${v.group})` : '')],
    ['Created', v.createdAt],
  ];
  const lines = table(rows);
  if (v.ws1) {
    const ca = v.ws1.certificateAuthority;
    const t = v.ws1.certificateTemplate;
    lines.push('', 'Workspace ONE > Certificate Authorities > Add:');
    lines.push(
      ...table([
        ['Authority Type', ca.authorityType],
        ['Protocol', ca.protocol],
        ['Version', ca.version],
        ['SCEP URL', ca.scepUrl],
        ['  (same endpoint)', v.scepUrl!],
        ['Challenge Type', ca.challengeType],
        ['Challenge Username', ca.challengeUsername],
        ['Challenge Password', ca.challengePassword ?? '(shown once; make a new one with `scepter integration rotate-challenge-credentials ' + v.id + '`)'],
        ['SCEP Challenge URL', ca.scepChallengeUrl],
      ]).map((l) => `  ${l}`),
    );
    lines.push('', 'Workspace ONE > Certificate Templates > Add:');
    lines.push(
      ...table([
        ['Subject Name', t.subjectName],
        ['Private Key Length', String(t.privateKeyLength)],
        ['Private Key Type', t.privateKeyType],
        ['Auto Renewal Period (days)', String(t.autoRenewalPeriodDays)],
      ]).map((l) => `  ${l}`),
    );
  }
  return lines.join('\n');
}

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, val]) => `${`${k}:`.padEnd(width + 1)}${escapeText(val)}`);
}
