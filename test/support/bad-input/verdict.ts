import type { Probe, RawReply } from './raw-http.js';

// What every reply must satisfy: never a 5xx, never a stack trace or an
// internal name, always a JSON error `{ error: { code, message } }` for a 4xx.

const LEAKS: [RegExp, string][] = [
  [/\bat [^\n"]*\.(?:ts|js|mjs|cjs):\d+/, 'a stack frame'],
  [/(?:^|[\s"'{:])(?:[A-Z]\w*)?(?:Error|Exception): /, 'an "…Error:" prefix'],
  [/\bERR_[A-Z0-9_]+/, 'an ERR_ code'],
  [/daprd|\/v1\.0\/|dapr-api-token|x-member-id/i, 'a Dapr internal'],
  [/node_modules|file:\/\/|\/work\/|\/src\/|\/dist\//, 'a file path'],
  [/Unexpected token|JSON at position|Maximum call stack|Cannot read prop|is not a function|ECONNREFUSED|ETIMEDOUT/, 'a runtime message'],
  [/postgres|redis|knex|SQLSTATE|relation "|violates/i, 'a store internal'],
];

export function problemsWith(probe: Probe, reply: RawReply): string[] {
  if (reply.status === 0) return [`no HTTP answer (${reply.error})`];
  const problems: string[] = [];
  if (reply.status >= 500) problems.push(`answered ${reply.status}`);
  else if (!probe.expect.includes(reply.status)) problems.push(`answered ${reply.status}, expected ${probe.expect.join(' or ')}`);
  if (reply.status >= 400 && probe.method !== 'HEAD') {
    const shape = errorShapeProblem(reply);
    if (shape) problems.push(shape);
  }
  // Error messages may name the path asked for; what the client sent is not a leak.
  const path = probe.target.split('?')[0]!;
  const own = reply.text.split(path).join('').split(JSON.stringify(path).slice(1, -1)).join('');
  for (const [pattern, what] of LEAKS) if (pattern.test(own)) problems.push(`the body shows ${what}`);
  try {
    const extra = probe.check?.(reply);
    if (extra) problems.push(extra);
  } catch (err) {
    problems.push(`an unexpected reply: ${(err as Error).message}`);
  }
  return problems;
}

function errorShapeProblem(reply: RawReply): string | undefined {
  const type = reply.headers['content-type'];
  if (!/^application\/json\b/i.test(type ?? '')) return `a ${reply.status} without a JSON error body (content-type ${type ?? 'none'})`;
  let body: { error?: { code?: unknown; message?: unknown } } | undefined;
  try {
    body = JSON.parse(reply.text);
  } catch {
    return `a ${reply.status} whose body is not JSON`;
  }
  const error = body?.error;
  if (typeof error?.code !== 'string' || !error.code || typeof error.message !== 'string' || !error.message) {
    return `a ${reply.status} without error.code and error.message strings`;
  }
  return undefined;
}

export const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text);
const show = (text: string, max: number) => clip(JSON.stringify(text).slice(1, -1), max);

export function describe(probe: Probe, reply: RawReply): string {
  const headers = probe.headers.map(([k, v]) => `${k}: ${show(v, /authorization/i.test(k) ? 48 : 100)}`).join(' | ');
  const body = probe.body ? `\n      body (${probe.body.length} bytes): ${show(probe.body.toString('utf8'), 240)}` : '';
  const answer = reply.status
    ? `${reply.status} ${reply.headers['content-type'] ?? '(no content-type)'} ${show(reply.text, 240)}`
    : `no answer: ${reply.error}`;
  return `[${probe.label}] ${probe.method} ${show(probe.target, 160)}${probe.noHost ? ' (no Host)' : ''}\n      headers: ${headers || '(none)'}${body}\n      → ${answer}`;
}
