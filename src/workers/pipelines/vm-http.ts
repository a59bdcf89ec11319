// HTTP for the pipelines: one pooled undici Agent, GETs retried on 5xx and connection errors, VictoriaMetrics'
// import, export (streamed line by line) and query endpoints.
import { setTimeout as sleep } from 'node:timers/promises';
import { StringDecoder } from 'node:string_decoder';
import { Agent, request, type Dispatcher } from 'undici';
import { dedupIntervalOf } from './export-lines.ts';

let sharedAgent: Agent | undefined;

function agent(): Agent {
  sharedAgent ??= new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 60_000, connections: 8 });
  return sharedAgent;
}

export async function closePipelineHttp(): Promise<void> {
  const current = sharedAgent;
  sharedAgent = undefined;
  await current?.close();
}

/** An HTTP failure with what a person needs to act on it: the request, the status, the start of the body. */
export class HttpFailure extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** The URL without user:password or query string, for messages. */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return `${u.origin}${u.pathname}`;
  } catch {
    return String(url);
  }
}

function errorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}

async function bodyHead(body: Dispatcher.ResponseData['body'], max = 500): Promise<string> {
  const text = await body.text().catch(() => '');
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export interface GetOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Delays before each retry; a retry happens on a 5xx or a connection error. */
  retryDelaysMs?: readonly number[];
}

export const DEFAULT_RETRY_DELAYS_MS = [250, 1_000, 3_000] as const;

/** GET returning the whole body as text; retried on 5xx and connection errors, never on 4xx. */
export async function getText(url: URL, options: GetOptions): Promise<string> {
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const what = `GET ${displayUrl(url)}`;
  for (let attempt = 0; ; attempt++) {
    let failure: HttpFailure;
    try {
      const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]) : AbortSignal.timeout(options.timeoutMs);
      const res = await request(url, {
        dispatcher: agent(),
        method: 'GET',
        headers: { accept: 'application/json', ...options.headers },
        signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      if (res.statusCode >= 200 && res.statusCode < 300) return await res.body.text();
      const head = await bodyHead(res.body);
      failure = new HttpFailure(`${what}: HTTP ${res.statusCode}${head ? `: ${head}` : ''}`, res.statusCode);
      if (res.statusCode < 500) throw failure;
    } catch (err) {
      if (err instanceof HttpFailure) throw err;
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      const timedOut = (err as { name?: string }).name === 'TimeoutError' || /timeout/i.test(errorText(err));
      failure = new HttpFailure(`${what}: ${timedOut ? `no answer within ${options.timeoutMs} ms` : errorText(err)}`, undefined, { cause: err });
    }
    if (attempt >= delays.length) {
      throw new HttpFailure(`${failure.message} (after ${attempt + 1} attempts)`, failure.status, { cause: failure });
    }
    await sleep(delays[attempt], undefined, options.signal ? { signal: options.signal } : undefined);
  }
}

/** POSTs Prometheus text lines to VictoriaMetrics' /api/v1/import/prometheus. */
export async function importLines(vmUrl: string, lines: readonly string[], signal?: AbortSignal): Promise<void> {
  if (lines.length === 0) return;
  const url = new URL('api/v1/import/prometheus', withSlash(vmUrl));
  try {
    const res = await request(url, {
      dispatcher: agent(),
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: lines.join('\n') + '\n',
      ...(signal ? { signal } : {}),
    });
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await res.body.dump();
      return;
    }
    throw new HttpFailure(`POST ${displayUrl(url)}: HTTP ${res.statusCode}: ${await bodyHead(res.body)}`, res.statusCode);
  } catch (err) {
    if (err instanceof HttpFailure || signal?.aborted) throw err;
    throw new HttpFailure(`POST ${displayUrl(url)}: ${errorText(err)}`, undefined, { cause: err });
  }
}

/**
 * Asks VictoriaMetrics to make every sample it has ingested searchable now (/internal/force_flush): without
 * it a new series shows 1–10 s after its import (docs/pipelines.md). Only a single-node server answers it
 * (not vminsert, nor a vmauth without the route, nor a server with -forceFlushAuthKey): the answer says
 * whether it was done, and never throws, since the pipelines then fall back to reading their writes back.
 */
