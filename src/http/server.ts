// The agent's HTTP endpoint, bound to 127.0.0.1 by default: liveness and readiness for now
// (metrics and the JSON API come with the operations work).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpOptions {
  host: string;
  port: number;
  /** Resolves to null when ready, or to the reason it is not. */
  readiness: () => Promise<string | null>;
}

export interface HttpEndpoint {
  url: string;
  close: () => Promise<void>;
}

export async function startHttp(options: HttpOptions): Promise<HttpEndpoint> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body + '\n');
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    if (url.pathname === '/healthz') return send(200, 'ok');
    if (url.pathname === '/readyz') {
      options.readiness().then(
        (reason) => (reason === null ? send(200, 'ready') : send(503, `not ready: ${reason}`)),
        (error: unknown) => send(503, `not ready: ${(error as Error).message}`),
      );
      return;
    }
    send(404, 'not found: try /healthz or /readyz');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
