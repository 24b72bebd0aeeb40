/**
 * HTML built from template literals: every interpolated value is escaped unless it is already Html
 * (made by `html` itself or `trusted`), so device-supplied text (UDIDs, subjects, user names)
 * cannot become markup. Arrays are joined.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(v: string): string {
  return v.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function part(v: unknown): string {
  if (v === undefined || v === null || v === false) return '';
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(part).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Markup we made ourselves (never input). */
export function trusted(text: string): Html {
  return new Html(text);
}

/** A query string from the values that are set. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
