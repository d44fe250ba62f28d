// Load with autocannon: a closed loop to find saturation, and an open loop
// at a fixed rate (enough connections that sending never waits for an
// answer, so a slow answer cannot hold the next request back: no coordinated
// omission; the achieved rate is checked against the target).
import autocannon from 'autocannon';

export interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  /** Answers per second that were 2xx. */
  throughput: number;
  /** The rate asked for (open loop), or undefined (closed loop). */
  target?: number;
  p50: number;
  p99: number;
  max: number;
  ok: number;
  failed: number;
  durationS: number;
}

async function run(
  url: string,
  next: () => Call,
  options: { connections: number; durationS: number; overallRate?: number },
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.durationS,
    overallRate: options.overallRate,
    timeout: 30,
    requests: [
      {
        setupRequest: (req) => {
          const call = next();
          return {
            ...req,
            method: call.method,
            path: call.path,
            headers: { ...call.headers, ...(call.body ? { 'content-type': 'application/json' } : {}) },
            body: call.body,
          };
        },
      },
    ],
  });
  const ok = result['2xx'];
  const failed = result.non2xx + result.errors + result.timeouts;
  return {
    throughput: ok / options.durationS,
    target: options.overallRate,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    ok,
    failed,
    durationS: options.durationS,
  };
}

/** As fast as `connections` clients can go, each waiting for its answer. */
export const closedLoop = (url: string, next: () => Call, connections: number, durationS: number) =>
  run(url, next, { connections, durationS });

/** `rate` requests per second, whatever the answers do. */
export const openLoop = (url: string, next: () => Call, rate: number, durationS: number) =>
  run(url, next, { connections: Math.max(32, Math.ceil(rate / 2)), durationS, overallRate: rate });

/**
 * Saturation: the closed loop's best throughput over a few client counts
 * (more clients only queue once the system is saturated).
 */
export async function saturation(url: string, next: () => Call, durationS: number): Promise<LoadResult> {
  let best: LoadResult | undefined;
  for (const connections of [8, 32]) {
    const result = await closedLoop(url, next, connections, durationS);
    if (!best || result.throughput > best.throughput) best = result;
  }
  return best!;
}
