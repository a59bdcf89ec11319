// Real receivers for notifications: an HTTP webhook endpoint and an SMTP server (smtp-server), on loopback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { after, before } from 'node:test';
import { SMTPServer } from 'smtp-server';

export interface WebhookReceiver {
  url: string;
  bodies: Array<Record<string, unknown>>;
  /** Status codes to answer with, in order; 200 once they run out. */
  answers: number[];
  requests: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver = { bodies: [] as Array<Record<string, unknown>>, answers: [] as number[], requests: 0 };
  const server: Server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    receiver.requests++;
    const status = receiver.answers.shift() ?? 200;
    if (status === 200) receiver.bodies.push({ ...(JSON.parse(text) as Record<string, unknown>), _headers: req.headers });
    res.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

export interface SmtpReceiver {
  url: string;
  mails: ParsedMail[];
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const mails: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        mails.push(mail);
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A webhook receiver and an SMTP server for the test file: started before its tests, closed after. */
export function useNotificationReceivers(): { readonly hook: WebhookReceiver; readonly smtp: SmtpReceiver } {
  let hook: WebhookReceiver | undefined;
  let smtp: SmtpReceiver | undefined;
  before(async () => {
    [hook, smtp] = await Promise.all([startWebhookReceiver(), startSmtpReceiver()]);
  });
  after(async () => {
    await Promise.all([hook?.close(), smtp?.close()]);
  });
  return {
    get hook() {
      return hook!;
    },
    get smtp() {
      return smtp!;
    },
  };
}
