import test from 'ava';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Context, Next } from 'koa';
import { newRecipe, recipeSummary, recipeView } from '../../myrecipe/src/domain.js';
import { placeholder, publicView, register } from '../../recipe/src/domain.js';
import { DOC_ASSETS } from '../src/docs.js';
import { myRecipeSchema, myRecipesPageSchema, recipeSchema, recommendationSchema } from '../src/openapi-schemas.js';
import { openApiDocument } from '../src/openapi.js';
import { routes } from '../src/routes.js';
import { gateway, log, sign } from './support.js';

type Json = Record<string, any>;
const doc = openApiDocument() as Json;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const operations = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
  Object.entries(item as Json)
    .filter(([method]) => METHODS.includes(method))
    .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op: op as Json })),
);

/** Served by every app before its router (packages/shared/src/http.ts). */
const APP_ROUTES = ['GET /healthz', 'GET /readyz'];

const pass = async (_ctx: Context, next: Next) => {
  await next();
};

test('when the router registers a route, then the document has its operation, and it documents nothing else', (t) => {
  const router = routes({
    sidecar: {} as never,
    apps: { myrecipe: 'myrecipe', recipe: 'recipe', mypage: 'mypage' },
    authenticate: pass,
    registrationLimit: pass,
    registrationBreaker: {} as never,
    retryAfterSeconds: 1,
    web: { signIn: { kind: 'development' }, devSignIn: async () => ({ token: '', expiresAt: new Date() }), log },
  });
  const registered = router.stack.flatMap((layer) =>
    layer.methods.filter((verb) => verb !== 'HEAD').map((verb) => `${verb} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`),
  );
  t.true(registered.length >= 10, registered.join(', '));
  const documented = new Set(operations.map((o) => o.key));
  for (const route of registered) t.true(documented.has(route), `${route} (routes.ts) has an operation in services/gateway/src/openapi.ts`);
  const real = new Set([...registered, ...APP_ROUTES]);
  for (const key of documented) t.true(real.has(key), `the document's ${key} is a route the gateway serves`);
});

test('when an operation can fail, then each status has the one error body, and 429, 503 and 504 say Retry-After', (t) => {
  t.is(doc.openapi, '3.1.0');
  t.deepEqual(doc.components.securitySchemes.bearer, { ...doc.components.securitySchemes.bearer, type: 'http', scheme: 'bearer' });
  for (const { key, op } of operations) {
    const responses = op.responses as Json;
    const isPublic = Array.isArray(op.security) && op.security.length === 0;
    if (!isPublic) {
      t.deepEqual(op.security, [{ bearer: [] }], `${key}: needs a token`);
      for (const status of ['400', '401', '429', '503']) t.truthy(responses[status], `${key} documents ${status}`);
    }
    for (const status of ['400', '431']) t.truthy(responses[status], `${key} documents ${status}`);
    if (!['get', 'head'].includes(key.split(' ')[0]!.toLowerCase())) {
      for (const status of ['413', '415']) t.truthy(responses[status], `${key} documents ${status}`);
    }
    t.true(
      Object.keys(responses).some((s) => s.startsWith('2')),
      `${key} documents its success`,
    );
    for (const [status, response] of Object.entries(responses)) {
      t.truthy(response.description, `${key} ${status} is described`);
      if (Number(status) >= 400 && !(key === 'GET /readyz' && status === '503')) {
        t.deepEqual(response.content, { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }, `${key} ${status}`);
      }
      if (['429', '503', '504'].includes(status) && key !== 'GET /readyz')
        t.true(response.headers?.['Retry-After']?.required, `${key} ${status} says Retry-After`);
    }
  }
  const post = doc.paths['/myrecipes'].post as Json;
  t.true(
    (post.parameters as Json[]).some((p) => p.in === 'header' && p.name === 'Idempotency-Key' && p.required === false),
    'POST /myrecipes takes an Idempotency-Key',
  );
  t.deepEqual(post.requestBody.content['application/json'].schema, { $ref: '#/components/schemas/NewRecipe' });
});

