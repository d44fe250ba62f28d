import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A load balancer in front of the gateway replicas, as a Kubernetes Service
 * with readiness gates and an ingress would be: it sends each request to a
 * backend whose /readyz answered 200 at its last check (every 200 ms), one
 * new connection per request, and sends a request again to another backend
 * when it could not connect (nothing was sent), or, for a GET, when the
 * backend died before answering (as nginx or Envoy retry idempotent requests).
 */
export interface Balancer {
  url: string;
  setBackends(urls: string[]): void;
  close(): Promise<void>;
}

export async function startBalancer(initial: string[]): Promise<Balancer> {
  let backends = [...initial];
  const ready = new Set<string>(initial);
  let next = 0;

  const check = async () => {
    await Promise.all(
      backends.map(async (url) => {
        const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) ready.add(url);
        else ready.delete(url);
      }),
    );
  };
  const timer = setInterval(() => void check(), 200);

  const forward = (target: URL, req: http.IncomingMessage, body: Buffer) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, connection: 'close' },
          agent: false,
        },
        resolve,
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const tried = new Set<string>();
      for (let attempt = 0; attempt < 10; attempt++) {
        const candidates = backends.filter((b) => ready.has(b) && !tried.has(b));
        const pool = candidates.length ? candidates : backends.filter((b) => !tried.has(b));
        const target = pool[next++ % Math.max(pool.length, 1)];
        if (!target) break;
        try {
          const reply = await forward(new URL(target), req, body);
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
          return;
        } catch (err) {
          // A refused connection is safe to send elsewhere (nothing reached the
          // backend); a lost one only for a read.
          if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' && req.method !== 'GET') {
            res.socket?.destroy();
            return;
          }
          tried.add(target);
          ready.delete(target);
        }
      }
      res
        .writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' })
        .end(JSON.stringify({ error: { code: 'BALANCER.NO_BACKEND', message: 'no gateway replica is ready' } }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await check();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setBackends(urls) {
      backends = [...urls];
      for (const url of urls) ready.add(url);
    },
    close: () =>
      new Promise((resolve) => {
        clearInterval(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
