// The agent's HTTP endpoint, bound to 127.0.0.1 by default (design §7): health, readiness, Prometheus
// metrics, the JSON API, and the status page. Errors are JSON with a code and a message; no stack traces.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { definitionView, fileErrorView, jobView, pauseView, runView } from './api.ts';
import { parseDuration } from '../definitions/duration.ts';
import { ID_PATTERN } from '../definitions/normalize.ts';
import { cliInstant } from '../definitions/instant.ts';
import { bearerMatches } from './auth.ts';
import { hostProblem } from './host-check.ts';
import { HttpError, integerParam, pathSegment, requestUrl } from './request.ts';
import { renderStatusPage } from './status-page.ts';
import { renderJobPage, renderMissingJobPage } from './job-page.ts';
import { parseListQuery } from './job-list.ts';
import { parseRange } from './timeline.ts';
import type { AgentView } from './view.ts';

export interface HttpOptions {
  host: string;
  port: number;
  view: AgentView;
  /** JOBSD_API_TOKEN: enables POST /api/jobs/:id/run for requests that carry it. */
  apiToken?: string;
  /** Host names answered besides IP literals, localhost and `host` (--allowed-hosts): lower case, `*` any. */
  allowedHosts?: readonly string[];
  /** Called for a request that failed unexpectedly (logged by the agent; the client gets a 500). */
  onError?: (err: unknown) => void;
}

export interface HttpEndpoint {
  url: string;
  close: () => Promise<void>;
}

/** The largest request body accepted (the API takes none that matter). */
export const MAX_BODY_BYTES = 16 * 1024;
const MAX_RUNS = 1000;

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value, null, 2) + '\n', headers);
}

/** Reads and discards the body, refusing more than MAX_BODY_BYTES. */
async function drainBody(req: IncomingMessage): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
  }
}

/** POST actions need the token: none set disables them (404), a wrong or missing one is 401. */
function authorize(req: IncomingMessage, options: HttpOptions, what: string): void {
  if (!options.apiToken) throw new HttpError(404, 'not_found', `${what} disabled: set JOBSD_API_TOKEN on the agent to enable them`);
  if (!bearerMatches(req.headers.authorization, options.apiToken)) {
    throw Object.assign(new HttpError(401, 'unauthorized', 'send Authorization: Bearer <JOBSD_API_TOKEN>'), { bearer: true });
  }
}

/** A job file's body (PUT /api/jobs/:id) may be larger than other bodies. */
const MAX_JOB_BODY_BYTES = 256 * 1024;