test('when the document is compiled as JSON Schema 2020-12 (OpenAPI 3.1), then every schema in it is valid', (t) => {
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema(doc, 'openapi.json');
  for (const name of Object.keys(doc.components.schemas as Json)) {
    t.notThrows(() => ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` }), name);
  }
  t.true(ajv.validateSchema(doc.components.schemas.NewRecipe as Json));
  const error = ajv.compile({ $ref: 'openapi.json#/components/schemas/Error' });
  t.true(error({ error: { code: 'RECIPE.NOT_FOUND', message: 'recipe not found' } }));
  t.true(error({ error: { code: 'REQUEST.INVALID', message: 'x', details: [{ field: 'title', message: 'Required' }] } }));
  t.false(error({ error: { code: 'RECIPE.NOT_FOUND' } }), 'a message is required');
  t.false(error({ message: 'bare' }));
});

test('when anyone asks for /openapi.json or /docs, then they are served without a token, and the page loads only local files', async (t) => {
  const { base } = await gateway(t);
  const spec = await fetch(`${base}/openapi.json`);
  t.is(spec.status, 200);
  t.regex(spec.headers.get('content-type') ?? '', /^application\/json/);
  t.deepEqual(await spec.json(), JSON.parse(JSON.stringify(doc)));

  const page = await fetch(`${base}/docs`);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /^text\/html/);
  const html = await page.text();
  t.notRegex(html, /https?:\/\//, 'no CDN: every file comes from the gateway');
  const referenced = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  t.true(referenced.length >= 3, referenced.join(', '));
  for (const file of referenced) {
    const res = await fetch(base + file);
    t.is(res.status, 200, file);
    t.true(DOC_ASSETS.includes(file.replace('/docs/', '')), `${file} is one of the page's files`);
    t.true((await res.arrayBuffer()).byteLength > 0, file);
  }
  t.regex(await (await fetch(`${base}/docs/init.js`)).text(), /url: '\/openapi\.json'/);

  for (const path of ['/docs/package.json', '/docs/..%2fpackage.json', '/docs/constructor']) {
    const res = await fetch(base + path);
    t.is(res.status, 404, path);
    t.is(((await res.json()) as Json).error.code, 'ROUTE.NOT_FOUND', path);
  }
  const member = await fetch(`${base}/mypages/me`);
  t.is(member.status, 401, 'the API itself still needs a token');
  const withToken = await fetch(`${base}/openapi.json`, { headers: { authorization: `Bearer ${await sign('alice')}` } });
  t.is(withToken.status, 200, 'a token does no harm');
});

test('when the services build their answers, then they are what the document says the gateway passes on', (t) => {
  const input = { title: 'Kimchi stew', ingredients: ['kimchi', 'tofu'], steps: ['Simmer.'] };
  const recipe = newRecipe('alice', input, 'key-1', new Date());
  const ledger = { memberId: 'alice', points: { [recipe.recipeId]: 20 } };
  t.notThrows(() => myRecipeSchema.parse(recipeView(recipe, undefined)), 'POST /myrecipes 201');
  t.notThrows(() => myRecipeSchema.parse(recipeView({ ...recipe, abortedDeletions: ['x'] }, ledger)), 'GET /myrecipes/{recipeId} 200');
  t.notThrows(
    () => myRecipesPageSchema.parse({ items: [recipeSummary(recipe, ledger)], limit: 20, hasMore: false, nextCursor: null }),
    'GET /myrecipes 200',
  );

  const head = register(placeholder(recipe.recipeId, 'alice'), { title: input.title, registeredAt: recipe.registeredAt })!;
  const { authorId: _hidden, ...view } = publicView(head);
  const content = { ingredients: input.ingredients, steps: input.steps };
  t.notThrows(() => recipeSchema.parse({ ...view, author: { displayName: 'Alice' }, ...content }), 'GET /recipes/{recipeId} 200');
  t.notThrows(() => recommendationSchema.parse({ ...view, alreadyRecommended: false }), 'POST /recipes/{recipeId}/recommendations 201');
  t.throws(() => recipeSchema.parse(publicView(head)), undefined, 'a login subject (authorId) is never in the document');
});
