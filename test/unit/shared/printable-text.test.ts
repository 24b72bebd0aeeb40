import { expect } from 'chai';
import { hasUnprintable } from '../../../src/shared/printable-text';

const hex = (c: string) => Array.from(c, (x) => `U+${x.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String.fromCodePoint(from + i));

describe('shared/printable-text', () => {
  const refused: Record<string, string[]> = {
    'C0 controls and DEL': [...range(0x00, 0x1f), '\u007f'],
    'C1 controls': range(0x80, 0x9f),
    'line and paragraph separators': ['\u2028', '\u2029'],
    'bidirectional controls': ['\u061c', '\u200e', '\u200f', ...range(0x202a, 0x202e), ...range(0x2066, 0x2069)],
    'invisible formatting': ['\u00ad', '\u180e', '\u200b', ...range(0x2060, 0x2064), ...range(0x206a, 0x206f), '\ufeff', ...range(0xfff9, 0xfffb)],
    'noncharacters U+FDD0-U+FDEF': range(0xfdd0, 0xfdef),
    'noncharacters at the end of every plane': Array.from({ length: 17 }, (_, p) => p).flatMap((p) => [
      String.fromCodePoint(p * 0x10000 + 0xfffe),
      String.fromCodePoint(p * 0x10000 + 0xffff),
    ]),
    'unpaired surrogates': ['\ud800', '\udbff', '\udc00', '\udfff', '\ud83d', '\ude00'],
  };
  for (const [what, chars] of Object.entries(refused)) {
    it(`refuses ${what}, alone and inside other text`, () => {
      for (const c of chars) {
        expect(hasUnprintable(c), hex(c)).to.equal(true);
        expect(hasUnprintable(`name${c}`), `name + ${hex(c)}`).to.equal(true);
        expect(hasUnprintable(`${c}名前`), `${hex(c)} + 名前`).to.equal(true);
      }
    });
  }

  it('accepts ordinary text in any script, emoji, and ZWNJ/ZWJ (Persian, Indic, emoji sequences)', () => {
    for (const s of [
      'Zoë',
      '東京',
      'مرحبا',
      'Ørsted & Søn (Köln) <ok>',
      'می\u200cخواهم', // Persian "I want": ZWNJ between the prefix and the verb
      'क्\u200dष', // Devanagari with ZWJ
      '👩\u200d💻',
      '😀 \u{1F600} \u{20000}', // astral characters: paired surrogates
      '\u00a0non-breaking\u3000spaces',
      'x'.repeat(10_000),
      '',
    ])
      expect(hasUnprintable(s), JSON.stringify(s)).to.equal(false);
  });

  it('accepts the neighbours of every refused range', () => {
    for (const c of [
      '\u0020',
      '\u007e',
      '\u00a0',
      '\u00ac',
      '\u00ae',
      '\u061b',
      '\u061d',
      '\u180d',
      '\u180f',
      '\u200a',
      '\u200c',
      '\u200d',
      '\u2027',
      '\u202f',
      '\u205f',
      '\u2065',
      '\u2070',
      '\ufdcf',
      '\ufdf0',
      '\ufef0',
      '\ufff8',
      '\ufffc',
      '\ufffd',
      '\u{1fffd}',
      '\u{10000}',
    ])
      expect(hasUnprintable(c), hex(c)).to.equal(false);
  });
});
