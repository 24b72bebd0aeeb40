import type http from 'node:http';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * Paths for administrators only. With SCEPTER_ADMIN_PORT set they are served on the admin listener
 * alone and answer 404 on the public (SCEP, CRL, OCSP, challenge URL, device trust) listeners.
 * Modules that add admin-only endpoints (e.g. metrics) list their prefix here.
 */
export const ADMIN_PATH_PREFIXES: string[] = ['/admin', '/metrics', '/console'];

// paths both listeners answer (liveness probes of either port)
const SHARED_PATHS = new Set(['/healthz']);

/**
 * The path as the router will see it, for the admin/public decision: percent-decoded, lower case
 * (routes match case-insensitively) and with repeated slashes folded, so no spelling slips through.
 */
function normalisedPath(url: string | undefined): string {
  const raw = (url ?? '/').split('?')[0]!;
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // malformed escapes: judged as written
  }
  return decoded.toLowerCase().replace(/\/{2,}/g, '/');
}

export function isAdminPath(url: string | undefined): boolean {
  const p = normalisedPath(url);
  return ADMIN_PATH_PREFIXES.some((prefix) => p === prefix || p.startsWith(`${prefix}/`));
}

function notFound(res: http.ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(JSON.stringify({ error: 'not found' }));
}

/** The public listeners' handler: admin paths answer 404 as if they did not exist. */
export function withoutAdminPaths(handler: Handler): Handler {
  return (req, res) => (isAdminPath(req.url) ? notFound(res) : handler(req, res));
}

/** The admin listener's handler: admin paths (and /healthz) only. */
export function adminPathsOnly(handler: Handler): Handler {
  return (req, res) => (isAdminPath(req.url) || SHARED_PATHS.has(normalisedPath(req.url)) ? handler(req, res) : notFound(res));
}
