import { BadRequestError } from '../shared/errors';
import { DEVICE_UID_PLACEHOLDER } from './integration.types';

/** Attribute types a template may name, in the spelling `pki/names.ts` reports them. */
const TYPES = ['CN', 'OU', 'O', 'C', 'L', 'ST', 'serialNumber', 'emailAddress', 'DC', 'UID'];
const CANONICAL = new Map(TYPES.map((t) => [t.toUpperCase(), t]));

export interface NameAttribute {
  type: string;
  value: string;
}

/** A template value as pieces: literal text and `{Lookup}` placeholders (`uid`: `{DeviceUid}`). */
type Piece = { literal: string } | { placeholder: string; uid: boolean };

interface TemplateAttribute {
  type: string;
  value: string;
  pieces: Piece[];
  holdsDeviceUid: boolean;
  literal: boolean;
}

export type SubjectMatch = { ok: true; deviceUid: string } | { ok: false; reason: string };

/** Longest subject value matched against a template: longer values are refused before matching. */
export const MAX_MATCHED_VALUE = 256;

/**
 * A WS1 "Subject Name" such as `CN={DeviceUid},OU=DI...`: `{DeviceUid}` (exactly once) is the
 * device's UDID; other `{Lookup}` values WS1 fills in stand for any non-empty text. Matching uses
 * no regular expressions: each value is compared piece by piece in time linear in its length.
 */
export class SubjectTemplate {
  private constructor(
    readonly text: string,
    readonly attributes: TemplateAttribute[],
  ) {}

  static parse(text: string): SubjectTemplate {
    if (text.length > 512) throw new BadRequestError('subject template must have 1 to 16 attributes and at most 512 characters');
    const parts = text.split(/(?<!\\),/).map((p) => p.trim());
    if (parts.length === 0 || parts.length > 16) throw new BadRequestError('subject template must have 1 to 16 attributes and at most 512 characters');
    const attributes = parts.map((part) => {
      const eq = part.indexOf('=');
      const type = eq > 0 && CANONICAL.get(part.slice(0, eq).trim().toUpperCase());
      const value =
        eq > 0
          ? part
              .slice(eq + 1)
              .trim()
              .replace(/\\,/g, ',')
          : '';
      if (!type || value === '') throw new BadRequestError(`subject template: "${part.slice(0, 40)}" is not TYPE=VALUE with TYPE one of ${TYPES.join(', ')}`);
      const pieces = toPieces(value);
      for (let i = 1; i < pieces.length; i++) {
        if ('placeholder' in pieces[i]! && 'placeholder' in pieces[i - 1]!)
          throw new BadRequestError(`subject template: "${part.slice(0, 40)}" has two lookup values with nothing between them (which text belongs to which?)`);
      }
      const holdsDeviceUid = pieces.some((p) => 'uid' in p && p.uid);
      return { type, value, pieces, holdsDeviceUid, literal: pieces.every((p) => 'literal' in p) };
    });
    const uidCount = text.split(DEVICE_UID_PLACEHOLDER).length - 1;
    if (uidCount !== 1) throw new BadRequestError(`subject template must contain ${DEVICE_UID_PLACEHOLDER} exactly once`);
    return new SubjectTemplate(text, attributes);
  }

