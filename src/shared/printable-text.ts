/**
 * The one rule for names and ids that others will read: integration, group, admin user and API key
 * names, policy application names, device ids, certificate subjects, list filters, the user and
 * application of a device-trust check. Text that passes shows as what it is in the console, CSV
 * exports, logs and terminals: no forged line, no reordered or hidden characters, so two different
 * values never look alike.
 *
 * Allowed on purpose: ZERO WIDTH NON-JOINER and ZERO WIDTH JOINER (U+200C, U+200D). Persian, Indic
 * and other scripts need them to spell words, and emoji sequences use them.
 */
const REFUSED = [
  // C0 controls, DEL, C1 controls: they forge lines, drive terminals and truncate C strings
  '\\u0000-\\u001f\\u007f-\\u009f',
  // line and paragraph separators: line breaks to JavaScript, JSON viewers and some log readers
  '\\u2028\\u2029',
  // bidirectional controls: they reorder what is displayed ("cv\u202Efdp.exe" shows as "cvexe.pdf")
  '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069',
  // invisible formatting: soft hyphen, Mongolian vowel separator, zero width space, word joiner and
  // invisible operators, deprecated format controls, BOM / zero width no-break space, annotation marks
  '\\u00ad\\u180e\\u200b\\u2060-\\u2064\\u206a-\\u206f\\ufeff\\ufff9-\\ufffb',
  // with the u flag only an unpaired surrogate matches: not text in any Unicode encoding
  '\\ud800-\\udfff',
].join('');

// noncharacters: U+FDD0..U+FDEF and the last two code points of every plane (U+FFFE, U+10FFFF...)
const UNPRINTABLE = new RegExp(`[${REFUSED}]|\\p{Noncharacter_Code_Point}`, 'u');

/** True when `s` holds a control, bidirectional, invisible formatting or noncharacter, or an unpaired surrogate. */
export function hasUnprintable(s: string): boolean {
  return UNPRINTABLE.test(s);
}
