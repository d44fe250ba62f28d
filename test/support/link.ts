import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A faulty network link for fault tests: an HTTP proxy placed between a
 * sidecar and its app (or an app and its sidecar). By default it passes
 * everything through; a rule can drop a request, lose the reply after the
 * target has acted on it, or hold the reply back.
 */
export type LinkAction =
  | { kind: 'pass' }
  | { kind: 'drop' }
  /** Answer this status without passing the request on. */
  | { kind: 'respond'; status: number }
  /** Pass the request on, then lose the reply (after running `after`, e.g. to kill the caller). */
  | { kind: 'lose-reply'; after?: () => Promise<void> }
  | { kind: 'delay-reply'; ms: number };

export type LinkRule = (req: { method: string; url: string }) => LinkAction | Promise<LinkAction>;

export interface Link {
  port: number;
  /** Replaces the rule; `undefined` passes everything. */
  setRule(rule: LinkRule | undefined): void;
  /** Requests seen, as "METHOD url", for assertions about what reached the target. */
  seen: string[];
  close(): Promise<void>;
}

export async function startLink(targetPort: number): Promise<Link> {
  let rule: LinkRule | undefined;
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      seen.push(`${req.method} ${req.url}`);
      const action = rule ? await rule({ method: req.method ?? 'GET', url: req.url ?? '/' }) : { kind: 'pass' as const };
      if (action.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (action.kind === 'respond') {
        req.resume();
        res.writeHead(action.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'TEST.INJECTED', message: 'failure injected by the test link' } }));
        return;
      }
      const upstream = http.request(
        { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
        (reply) => {
          void (async () => {
            const chunks: Buffer[] = [];
            for await (const chunk of reply) chunks.push(chunk as Buffer);
            if (action.kind === 'lose-reply') {
              await action.after?.();
              res.socket?.destroy();
              return;
            }
            if (action.kind === 'delay-reply') await new Promise((r) => setTimeout(r, action.ms));
            res.writeHead(reply.statusCode ?? 502, reply.headers);
            res.end(Buffer.concat(chunks));
          })();
        },
      );
      upstream.on('error', () => res.socket?.destroy());
      req.pipe(upstream);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    setRule: (next) => {
      rule = next;
    },
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
