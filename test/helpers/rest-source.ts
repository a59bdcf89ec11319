// A stand-in for the third-party REST source of vm-collect: a local HTTP server answering
// GET /apex/data?business_date=YYYY-MM-DD with that date's records. Each date can be made to fail,
// to answer slowly, or to answer with malformed JSON.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type DateBehaviour = 'ok' | 'fail' | 'malformed' | 'not-an-object' | 'slow' | { failTimes: number };

export interface RestSource {
  url: string;
  /** Per-date behaviour; dates not listed answer normally. */
  behaviour: Map<string, DateBehaviour>;
  /** Requests received per date. */
  requests: Map<string, number>;
  /** The Authorization header of the last request. */
  lastAuthorization: string | undefined;
  close(): Promise<void>;
}

/** The records of a date: one per desk, with two numeric fields and one string field. */
export function recordsFor(date: string, desks = ['fx', 'rates', 'credit']): Array<Record<string, unknown>> {
  const day = Number(date.slice(8, 10));
  return desks.map((desk, i) => ({ desk, pnl: day * 100 + i, volume: day + i / 2, comment: `desk ${desk}` }));
}

export async function startRestSource(records: (date: string) => unknown = recordsFor): Promise<RestSource> {
  const source: Omit<RestSource, 'url' | 'close'> = { behaviour: new Map(), requests: new Map(), lastAuthorization: undefined };
  const slow = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const date = url.searchParams.get('business_date') ?? '';
    source.requests.set(date, (source.requests.get(date) ?? 0) + 1);
    source.lastAuthorization = req.headers.authorization;
    const behaviour = source.behaviour.get(date) ?? 'ok';
    if (url.pathname !== '/apex/data' || !date) return void res.writeHead(404).end('not found');
    if (behaviour === 'fail') return void res.writeHead(500).end('upstream database unavailable');
    if (typeof behaviour === 'object' && source.requests.get(date)! <= behaviour.failTimes) return void res.writeHead(503).end('busy');
    if (behaviour === 'slow') {
      const timer = setTimeout(() => res.end('[]'), 30_000);
      slow.add(() => clearTimeout(timer));
      return;
    }
    res.setHeader('content-type', 'application/json');
    if (behaviour === 'malformed') return void res.end('[{"desk": "fx", "pnl": 1},');
    if (behaviour === 'not-an-object') return void res.end(JSON.stringify([{ desk: 'fx', pnl: 1 }, 42]));
    res.end(JSON.stringify(records(date)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(source, {
    url: `http://127.0.0.1:${port}/apex/data`,
    async close() {
      for (const cancel of slow) cancel();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