export async function forceFlush(vmUrl: string, signal?: AbortSignal): Promise<{ answered: true } | { answered: false; reason: string }> {
  const url = new URL('internal/force_flush', withSlash(vmUrl));
  try {
    const timeout = AbortSignal.timeout(10_000);
    const res = await request(url, { dispatcher: agent(), method: 'GET', signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300 ? { answered: true } : { answered: false, reason: `HTTP ${res.statusCode}` };
  } catch (err) {
    return { answered: false, reason: errorText(err) };
  }
}

function withSlash(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}

export function vmEndpoint(vmUrl: string, path: string, params: Record<string, string | number>): URL {
  const url = new URL(path, withSlash(vmUrl));
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, String(v));
  return url;
}

/** One series of /api/v1/export: labels (with __name__), values and millisecond timestamps. */
export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

/** VictoriaMetrics writes NaN and ±Inf unquoted in its JSON lines; those are read as numbers here. */
function parseExportLine(line: string): ExportedSeries {
  try {
    return JSON.parse(line) as ExportedSeries;
  } catch {
    return JSON.parse(line.replace(/(?<=[[,])(-?Inf|\+Inf|NaN)(?=[,\]])/g, '"$1"'), (_k, v) =>
      v === 'NaN' ? NaN : v === '+Inf' || v === 'Inf' ? Infinity : v === '-Inf' ? -Infinity : v,
    ) as ExportedSeries;
  }
}

/**
 * Streams /api/v1/export for `match` in [startMs, endMs] (both inclusive): one series per line, read and
 * parsed as it arrives, so memory holds one line at a time, never the whole export.
 */
export async function* exportSeries(vmUrl: string, match: string, startMs: number, endMs: number, signal?: AbortSignal): AsyncGenerator<ExportedSeries> {
  for await (const line of exportLines(vmUrl, match, startMs, endMs, { reduceMemUsage: false }, signal)) yield parseExportLine(line);
}

/**
 * The lines of /api/v1/export as they arrive. Plain, VictoriaMetrics merges each series (one line each, its
 * samples sorted, deduplicated by -dedup.minScrapeInterval); with `reduceMemUsage` it sends each block as it
 * reads it (three to five times less CPU), so one series can come in several lines, not necessarily next to
 * each other, undeduplicated: the caller merges (see extract.ts).
 */
export async function* exportLines(vmUrl: string, match: string, startMs: number, endMs: number, options: { reduceMemUsage: boolean }, signal?: AbortSignal): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of exportBody(vmUrl, match, startMs, endMs, options, signal)) {
    const text = rest + decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (nl > start) yield text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest.trim()) yield rest;
}

/** The body of /api/v1/export as it arrives, in chunks of bytes (see exportLines for the two kinds). */
export async function* exportBody(vmUrl: string, match: string, startMs: number, endMs: number, options: { reduceMemUsage: boolean }, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const url = vmEndpoint(vmUrl, 'api/v1/export', { 'match[]': match, start: startMs / 1000, end: endMs / 1000, ...(options.reduceMemUsage ? { reduce_mem_usage: 1 } : {}) });
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { dispatcher: agent(), method: 'GET', ...(signal ? { signal } : {}) });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new HttpFailure(`GET ${displayUrl(url)}: ${errorText(err)}`, undefined, { cause: err });
  }
  if (res.statusCode !== 200) throw new HttpFailure(`GET ${displayUrl(url)}: HTTP ${res.statusCode}: ${await bodyHead(res.body)}`, res.statusCode);
  yield* res.body as AsyncIterable<Buffer>;
}

/** The server's -dedup.minScrapeInterval in ms (0: none), from its /metrics; undefined when it does not say. */
export async function dedupIntervalMs(vmUrl: string, signal?: AbortSignal): Promise<number | undefined> {
  try {
    const text = await getText(new URL('metrics', withSlash(vmUrl)), { timeoutMs: 10_000, retryDelaysMs: [], ...(signal ? { signal } : {}) });
    return dedupIntervalOf(text);
  } catch {
    return undefined;
  }
}

interface QueryResponse {
  status: string;
  error?: string;
  /** A cluster answered without some of its storage nodes. */
  isPartial?: boolean;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; values?: Array<[number, string]>; value?: [number, string] }> };
}

/** A query answer that can be trusted: successful and complete (a partial answer would drop rows). */
function checked(body: QueryResponse, url: URL): QueryResponse {
  if (body.status !== 'success' || !body.data) throw new HttpFailure(`GET ${displayUrl(url)}: ${body.error ?? 'no data'}`);
  if (body.isPartial) throw new HttpFailure(`GET ${displayUrl(url)}: VictoriaMetrics answered with partial data (a storage node is unavailable)`);
  return body;
}

/** /api/v1/query_range, uncached (nocache=1: backfilled samples must show). */
export async function queryRange(vmUrl: string, query: string, startMs: number, endMs: number, stepMs: number, signal?: AbortSignal) {
  const url = vmEndpoint(vmUrl, 'api/v1/query_range', { query, start: startMs / 1000, end: endMs / 1000, step: `${stepMs}ms`, nocache: 1 });
  const text = await getText(url, { timeoutMs: 120_000, ...(signal ? { signal } : {}) });
  const body = checked(JSON.parse(text) as QueryResponse, url);
  return body.data!.result.map((series) => ({ metric: series.metric, values: series.values ?? [] }));
}

/** /api/v1/query at `timeMs`, uncached; the value of each series of the result. */
export async function queryInstant(vmUrl: string, query: string, timeMs: number, signal?: AbortSignal) {
  const url = vmEndpoint(vmUrl, 'api/v1/query', { query, time: timeMs / 1000, nocache: 1 });
  const text = await getText(url, { timeoutMs: 120_000, ...(signal ? { signal } : {}) });
  const body = checked(JSON.parse(text) as QueryResponse, url);
  return body.data!.result.map((series) => ({ metric: series.metric, value: series.value }));
}
