/**
 * Human-readable CLI output shows text that others chose: device ids (UDIDs come from devices),
 * names, users, subjects, audit details. Printed raw, a newline forges a line of output, an ANSI
 * escape rewrites the terminal and a bidi control reorders what the admin reads. Every printer
 * builds its lines with `cliText` (or `escapeText` for single values), which shows such characters
 * as visible escapes; `--json` output is JSON.stringify'd and stays exact.
 */

// C0 and C1 controls, DEL, line/paragraph separators, bidi and zero-width formatting characters
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const NAMED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One value as a single, visible-only line: `a\nb` prints as `a\\nb`, ESC as `\\x1b`. */
export function escapeText(value: unknown): string {
  return String(value).replace(UNSAFE, (c) => NAMED[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** Tagged template: the literal parts as written, every interpolated value through escapeText. */
export function cliText(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += escapeText(values[i]) + strings[i + 1]!;
  return out;
}

function hex(c: string, width: number): string {
  return c.charCodeAt(0).toString(16).padStart(width, '0');
}