  /**
   * The subject must carry exactly the template's attributes: each type as often as in the
   * template (two CNs would make the UDID ambiguous), no other type, every value matching.
   */
  match(subject: NameAttribute[]): SubjectMatch {
    // caps first: matching work stays bounded whatever the subject
    if (subject.length > this.attributes.length)
      return { ok: false, reason: `subject has ${subject.length} attributes, the template ${this.text} has ${this.attributes.length}` };
    if (subject.some((a) => a.value.length > MAX_MATCHED_VALUE)) return { ok: false, reason: `a subject value is longer than ${MAX_MATCHED_VALUE} characters` };
    const uidAttr = this.attributes.find((a) => a.holdsDeviceUid)!;
    const uidValues = subject.filter((a) => a.type === uidAttr.type && a.value.trim() !== '');
    if (uidValues.length === 0)
      return { ok: false, reason: `subject has no ${uidAttr.type}: the device identifier (${uidAttr.type}=${uidAttr.value} in the template ${this.text})` };
    for (const type of new Set([...this.attributes.map((a) => a.type), ...subject.map((a) => a.type)])) {
      const expected = this.attributes.filter((a) => a.type === type).length;
      const got = subject.filter((a) => a.type === type).length;
      if (got !== expected) return { ok: false, reason: `subject has ${got} ${type} attribute(s), the template ${this.text} has ${expected}` };
    }
    const unused = [...subject];
    let deviceUid: string | undefined;
    // literals first, so a pattern cannot take the value a literal needs
    for (const t of [...this.attributes].sort((a, b) => Number(b.literal) - Number(a.literal))) {
      let captured: string | undefined;
      const i = unused.findIndex((a) => a.type === t.type && (captured = matchPieces(t.pieces, a.value)) !== undefined);
      if (i < 0) return { ok: false, reason: `subject has no ${t.type} matching ${t.value} (template ${this.text})` };
      unused.splice(i, 1);
      if (t.holdsDeviceUid) deviceUid = captured!.trim();
    }
    if (!deviceUid) return { ok: false, reason: 'the device identifier in the subject is empty' };
    return { ok: true, deviceUid };
  }

  /** Apple's SCEP payload `Subject`: one array per RDN, in template order, UDID filled in. */
  profileSubject(deviceUid: string): [string, string][][] {
    return this.attributes.map((a) => [[a.type, a.value.replace(DEVICE_UID_PLACEHOLDER, deviceUid)]]);
  }
}

function toPieces(value: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  while (i < value.length) {
    const open = value.indexOf('{', i);
    const close = open < 0 ? -1 : value.indexOf('}', open);
    const name = close > open + 1 ? value.slice(open + 1, close) : '';
    if (open < 0 || !/^[A-Za-z]+$/.test(name)) {
      // no (further) placeholder: the rest, or this '{', is literal text
      const end = open < 0 ? value.length : open + 1;
      pieces.push({ literal: value.slice(i, end) });
      i = end;
      continue;
    }
    if (open > i) pieces.push({ literal: value.slice(i, open) });
    const placeholder = `{${name}}`;
    pieces.push({ placeholder, uid: placeholder === DEVICE_UID_PLACEHOLDER });
    i = close + 1;
  }
  // merge neighbouring literals
  return pieces.reduce<Piece[]>((acc, p) => {
    const last = acc[acc.length - 1];
    if (last && 'literal' in last && 'literal' in p) acc[acc.length - 1] = { literal: last.literal + p.literal };
    else acc.push(p);
    return acc;
  }, []);
}

/**
 * Matches `value` against literal pieces and placeholders (each at least one character, never two
 * in a row): the first literal must be a prefix, the last a suffix, and each literal in between is
 * taken at its leftmost possible place, which finds a match whenever one exists. Returns the text of
 * the `{DeviceUid}` placeholder ('' when the template has none), or undefined when it does not match.
 */
function matchPieces(pieces: Piece[], value: string): string | undefined {
  if (pieces.length === 1 && 'literal' in pieces[0]!) return value === pieces[0].literal ? '' : undefined;
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  const prefix = 'literal' in first ? first.literal : '';
  const suffix = 'literal' in last && pieces.length > 1 ? last.literal : '';
  if (!value.startsWith(prefix) || !value.endsWith(suffix)) return undefined;
  const end = value.length - suffix.length;
  let pos = prefix.length;
  let uid = '';
  const inner = pieces.slice('literal' in first ? 1 : 0, 'literal' in last ? -1 : undefined);
  // inner: placeholder, literal, placeholder, ..., placeholder
  for (let k = 0; k < inner.length; k += 2) {
    const ph = inner[k] as { placeholder: string; uid: boolean };
    const lit = inner[k + 1] as { literal: string } | undefined;
    const at = lit ? value.indexOf(lit.literal, pos + 1) : end;
    if (at < 0 || at <= pos || at > end || (lit && at + lit.literal.length > end)) return undefined;
    if (ph.uid) uid = value.slice(pos, at);
    pos = lit ? at + lit.literal.length : end;
  }
  return pos === end ? uid : undefined;
}
