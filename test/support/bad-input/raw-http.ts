import net from 'node:net';
import { recordAnswer } from '../contract.js';

// A raw HTTP/1.1 client: one connection per request, sends exactly these bytes
// (fetch would normalise `..` and `%2e%2e`, and refuses odd headers).

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  text: string;
  error?: string;
}

export interface Probe {
  /** What is odd about it. */
  label: string;
  /** Failures are grouped by this (default: the label). */
  group?: string;
  method: string;
  /** The request-target, sent as-is (latin1). */
  target: string;
  /** Header lines, sent as-is (latin1); Content-Length is added for a body unless framed here. */
  headers: [string, string][];
  body?: Buffer;
  expect: readonly number[];
  noHost?: boolean;
  /** More to check on the reply; returns what is wrong. */
  check?: (reply: RawReply) => string | undefined;
}

export interface Address {
  host: string;
  port: number;
}

export function send(server: Address, probe: Probe): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, server.host);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const reply = parseReply(Buffer.concat(chunks), probe.method === 'HEAD', false);
      // A whole answer is the contract's to check (one cut short, or without a Content-Type, is not the gateway's to judge).
      const whole = parseReply(Buffer.concat(chunks), probe.method === 'HEAD', true);
      if (whole?.status && whole.headers['content-type'] !== undefined) {
        const { method, target } = probe;
        recordAnswer(`http://${server.host}:${server.port}`, {
          method,
          target,
          status: whole.status,
          header: (n) => whole.headers[n.toLowerCase()],
          text: whole.text,
        });
      }
      resolve(reply ?? { status: 0, headers: {}, text: '', error: error ?? 'connection closed without an answer' });
    };
    socket.setTimeout(30_000, () => finish('no answer within 30 s'));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (parseReply(Buffer.concat(chunks), probe.method === 'HEAD', true)) finish();
    });
    socket.on('error', (err) => finish(err.message));
    socket.on('close', () => finish());
    socket.on('connect', () => {
      const lines = [
        `${probe.method} ${probe.target} HTTP/1.1`,
        ...(probe.noHost ? [] : [`Host: ${server.host}:${server.port}`]),
        'Connection: close',
      ];
      const framed = probe.headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name));
      if (probe.body && !framed) lines.push(`Content-Length: ${probe.body.length}`);
      for (const [name, value] of probe.headers) lines.push(`${name}: ${value}`);
      const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
      socket.write(probe.body ? Buffer.concat([head, probe.body]) : head, () => undefined);
    });
  });
}

/** The reply in `buf`; with `complete`, only once all of it has arrived. */
function parseReply(buf: Buffer, head: boolean, complete: boolean): RawReply | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rest = buf.subarray(end + 4);
  const partial = (body: Buffer) => (complete ? undefined : { status, headers, text: body.toString('utf8') });
  if (head || status === 204 || status === 304) return { status, headers, text: '' };
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const out: Buffer[] = [];
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) return partial(Buffer.concat(out));
      const size = parseInt(rest.subarray(0, nl).toString('latin1'), 16);
      if (size === 0) return { status, headers, text: Buffer.concat(out).toString('utf8') };
      if (rest.length < nl + 2 + size + 2) return partial(Buffer.concat(out));
      out.push(rest.subarray(nl + 2, nl + 2 + size));
      rest = rest.subarray(nl + 2 + size + 2);
    }
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    return rest.length >= length ? { status, headers, text: rest.subarray(0, length).toString('utf8') } : partial(rest);
  }
  return partial(rest); // delimited by the close
}