async function readBody(req: IncomingMessage, max = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw new HttpError(413, 'body_too_large', `request bodies are limited to ${max} bytes here`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new HttpError(413, 'body_too_large', `request bodies are limited to ${max} bytes here`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The format of a job file's body, by its Content-Type. */
function bodyFormat(req: IncomingMessage): 'yaml' | 'json' {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'].includes(type)) return 'yaml';
  throw new HttpError(415, 'unsupported_media_type', 'send the job file as Content-Type: application/yaml or application/json');
}

/** A small JSON object body (an empty body is `{}`). */
async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'bad_body', 'the body is not JSON: send {"until": "2026-12-24T08:00:00Z", "reason": "…"} or {"for": "2h"}');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'bad_body', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** `until` (ISO 8601) or `for` (a duration), and `reason`, of a pause request. */
function pauseRequest(body: Record<string, unknown>, nowMs: number): { untilMs?: number; reason?: string } {
  const unknown = Object.keys(body).filter((k) => !['until', 'for', 'reason'].includes(k));
  if (unknown.length) throw new HttpError(400, 'bad_body', `unknown field ${JSON.stringify(unknown[0])}: a pause takes until, for and reason`);
  if (body.reason !== undefined && typeof body.reason !== 'string') throw new HttpError(400, 'bad_body', 'reason must be a string');
  if (typeof body.reason === 'string' && body.reason.length > 500) throw new HttpError(400, 'bad_body', 'reason is limited to 500 characters');
  if (body.until !== undefined && body.for !== undefined) throw new HttpError(400, 'bad_body', 'give until or for, not both');
  let untilMs: number | undefined;
  if (body.for !== undefined) {
    const ms = parseDuration(body.for);
    if (typeof ms !== 'number' || ms <= 0) throw new HttpError(400, 'bad_body', 'for must be a duration such as "90s", "2h" or "1h30m"');
    untilMs = nowMs + ms;
  } else if (body.until !== undefined) {
    const ms = cliInstant(body.until);
    if (ms === undefined) throw new HttpError(400, 'bad_body', 'until must be an ISO 8601 instant such as "2026-12-24T08:00:00Z"');
    if (ms <= nowMs) throw new HttpError(400, 'bad_body', `until ${String(body.until)} has passed`);
    untilMs = ms;
  }
  return { ...(untilMs !== undefined ? { untilMs } : {}), ...(typeof body.reason === 'string' ? { reason: body.reason } : {}) };
}

async function route(req: IncomingMessage, res: ServerResponse, options: HttpOptions): Promise<void> {
  const { view } = options;
  const refused = hostProblem(req.headers.host, { boundHost: options.host, allowedHosts: options.allowedHosts ?? [] });
  if (refused) throw new HttpError(421, 'host_not_allowed', refused);
  const url = requestUrl(req.url);
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const readOnly = method === 'GET' || method === 'HEAD';
  const jobMatch = /^\/api\/jobs\/([^/]+)(\/runs|\/run|\/pause|\/resume)?$/.exec(path);

  if (jobMatch?.[2] === '/pause' || jobMatch?.[2] === '/resume') {
    const action = jobMatch[2].slice(1);
    if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', `use POST to ${action} a job`);
    authorize(req, options, `${action} over HTTP is`);
    const body = await readJsonBody(req);
    const id = pathSegment(jobMatch[1]!);
    const def = view.job(id);
    if (!def) throw new HttpError(404, 'job_not_found', `no job "${id}" is loaded`);
    if (action === 'resume') return json(res, 200, { job_id: id, paused: false, was_paused: await view.resume(def) });
    const { pause, skipped, held } = await view.pause(def, pauseRequest(body, Date.now()));
    return json(res, 200, { job_id: id, ...pauseView(pause), queued_runs_skipped: skipped, held_runs_not_stopped: held });
  }
  if (jobMatch?.[2] === '/run') {
    if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use POST to start a run');
    authorize(req, options, 'manual runs over HTTP are');
    await drainBody(req);
    const id = pathSegment(jobMatch[1]!);
    const def = view.job(id);
    if (!def) throw new HttpError(404, 'job_not_found', `no job "${id}" is loaded`);
    const run = await view.runNow(def);
    if (run.state === 'skipped') {
      return json(res, 409, { error: { code: 'overlap', message: `a run of ${def.id} is already queued or active (overlap: ${def.overlap})` }, ...run });
    }
    return json(res, 202, { job_id: def.id, ...run });
  }
  if (jobMatch && jobMatch[2] === undefined && (method === 'PUT' || method === 'DELETE')) {
    authorize(req, options, 'writing jobs over HTTP is');
    const id = pathSegment(jobMatch[1]!);
    if (!ID_PATTERN.test(id) || id.includes('..')) throw new HttpError(400, 'bad_id', `"${id}" is not a job id: lower-case letters, digits, '.', '_' and '-'`);
    if (method === 'DELETE') {
      await drainBody(req);
      const { status, body } = await view.deleteJob(id);
      return json(res, status, body);
    }
    const format = bodyFormat(req);
    const { status, body } = await view.writeJob(id, await readBody(req, MAX_JOB_BODY_BYTES), format);
    return json(res, status, body);
  }
  if (!readOnly) throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${path}`);

  if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
  if (path === '/readyz') {
    const reason = await view.readiness();
    return reason === null ? send(res, 200, 'text/plain; charset=utf-8', 'ready\n') : send(res, 503, 'text/plain; charset=utf-8', `not ready: ${reason}\n`);
  }
  if (path === '/metrics') return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', await view.metrics());
  if (path === '/api/files') return json(res, 200, { file_errors: view.fileErrors().map(fileErrorView) });
  if (path === '/api/jobs') {
    const [last, pauses] = await Promise.all([view.lastRuns().catch(() => new Map()), view.pauses().catch(() => new Map())]);
    return json(res, 200, { jobs: view.jobs().map((def) => jobView(def, view.nextFire(def.id), last.get(def.id), pauses.get(def.id))), file_errors: view.fileErrors().length });
  }
  if (jobMatch) {
    const id = pathSegment(jobMatch[1]!);
    const def = view.job(id);
    if (!def) throw new HttpError(404, 'job_not_found', `no job "${id}" is loaded`);
    if (jobMatch[2] === '/runs') {
      const rows = await view.runs(id, integerParam(url, 'limit', { min: 1, max: MAX_RUNS, fallback: 20 }));
      return json(res, 200, { job_id: id, runs: rows.map((r) => runView(r, def.secrets)) });
    }
    const [last, pauses] = await Promise.all([view.lastRuns().catch(() => new Map()), view.pauses().catch(() => new Map())]);
    return json(res, 200, { ...jobView(def, view.nextFire(id), last.get(id), pauses.get(id)), definition: definitionView(def) });
  }
  if (path === '/') return send(res, 200, 'text/html; charset=utf-8', await renderStatusPage(view, Date.now(), parseListQuery(url)));
  const pageMatch = /^\/jobs\/([^/]+)$/.exec(path);
  if (pageMatch) {
    const id = pathSegment(pageMatch[1]!);
    const def = view.job(id);
    if (!def) return send(res, 404, 'text/html; charset=utf-8', renderMissingJobPage(id));
    return send(res, 200, 'text/html; charset=utf-8', await renderJobPage(view, def, Date.now(), parseRange(url.searchParams.get('range'))));
  }
  throw new HttpError(404, 'not_found', `nothing at ${path}: try /, /jobs/ID, /healthz, /readyz, /metrics, /api/jobs, /api/files`);
}

export async function startHttp(options: HttpOptions): Promise<HttpEndpoint> {
  const server: Server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000 }, (req, res) => {
    route(req, res, options).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) {
        const headers: Record<string, string> = (err as { bearer?: boolean }).bearer ? { 'www-authenticate': 'Bearer realm="jobsd"' } : {};
        if (err.status === 413) headers.connection = 'close';
        return json(res, err.status, { error: { code: err.code, message: err.message } }, headers);
      }
      options.onError?.(err);
      json(res, 500, { error: { code: 'internal', message: 'internal error: the agent log has the details' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
