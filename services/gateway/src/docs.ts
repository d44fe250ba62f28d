import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Router from '@koa/router';
import { AppError } from '@recipe/shared';
import type { Context } from 'koa';
import { openApiDocument } from './openapi.js';

// The API's description, public (registered before authentication): the
// OpenAPI document, and a reference page rendering it with Swagger UI, whose
// files come from the swagger-ui-dist package (no CDN).

const swaggerUi = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Recommend Recipe API</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });\n`;

interface Asset {
  type: string;
  body: () => string | Buffer;
}

const fromPackage = (file: string) => {
  let content: Buffer | undefined;
  return () => (content ??= readFileSync(join(swaggerUi, file)));
};

/** The page's files, by name: nothing else is served from the package. */
const ASSETS: Record<string, Asset> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', body: fromPackage('swagger-ui.css') },
  'swagger-ui-bundle.js': { type: 'application/javascript; charset=utf-8', body: fromPackage('swagger-ui-bundle.js') },
  'init.js': { type: 'application/javascript; charset=utf-8', body: () => INIT },
};

export const DOC_ASSETS = Object.keys(ASSETS);

export function apiDocs(router: Router): void {
  router.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument();
  });
  router.get('/docs', (ctx) => {
    send(ctx, 'text/html; charset=utf-8', PAGE);
  });
  router.get('/docs/:asset', (ctx) => {
    const asset = Object.hasOwn(ASSETS, ctx.params.asset ?? '') ? ASSETS[ctx.params.asset!] : undefined;
    if (!asset) throw new AppError(404, 'ROUTE.NOT_FOUND', `no file ${ctx.path}`);
    send(ctx, asset.type, asset.body());
  });
}

function send(ctx: Context, type: string, body: string | Buffer) {
  ctx.type = type;
  ctx.set('Cache-Control', 'public, max-age=3600');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = body;
}
