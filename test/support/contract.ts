import Router from '@koa/router';
import type { TestFn } from 'ava';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { openApiDocument, UNROUTED_STATUSES } from '../../services/gateway/src/openapi.js';

// The contract test: every answer the gateway gives the end-to-end suite
// (every fetch, test/support/client.ts's among them, and the raw HTTP of the
// bad-input storms) is checked against the gateway's OpenAPI document, the
// one it serves at /openapi.json: its status must be one the operation
// documents, its body (and Content-Type) what that status documents, and its
// required headers (Retry-After) there. useSystem watches each system's
// gateways; a file whose gateways answered anything else fails in its after
// hook, naming each answer and the test line that received it.

type Doc = ReturnType<typeof openApiDocument>;
type Json = Record<string, any>;

/** One answer of the gateway, as received. */
export interface Answer {
  method: string;
  /** The request target as sent: the path and any query. */
  target: string;
  status: number;
  header: (name: string) => string | undefined | null;
  text: string;
}

export interface Contract {
  /** What is wrong with the answer (undefined: it is what the document says). */
  check(answer: Answer): string | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

/** Escapes a JSON pointer segment. */
const pointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

export function createContract(doc: Doc = openApiDocument()): Contract {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('uuid', UUID);
  ajv.addFormat('date-time', (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)));
  ajv.addSchema(doc, 'openapi.json');
  const validators = new Map<string, ValidateFunction>();
  const validator = (ref: string) => {
    let v = validators.get(ref);
    if (!v) validators.set(ref, (v = ajv.compile({ $ref: `openapi.json#${ref}` })));
    return v;
  };

