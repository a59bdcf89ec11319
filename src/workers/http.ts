// The `http` task: one request through a shared undici connection pool (design §4).
import { Agent, request, type Dispatcher } from 'undici';
import type { HttpTask, JobDefinition, StatusMatcher } from '../definitions/types.ts';
import { OUTPUT_TAIL_BYTES, utf8Head } from './output-tail.ts';
import { linkedSignal } from './linked-signal.ts';
import { buildResult, formatMs, runFields, type Outcome, type RunContext, type RunResult } from './result.ts';

export type HttpJob = JobDefinition & { task: HttpTask };

/** The first this many bytes of a response body are kept; the rest is not read. */
export const BODY_HEAD_BYTES = OUTPUT_TAIL_BYTES;
const MAX_TIMER_MS = 2 ** 31 - 1;

let sharedAgent: Agent | undefined;

/** One pool for every http task: keep-alive connections are reused across runs and jobs. */
function agent(): Agent {
  sharedAgent ??= new Agent({
    keepAliveTimeout: 4_000, // below the common 5 s server idle timeout
    keepAliveMaxTimeout: 60_000,
    connections: 16, // per origin
  });
  return sharedAgent;
}

/** Closes the shared pool (on shutdown); a later request opens a new one. */
export async function closeHttpAgent(): Promise<void> {
  const current = sharedAgent;
  sharedAgent = undefined;
  await current?.close();
}

export function statusMatches(status: number, expect: readonly StatusMatcher[]): boolean {
  if (expect.length === 0) return status >= 200 && status < 300;
  return expect.some((m) => ('code' in m ? m.code === status : Math.floor(status / 100) === m.class));
}

export function describeExpected(expect: readonly StatusMatcher[]): string {
  if (expect.length === 0) return '2xx';
  return expect.map((m) => ('code' in m ? String(m.code) : `${m.class}xx`)).join(', ');
}

/** The URL without user:password, for messages and logs. */
function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

function encodeBody(task: HttpTask): { body?: string; headers: Record<string, string> } {
  const headers = { ...task.headers };
  if (task.body === undefined || task.body === null) return { headers };
  if (typeof task.body === 'string') return { body: task.body, headers };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  return { body: JSON.stringify(task.body), headers };
}

/** Reads at most BODY_HEAD_BYTES (cut on a character boundary) and drops the connection's rest. */
async function readHead(body: Dispatcher.ResponseData['body']): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > BODY_HEAD_BYTES) break; // leaving the loop destroys the body
  }
  return {
    text: utf8Head(Buffer.concat(chunks, size), BODY_HEAD_BYTES).toString('utf8'),
    truncated: size > BODY_HEAD_BYTES,
  };
}

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown }; errors?: Array<{ code?: unknown }> };
  for (const c of [e?.code, e?.cause?.code, e?.errors?.[0]?.code]) if (typeof c === 'string') return c;
  return undefined;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export async function runHttp(def: HttpJob, ctx: RunContext): Promise<RunResult> {
  const { task } = def;
  const method = task.method.toUpperCase();
  // For messages only: parsing the URL again is kept off the path to the request.
  const target = () => `${method} ${displayUrl(task.url)}`;
  const timeoutMs = task.timeoutMs ?? def.timeoutMs;
  const startedMs = Date.now();
  const finish = (o: Omit<Outcome, 'startedMs' | 'completedMs'>): RunResult =>
    buildResult(def, ctx, { ...o, startedMs, completedMs: Date.now() });

  if (ctx.signal?.aborted) return finish({ status: 'cancelled', message: 'cancelled before start' });

  const stop = linkedSignal([ctx.signal]);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort(new Error('timeout'));
  }, Math.min(timeoutMs, MAX_TIMER_MS));
  const { body, headers } = encodeBody(task);
  try {
    if (ctx.logger.isLevelEnabled('debug')) ctx.logger.debug({ ...runFields(def, ctx), method, url: displayUrl(task.url) }, 'http request');
    const res = await request(task.url, {
      dispatcher: agent(),
      method,
      headers,
      body,
      signal: stop.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const head = await readHead(res.body);
    const status = res.statusCode;
    const { 'set-cookie': _cookie, ...responseHeaders } = res.headers;
    const details = {
      status,
      duration_ms: Date.now() - startedMs,
      body: head.text,
      body_truncated: head.truncated,
      headers: responseHeaders,
    };
    const line = `HTTP ${status}${res.statusText ? ` ${res.statusText}` : ''}`;
    if (statusMatches(status, task.expectStatus)) return finish({ status: 'succeeded', message: line, details });
    return finish({
      status: 'failed',
      message: `${line}, expected ${describeExpected(task.expectStatus)}`,
      details,
    });
  } catch (err) {
    const details = { duration_ms: Date.now() - startedMs };
    const code = errorCode(err);
    if (ctx.signal?.aborted) return finish({ status: 'cancelled', message: `${target()} cancelled`, details });
    if (timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
      return finish({ status: 'timed_out', message: `${target()} timed out after ${formatMs(timeoutMs)}`, details });
    }
    const reason = err instanceof Error ? err.message : String(err);
    const message = `${target()} failed: ${code !== undefined && !reason.includes(code) ? `${code} ` : ''}${reason}`;
    return finish({ status: 'failed', message, details: { ...details, error_code: code ?? null } });
  } finally {
    clearTimeout(timer);
    stop.dispose();
  }
}
