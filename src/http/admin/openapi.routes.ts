import type Router from '@koa/router';
import { openApiDocument } from './openapi.document';

/** `GET /admin/v1/openapi.json`: the OpenAPI 3.1 description of this API (any valid API key). */
export function registerOpenApiRoute(r: Router): Router {
  let doc: unknown;
  r.get('/openapi.json', (ctx) => {
    ctx.body = doc ??= openApiDocument();
  });
  return r;
}
