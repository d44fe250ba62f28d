/**
 * Who may call which route, with which verb: the one list of every route the
 * apps register (services/<app>/src/routes.ts) and how each is reached.
 *
 * Dapr's access control (dapr/config.yaml locally, one Configuration per app
 * in k8s/base/dapr/configurations.yaml) and the sidecars' metrics path
 * patterns are generated from it: `npm run gen:access`. test/config/ fails
 * when a router registers a route missing here (or the other way round), when
 * the checked-in YAML differs from what this list generates, and when Dapr's
 * own ACL code, given that YAML, allows or denies a call other than listed.
 */

export const APP_IDS = ['gateway', 'myrecipe', 'recipe', 'mypage'] as const;
export type AppId = (typeof APP_IDS)[number];
export type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * How a route is reached:
 * - `{ invokedBy }`: by those apps, through Dapr service invocation (their
 *   sidecar to this app's sidecar, allowed by this app's access control);
 * - `public`: on the gateway's own port (the public API, not through Dapr);
 * - `event`: by the app's own sidecar, delivering a subscription's messages
 *   (components/subscriptions.yaml); no other app may invoke it;
 * - `self`: only through the app's own sidecar (the invariant checker, `npm
 *   run check`, reads there); no other app may invoke it.
 */
export type Reach = { invokedBy: readonly AppId[] } | 'public' | 'event' | 'self';

export interface Route {
  app: AppId;
  verb: Verb;
  /** Exactly as registered on the app's Koa router (":name" for a path parameter). */
  path: string;
  reach: Reach;
}

export const ROUTES: readonly Route[] = [
  // The public API (services/gateway/src/routes.ts); each calls one app below.
  { app: 'gateway', verb: 'POST', path: '/myrecipes', reach: 'public' },
  { app: 'gateway', verb: 'GET', path: '/myrecipes/:recipeId', reach: 'public' },
  { app: 'gateway', verb: 'DELETE', path: '/myrecipes/:recipeId', reach: 'public' },
  { app: 'gateway', verb: 'GET', path: '/recipes', reach: 'public' },
  { app: 'gateway', verb: 'GET', path: '/recipes/:recipeId', reach: 'public' },
  { app: 'gateway', verb: 'POST', path: '/recipes/:recipeId/recommendations', reach: 'public' },
  { app: 'gateway', verb: 'GET', path: '/mypages/me', reach: 'public' },
  { app: 'gateway', verb: 'GET', path: '/myrecipes', reach: 'public' },
  { app: 'gateway', verb: 'GET', path: '/members/me', reach: 'public' },
  { app: 'gateway', verb: 'PUT', path: '/members/me', reach: 'public' },
  // The gateway's own, calling no app: the API's description (services/gateway/src/docs.ts).
  { app: 'gateway', verb: 'GET', path: '/openapi.json', reach: 'public' },
  { app: 'gateway', verb: 'GET', path: '/docs', reach: 'public' },
  { app: 'gateway', verb: 'GET', path: '/docs/:asset', reach: 'public' },

  { app: 'myrecipe', verb: 'POST', path: '/myrecipes', reach: { invokedBy: ['gateway'] } },
  { app: 'myrecipe', verb: 'GET', path: '/myrecipes/:recipeId', reach: { invokedBy: ['gateway'] } },
  { app: 'myrecipe', verb: 'DELETE', path: '/myrecipes/:recipeId', reach: { invokedBy: ['gateway'] } },
  { app: 'myrecipe', verb: 'GET', path: '/members/:memberId/balance', reach: 'self' },
  { app: 'myrecipe', verb: 'GET', path: '/members/:memberId/recipes', reach: { invokedBy: ['gateway'] } },
  { app: 'myrecipe', verb: 'GET', path: '/recipes/:recipeId/content', reach: { invokedBy: ['gateway'] } },
  { app: 'myrecipe', verb: 'POST', path: '/events/recommended', reach: 'event' },
  { app: 'myrecipe', verb: 'POST', path: '/events/outbox', reach: 'event' },
  { app: 'myrecipe', verb: 'POST', path: '/events/outbox-late', reach: 'event' },

  { app: 'recipe', verb: 'GET', path: '/recipes/:recipeId', reach: { invokedBy: ['gateway'] } },
  { app: 'recipe', verb: 'POST', path: '/recipes/:recipeId/recommendations', reach: { invokedBy: ['gateway'] } },
  // The synchronous point deduction and its cancellation: only myrecipe takes points back.
  { app: 'recipe', verb: 'POST', path: '/withdrawals', reach: { invokedBy: ['myrecipe'] } },
  { app: 'recipe', verb: 'POST', path: '/withdrawal-cancellations', reach: { invokedBy: ['myrecipe'] } },
  { app: 'recipe', verb: 'POST', path: '/events/registered', reach: 'event' },
  { app: 'recipe', verb: 'POST', path: '/events/deleted', reach: 'event' },
  { app: 'recipe', verb: 'POST', path: '/events/outbox', reach: 'event' },
  { app: 'recipe', verb: 'POST', path: '/events/outbox-late', reach: 'event' },

  { app: 'mypage', verb: 'GET', path: '/mypages/:memberId', reach: { invokedBy: ['gateway'] } },
  { app: 'mypage', verb: 'GET', path: '/catalogue', reach: { invokedBy: ['gateway'] } },
  { app: 'mypage', verb: 'GET', path: '/audit/recipes', reach: 'self' },
  // Display names: the caller's own profile, and authors' names for the pages that show them.
  { app: 'mypage', verb: 'GET', path: '/profiles/:memberId', reach: { invokedBy: ['gateway'] } },
  { app: 'mypage', verb: 'PUT', path: '/profiles/:memberId', reach: { invokedBy: ['gateway'] } },
  { app: 'mypage', verb: 'POST', path: '/display-names', reach: { invokedBy: ['gateway'] } },
  { app: 'mypage', verb: 'POST', path: '/events/registered', reach: 'event' },
  { app: 'mypage', verb: 'POST', path: '/events/recommended', reach: 'event' },
  { app: 'mypage', verb: 'POST', path: '/events/deleted', reach: 'event' },
];

export const callersOf = (route: Route): readonly AppId[] => (typeof route.reach === 'object' ? route.reach.invokedBy : []);

/** Whether `path` (as sent, without its query string) is an instance of the router path `pattern`. */
export function pathMatches(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = path.split('?')[0]!.replace(/^\/?/, '/').split('/');
  return want.length === got.length && want.every((segment, i) => (segment.startsWith(':') ? got[i] !== '' : segment === got[i]));
}

/** Whether the table lets `caller` invoke `verb` `path` on `callee` through Dapr. */
export function mayInvoke(caller: string, callee: AppId, verb: string, path: string): boolean {
  return ROUTES.some(
    (r) => r.app === callee && r.verb === verb && pathMatches(r.path, path) && (callersOf(r) as readonly string[]).includes(caller),
  );
}

// ---------------------------------------------------------------- what Dapr is given

export interface AclOperation {
  name: string;
  httpVerb: Verb[];
  action: 'allow';
  /** The routes it is for (a comment in the YAML). */
  routes: string[];
}

/**
 * The access-control operations that let `caller` reach exactly its routes on
 * the callees (one callee on Kubernetes, all of them in the one local
 * Configuration), as daprd 1.18.3 matches them (pkg/config/acl_trie.go):
 * - an operation matches its path and every path below it, and the first
 *   operation found on the way down decides, so a route that is a prefix of
 *   another (/myrecipes, /myrecipes/:id) becomes "/myrecipes/*" with both
 *   routes' verbs ("*" as the last segment covers the path itself and one
 *   segment more);
 * - "*" matches only as the last segment; in the middle, "**" stands for one;
 * - siblings are tried in the order written: names before "*" before "**".
 */
export function aclOperations(caller: AppId, callees: readonly AppId[]): AclOperation[] {
  const byName = new Map<string, AclOperation>();
  const mine = ROUTES.filter((r) => callees.includes(r.app) && callersOf(r).includes(caller));
  const names = mine.map((r) => ({ route: r, name: daprName(r.path) }));
  const all = names.map((n) => n.name);
  for (const { route, name } of names) {
    // Shadowing: a name that is a prefix of another operation's covers it.
    const shadows = !name.endsWith('/*') && all.some((other) => other !== name && other.startsWith(`${name}/`));
    const final = shadows ? `${name}/*` : name;
    const op = byName.get(final) ?? { name: final, httpVerb: [], action: 'allow' as const, routes: [] };
    if (!op.httpVerb.includes(route.verb)) op.httpVerb.push(route.verb);
    const label = `${route.verb} ${route.path}`;
    if (!op.routes.includes(label)) op.routes.push(label);
    byName.set(final, op);
  }
  return [...byName.values()].sort((a, b) => compareNames(a.name, b.name));
}

/** The callers whose policies `callee`'s Configuration holds, in APP_IDS order. */
export function callersOfApp(callees: readonly AppId[]): AppId[] {
  return APP_IDS.filter((caller) => ROUTES.some((r) => callees.includes(r.app) && callersOf(r).includes(caller)));
}

function daprName(path: string): string {
  const segments = path.split('/').slice(1);
  return '/' + segments.map((s, i) => (s.startsWith(':') ? (i === segments.length - 1 ? '*' : '**') : s.toLowerCase())).join('/');
}

function compareNames(a: string, b: string): number {
  const rank = (s: string | undefined) => (s === undefined ? -1 : s === '**' ? 2 : s === '*' ? 1 : 0);
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const [s, t] = [x[i], y[i]];
    if (s === t) continue;
    return rank(s) - rank(t) || (s! < t! ? -1 : 1);
  }
  return 0;
}

/**
 * The sidecars' metrics path patterns: every route that goes through a
 * sidecar, ids folded ("{recipeId}"), event handlers in one series.
 */
export function metricsPathMatching(): string[] {
  const patterns = ROUTES.filter((r) => r.reach !== 'public').map((r) =>
    r.reach === 'event' ? r.path.replace(/[^/]+$/, '{event}') : r.path.replace(/:(\w+)/g, '{$1}'),
  );
  return [...new Set(patterns)];
}
