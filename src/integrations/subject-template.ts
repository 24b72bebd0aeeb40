import { BadRequestError } from '../shared/errors';
import { DEVICE_UID_PLACEHOLDER } from './integration.types';

/** Attribute types a template may name, in the spelling `pki/names.ts` reports them. */
const TYPES = ['CN', 'OU', 'O', 'C', 'L', 'ST', 'serialNumber', 'emailAddress', 'DC', 'UID'];
const CANONICAL = new Map(TYPES.map((t) => [t.toUpperCase(), t]));

export interface NameAttribute {
  type: string;
  value: string;
}

interface TemplateAttribute {
  type: string;
  value: string;
  pattern: RegExp;
  holdsDeviceUid: boolean;
  literal: boolean;
}

export type SubjectMatch = { ok: true; deviceUid: string } | { ok: false; reason: string };

/**
 * A WS1 "Subject Name" such as `CN={DeviceUid},OU=DI...`: `{DeviceUid}` (exactly once) is the
 * device's UDID; other `{Lookup}` values WS1 fills in stand for any non-empty text.
 */
export class SubjectTemplate {
  private constructor(readonly text: string, readonly attributes: TemplateAttribute[]) {}

  static parse(text: string): SubjectTemplate {
    const parts = text.split(/(?<!\\),/).map((p) => p.trim());
    if (text.length > 512 || parts.length === 0 || parts.length > 16) throw new BadRequestError('subject template must have 1 to 16 attributes and at most 512 characters');
    const attributes = parts.map((part) => {
      const m = /^([A-Za-z]+)\s*=\s*(.+)$/.exec(part);
      const type = m && CANONICAL.get(m[1]!.toUpperCase());
      if (!m || !type) throw new BadRequestError(`subject template: "${part.slice(0, 40)}" is not TYPE=VALUE with TYPE one of ${TYPES.join(', ')}`);
      const value = m[2]!.replace(/\\,/g, ',');
      return { type, value, pattern: toPattern(value), holdsDeviceUid: value.includes(DEVICE_UID_PLACEHOLDER), literal: !/\{[A-Za-z]+\}/.test(value) };
    });
    const uidCount = text.split(DEVICE_UID_PLACEHOLDER).length - 1;
    if (uidCount !== 1) throw new BadRequestError(`subject template must contain ${DEVICE_UID_PLACEHOLDER} exactly once`);
    return new SubjectTemplate(text, attributes);
  }

  /**
   * Every template attribute must be present with a matching value, and a type the template names
   * must not appear more often than in the template (two CNs would make the UDID ambiguous). Other
   * attribute types are tolerated: clients add some (micromdm's scepclient adds C and O).
   */
  match(subject: NameAttribute[]): SubjectMatch {
    const uidAttr = this.attributes.find((a) => a.holdsDeviceUid)!;
    const uidValues = subject.filter((a) => a.type === uidAttr.type && a.value.trim() !== '');
    if (uidValues.length === 0) return { ok: false, reason: `subject has no ${uidAttr.type}: the device identifier (${uidAttr.type}=${uidAttr.value} in the template ${this.text})` };
    for (const type of new Set(this.attributes.map((a) => a.type))) {
      const expected = this.attributes.filter((a) => a.type === type).length;
      const got = subject.filter((a) => a.type === type).length;
      if (got !== expected) return { ok: false, reason: `subject has ${got} ${type} attribute(s), the template ${this.text} has ${expected}` };
    }
    const unused = [...subject];
    let deviceUid: string | undefined;
    // literals first, so a pattern cannot take the value a literal needs
    for (const t of [...this.attributes].sort((a, b) => Number(b.literal) - Number(a.literal))) {
      const i = unused.findIndex((a) => a.type === t.type && t.pattern.test(a.value));
      if (i < 0) return { ok: false, reason: `subject has no ${t.type} matching ${t.value} (template ${this.text})` };
      const [attr] = unused.splice(i, 1);
      if (t.holdsDeviceUid) deviceUid = t.pattern.exec(attr!.value)![1]!.trim();
    }
    if (!deviceUid) return { ok: false, reason: 'the device identifier in the subject is empty' };
    if (deviceUid.length > 256) return { ok: false, reason: 'the device identifier is longer than 256 characters' };
    return { ok: true, deviceUid };
  }

  /** Apple's SCEP payload `Subject`: one array per RDN, in template order, UDID filled in. */
  profileSubject(deviceUid: string): [string, string][][] {
    return this.attributes.map((a) => [[a.type, a.value.replace(DEVICE_UID_PLACEHOLDER, deviceUid)]]);
  }
}

function toPattern(value: string): RegExp {
  const source = value
    .split(/(\{[A-Za-z]+\})/)
    .map((piece) => (piece === DEVICE_UID_PLACEHOLDER ? '(.+)' : /^\{[A-Za-z]+\}$/.test(piece) ? '.+' : piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's');
}
