// Notifications (job file `notify:`): a webhook and/or an email on failure, recovery, missed fires,
// success, or a pause after failures. Sent in the background with retries; a notification never blocks, delays or fails the run.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Transporter } from 'nodemailer';
import { request } from 'undici';
import type { JobDefinition, NotifyEvent } from '../definitions/types.ts';
import type { Logger } from '../log.ts';
import { filesOf, type OutputFile, type OutputListing } from '../workers/output-files.ts';
import type { RunResult } from '../workers/result.ts';

export const FAILURE_STATES: ReadonlySet<string> = new Set(['failed', 'timed_out', 'partial']);
export const DEFAULT_RETRY_DELAYS_MS = [1_000, 5_000, 30_000] as const;

export interface NotifierOptions {
  logger: Logger;
  /** JOBSD_SMTP_URL, e.g. `smtp://user:pass@mail.example.com:587` or `smtps://…`. */
  smtpUrl?: string;
  /** The final state of the job's run before this fire (for `recovery`). */
  previousState: (jobId: string, fireTimeMs: number) => Promise<string | undefined>;
  retryDelaysMs?: readonly number[];
}

export interface Notification {
  event: NotifyEvent;
  job_id: string;
  description: string | null;
  /** The run's result; for `missed`, a summary of the fires recorded missed; for `paused`, the pause. */
  result: RunResult | { status: 'missed'; message: string; fires: string[] } | { status: 'paused'; message: string; reason: string; last_run: RunResult };
}

/** Which events a final result raises for this job, given the state of the run before it. */
export function eventsFor(on: readonly NotifyEvent[], status: string, previous: string | undefined): NotifyEvent[] {
  const events: NotifyEvent[] = [];
  if (FAILURE_STATES.has(status) && on.includes('failure')) events.push('failure');
  if (status === 'succeeded') {
    if (on.includes('recovery') && previous !== undefined && FAILURE_STATES.has(previous)) events.push('recovery');
    else if (on.includes('success')) events.push('success');
  }
  return events;
}

function subject(n: Notification): string {
  const what = n.event === 'recovery' ? 'recovered' : n.event === 'missed' ? 'missed fires' : n.event === 'paused' ? 'paused after failures' : n.result.status;
  return `[jobsd] ${n.job_id}: ${what}`;
}

function outputOf(n: Notification): string | undefined {
  const details = 'details' in n.result ? (n.result.details as { output_tail?: unknown; body?: unknown }) : undefined;
  const text = details?.output_tail ?? details?.body;
  return typeof text === 'string' && text.length > 0 ? text : undefined;
}

/** Which of the run's kept files the email attaches (`notify.email.attach`), and the names asked for that are not among them. */
export function attachedFiles(attach: true | readonly string[] | undefined, n: Notification): { files: readonly OutputFile[]; missing: string[] } {
  if (attach === undefined || !('run_id' in n.result)) return { files: [], missing: [] };
  const kept = filesOf(n.result);
  if (attach === true) return { files: kept, missing: [] };
  return { files: kept.filter((f) => attach.includes(f.name)), missing: attach.filter((name) => !kept.some((f) => f.name === name)) };
}

/** The lines about the files the run left: which are attached, which not and why. */
function fileLines(n: Notification, attach: true | readonly string[] | undefined): string[] {
  if (!('run_id' in n.result)) return [];
  const listing = (n.result.details.output_files ?? []) as OutputListing[];
  const { files, missing } = attachedFiles(attach, n);
  const lines = listing.map((f) => {
    const state = files.some((a) => a.name === f.name) ? 'attached' : `not attached${f.reason ? `: ${f.reason}` : ''}`;
    return `            ${f.name} (${f.size} bytes, ${f.content_type}): ${state}`;
  });
  for (const name of missing) if (!listing.some((f) => f.name === name)) lines.push(`            ${name}: the run left no such file`);
  return lines.length ? ['', 'Files the run left (JOBSD_OUTPUT_DIR):', ...lines] : [];
}

/** The plain-text body: the result at a glance, the files the run left, then the end of the output. */
export function emailText(n: Notification, attach?: true | readonly string[]): string {
  const r = n.result;
  const lines = [`${subject(n)} (event: ${n.event})`, ''];
  if ('run_id' in r) {
    lines.push(
      `Job:        ${r.job_id}${n.description ? ` (${n.description})` : ''}`,
      `Status:     ${r.status}: ${r.message}`,
      `Fire time:  ${r.fire_time}`,
      `Ran:        ${r.started_at} → ${r.completed_at} (${r.execution_time_seconds} s), attempt ${r.attempt}, on ${r.instance}`,
      `Run id:     ${r.run_id}`,
    );
    if (r.error && r.error !== r.message) lines.push(`Error:      ${r.error}`);
  } else if (r.status === 'paused') {
    const last = r.last_run;
    lines.push(`Job:        ${n.job_id}${n.description ? ` (${n.description})` : ''}`, `Paused:     ${r.message}`, `Last run:   ${last.status}: ${last.message} (fire ${last.fire_time}, run ${last.run_id})`);
  } else {
    lines.push(`Job:        ${n.job_id}`, `Missed:     ${r.message}`, ...r.fires.map((f) => `            ${f}`));
  }
  lines.push(...fileLines(n, attach));
  const output = outputOf(n);
  if (output) {
    const tail = output.split('\n').slice(-40).join('\n');
    lines.push('', 'Output (the last lines; the kept output is attached):', '', tail);
  }
  lines.push('', '--', `jobsd on ${hostname()}`);
  return lines.join('\n') + '\n';
}

