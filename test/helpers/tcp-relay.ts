// A TCP relay in front of PostgreSQL that can stop answering: while `silent`, what the server sends
// never reaches the client (a connection that hangs without closing).
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpRelay {
  /** The database URL, through the relay. */
  url: string;
  state: { silent: boolean; /** Bytes the clients sent while silent. */ sentWhileSilent: number };
  close(): void;
}

export async function tcpRelay(databaseUrl: string): Promise<TcpRelay> {
  const target = new URL(databaseUrl);
  const state = { silent: false, sentWhileSilent: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (state.silent) state.sentWhileSilent += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!state.silent) client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    state,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