  // The router the gateway uses, given the document's paths: it matches a path exactly as the gateway does.
  const router = new Router();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of Object.keys(item)) {
      router.register(path.replace(/\{(\w+)\}/g, ':$1'), [method.toUpperCase()], [() => undefined], { name: `${method} ${path}` });
    }
  }
  const errorRef = '/components/schemas/Error';

  function checkBody(answer: Answer, ref: string, content: Json | undefined): string | undefined {
    if (!content) return answer.text === '' ? undefined : `a body where none is documented: ${clip(answer.text)}`;
    const type = (answer.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!(type in content)) return `Content-Type "${type}" is not documented (${Object.keys(content).join(', ')})`;
    if (answer.method.toUpperCase() === 'HEAD' || type !== 'application/json') return undefined;
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return `the body is not JSON: ${clip(answer.text)}`;
    }
    const validate = validator(`${ref}/content/${pointer(type)}/schema`);
    if (validate(body)) return undefined;
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''}${paramsOf(e.params)}`).slice(0, 5);
    return `the body does not match the document: ${errors.join('; ')}; body: ${clip(answer.text)}`;
  }

  function checkHeaders(answer: Answer, headers: Json | undefined): string | undefined {
    for (const [name, spec] of Object.entries(headers ?? {})) {
      const value = answer.header(name);
      if (value === null || value === undefined) {
        if (spec.required) return `the required header ${name} is missing`;
        continue;
      }
      if (spec.schema?.type === 'integer' && !(/^\d+$/.test(value) && Number(value) >= (spec.schema.minimum ?? 0)))
        return `header ${name}: "${value}" is not an integer of at least ${spec.schema.minimum ?? 0}`;
    }
    return undefined;
  }

  return {
    check(answer) {
      const method = answer.method.toUpperCase();
      const path = pathOf(answer.target);
      const match = router.match(path, method === 'HEAD' ? 'GET' : method);
      const layer = match.pathAndMethod.find((l) => l.methods.length > 0);
      if (!layer) {
        // No operation: the router says 404 (or 405 for a path it knows), after the body reader's 400, 413 and 415.
        if (method === 'OPTIONS' && match.path.length > 0 && answer.status === 200) return undefined;
        if (!(UNROUTED_STATUSES as readonly number[]).includes(answer.status))
          return `${answer.status} for a request no operation documents (expected one of ${UNROUTED_STATUSES.join(', ')})`;
        return errorBody(answer);
      }
      const [opMethod, opPath] = layer.name!.split(' ') as [string, string];
      const responses = (doc.paths?.[opPath] as Json)[opMethod].responses as Json;
      const response = responses[String(answer.status)] as Json | undefined;
      const where = `${opMethod.toUpperCase()} ${opPath}`;
      if (!response) return `${answer.status} is not documented for ${where} (documented: ${Object.keys(responses).join(', ')})`;
      const ref = `/paths/${pointer(opPath)}/${opMethod}/responses/${answer.status}`;
      const problem = checkHeaders(answer, response.headers as Json | undefined) ?? checkBody(answer, ref, response.content as Json);
      return problem && `${where} ${answer.status}: ${problem}`;
    },
  };

  /** An answer to no operation must still be an error body. */
  function errorBody(answer: Answer): string | undefined {
    if (answer.method.toUpperCase() === 'HEAD') return undefined;
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      return `${answer.status} for a request no operation documents, without a JSON error body: ${clip(answer.text)}`;
    }
    const validate = validator(errorRef);
    return validate(body) ? undefined : `${answer.status} for a request no operation documents: not the error body: ${clip(answer.text)}`;
  }
}

/** The path of a request target, as Koa sees it: without the query, from an absolute-form target too. */
function pathOf(target: string): string {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  const rest = absolute ? target.slice(absolute[0].length) || '/' : target;
  return rest.split('?')[0]!.split('#')[0]!;
}

const paramsOf = (params: Record<string, unknown>) => {
  const useful = Object.entries(params).filter(([k]) => ['additionalProperty', 'missingProperty', 'allowedValues', 'format'].includes(k));
  return useful.length ? ` (${useful.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')})` : '';
};

const clip = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max)}…` : text);

// ------------------------------------------------------------ what a test file's gateways answered

interface Violation {
  answer: string;
  problem: string;
  /** The test line that received it. */
  at: string;
}

const watched: (() => readonly string[])[] = [];
const violations: Violation[] = [];
let checked = 0;
let contract: Contract | undefined;

/** Whether `origin` (scheme, host and port) is one of the watched gateways'. */
function isGateway(origin: string): boolean {
  return watched.some((urls) => {
    try {
      return urls().some((url) => new URL(url).origin === origin);
    } catch {
      return false; // that system is not running
    }
  });
}

/**
 * Checks an answer if it came from a watched gateway. `stack`: where the
 * request was made (taken before its first await), to name the test line.
 */
export function recordAnswer(baseUrl: string, answer: Answer, stack = new Error().stack): void {
  if (watched.length === 0) return;
  let origin: string;
  try {
    origin = new URL(baseUrl).origin;
  } catch {
    return;
  }
  if (!isGateway(origin)) return;
  checked++;
  contract ??= createContract();
  const problem = contract.check(answer);
  if (problem) violations.push({ answer: `${answer.method} ${clip(answer.target, 120)} → ${answer.status}`, problem, at: testLine(stack) });
}

/** The first line of the stack in a test file (not in test/support): who received the answer. */
function testLine(stack = ''): string {
  const lines = stack.split('\n').slice(1);
  const line = lines.find((l) => /\/test\//.test(l) && !/\/test\/support\//.test(l));
  return line?.trim().replace(/^at (async )?/, '') ?? 'a test of this file';
}

let fetchWatched = false;

/**
 * Every fetch of the test process (test/support/client.ts, and the raw
 * fetches of a test file) passes its answer to recordAnswer: the body is read
 * from a clone, so the caller still reads it as usual.
 */
function watchFetch() {
  if (fetchWatched) return;
  fetchWatched = true;
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const stack = new Error().stack;
    const res = await original(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const text = await res
      .clone()
      .text()
      .catch(() => undefined);
    // An answer cut off (a timeout, a dropped connection) is no answer to judge.
    if (text !== undefined) {
      const answer = {
        method,
        target: url.pathname + url.search,
        status: res.status,
        header: (name: string) => res.headers.get(name),
        text,
      };
      recordAnswer(url.origin, answer, stack);
    }
    return res;
  };
}

/**
 * Checks every answer of these gateways while the file's tests run, and fails
 * the file's after hook if any did not match the document.
 */
export function checkContract(test: TestFn, gatewayUrls: () => readonly string[]): void {
  watched.push(gatewayUrls);
  watchFetch();
  test.after.always('every answer of the gateway matched its OpenAPI document (/openapi.json)', (t) => {
    t.log(`${checked} answers of the gateway checked against its OpenAPI document`);
    if (violations.length === 0) {
      t.pass();
      return;
    }
    const shown = violations.slice(0, 20).map((v, i) => `${i + 1}. ${v.answer}\n   ${v.problem}\n   received at ${v.at}`);
    t.fail(
      `${violations.length} of ${checked} answers of the gateway do not match its OpenAPI document ` +
        `(services/gateway/src/openapi*.ts: document what it answers, or fix the answer):\n${shown.join('\n')}` +
        (violations.length > 20 ? `\n… and ${violations.length - 20} more` : ''),
    );
  });
}