export class Notifier {
  private readonly options: NotifierOptions;
  /** Created on the first email (a promise, so that two first emails at once share it). */
  private transport: Promise<Transporter> | undefined;
  private readonly pending = new Set<Promise<void>>();
  private readonly warned = new Set<string>();

  constructor(options: NotifierOptions) {
    this.options = options;
  }

  /** A run ended with no retry left. Returns at once; sending happens in the background. */
  runEnded(def: JobDefinition, result: RunResult): void {
    const policy = def.notify;
    if (!policy) return;
    this.track(
      (async () => {
        const needsPrevious = result.status === 'succeeded' && policy.on.includes('recovery');
        const previous = needsPrevious ? await this.options.previousState(def.id, Date.parse(result.fire_time)).catch(() => undefined) : undefined;
        for (const event of eventsFor(policy.on, result.status, previous)) {
          await this.send(def, { event, job_id: def.id, description: def.description ?? null, result });
        }
      })(),
    );
  }

  /** Fires of the job were recorded missed by catch-up (by this agent: the ledger decided who). */
  missed(def: JobDefinition, fires: number[]): void {
    if (!def.notify?.on.includes('missed') || fires.length === 0) return;
    const list = fires.map((f) => new Date(f).toISOString());
    const result = { status: 'missed' as const, message: `${fires.length} fire(s) missed while no agent could run them`, fires: list };
    this.track(this.send(def, { event: 'missed', job_id: def.id, description: def.description ?? null, result }));
  }

  /** pause_after_failures paused the job: sent where `on` has `paused` or `failure`. */
  paused(def: JobDefinition, reason: string, lastRun: RunResult): void {
    const on = def.notify?.on;
    if (!on || !(on.includes('paused') || on.includes('failure'))) return;
    const result = { status: 'paused' as const, message: `paused until jobsd resume ${def.id}: ${reason}`, reason, last_run: lastRun };
    this.track(this.send(def, { event: 'paused', job_id: def.id, description: def.description ?? null, result }));
  }

  /** Waits for notifications in flight, at most `timeoutMs` (at shutdown). */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.pending]), sleep(timeoutMs, undefined, { ref: false })]);
    void this.transport?.then((t) => t.close(), () => undefined);
  }

  private track(promise: Promise<void>): void {
    const tracked = promise.catch((err: unknown) => this.options.logger.warn({ err }, 'notification failed')).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async send(def: JobDefinition, n: Notification): Promise<void> {
    const { webhook, email } = def.notify!;
    const jobs: Promise<void>[] = [];
    if (webhook) jobs.push(this.withRetries(def.id, n.event, 'webhook', () => postWebhook(webhook.url, webhook.headers, n)));
    if (email) {
      if (!this.options.smtpUrl) {
        if (!this.warned.has(def.id)) this.options.logger.warn({ job: def.id }, 'email notification configured but JOBSD_SMTP_URL is not set: not sent');
        this.warned.add(def.id);
      } else {
        const from = email.from ?? `jobsd@${hostname()}`;
        jobs.push(this.withRetries(def.id, n.event, 'email', () => this.mail(from, email.to, email.attach, n)));
      }
    }
    await Promise.all(jobs);
  }

  private async withRetries(job: string, event: NotifyEvent, channel: string, attempt: () => Promise<void>): Promise<void> {
    const delays = this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    for (let i = 0; ; i++) {
      try {
        await attempt();
        this.options.logger.info({ job, event, channel, attempts: i + 1 }, `notification sent (${channel}, ${event})`);
        return;
      } catch (err) {
        const permanent = (err as { permanent?: boolean }).permanent === true;
        if (permanent || i >= delays.length) {
          this.options.logger.warn({ job, event, channel, attempts: i + 1, error: (err as Error).message }, `notification not sent (${channel}, ${event})`);
          return;
        }
        await sleep(delays[i], undefined, { ref: false });
      }
    }
  }

  private async mail(from: string, to: string[], attach: true | string[] | undefined, n: Notification): Promise<void> {
    // Loaded on the first email: most agents send none, and nodemailer is ~50 ms of every start.
    this.transport ??= import('nodemailer').then((m) => m.default.createTransport(this.options.smtpUrl!));
    const transport = await this.transport;
    const output = outputOf(n);
    const fire = 'fire_time' in n.result ? n.result.fire_time.replace(/[:.]/g, '-') : 'missed';
    await transport.sendMail({
      from,
      to,
      subject: subject(n),
      text: emailText(n, attach),
      attachments: [
        ...(output ? [{ filename: `${n.job_id}-${fire}.log`, content: output, contentType: 'text/plain; charset=utf-8' }] : []),
        ...attachedFiles(attach, n).files.map((f) => ({ filename: f.name, content: f.content, contentType: f.contentType })),
      ],
    });
  }
}

async function postWebhook(url: string, headers: Record<string, string>, n: Notification): Promise<void> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'jobsd', ...headers },
    body: JSON.stringify(n),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await res.body.dump();
  if (res.statusCode >= 200 && res.statusCode < 300) return;
  const err = new Error(`webhook answered HTTP ${res.statusCode}`);
  // A 4xx (but 408 and 429) will not get better by trying again.
  if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429) Object.assign(err, { permanent: true });
  throw err;
}
