import type Router from '@koa/router';
import { openApiDocument } from './openapi-document';
import { allow } from './admin-auth';

/** `GET /admin/v1/openapi.json`: the OpenAPI 3.1 description of this API (session:read, which every role holds). */
export function registerOpenApiRoute(r: Router): Router {
  let doc: unknown;
  r.get('/openapi.json', allow('session:read'), (ctx) => {
    ctx.body = doc ??= openApiDocument();
  });
  return r;
}
