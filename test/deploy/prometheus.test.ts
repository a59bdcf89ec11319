// deploy/prometheus and deploy/grafana: the alert rules pass promtool (check and unit tests on recorded
// series), and against a real Prometheus scraping a running agent (Debian's /usr/bin/prometheus, 1 s
// scrapes, the shipped scrape config) every selector of the rules and every panel of the dashboard is a
// valid expression that returns data, the rules evaluate without error, and the dead man's switch
// picks the job that never succeeds and leaves it out once it is paused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, ledger, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';
import { PROMTOOL_BINARY, startPrometheus, type Prometheus, type Sample } from '../helpers/prometheus.ts';

const RULES = path.join(ROOT, 'deploy', 'prometheus', 'jobsd-alerts.yaml');
const RULE_TESTS = path.join(ROOT, 'test', 'fixtures', 'prometheus', 'jobsd-alerts.test.yaml');
const DASHBOARD = path.join(ROOT, 'deploy', 'grafana', 'jobsd-dashboard.json');

interface Rule { alert: string; expr: string; for?: string }
const rules = (): Rule[] => (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

interface Panel { title: string; type: string; targets?: Array<{ expr: string }> }
const dashboard = () => JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { __inputs: Array<{ name: string; pluginId: string }>; panels: Panel[]; templating: { list: Array<{ name: string; allValue?: string }> } };

/** The series selectors of an expression: metric names (jobsd_*, up) with their label matchers. */
function selectors(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(jobsd_[a-z0-9_]+|up)\b(\{[^}]*\})?/g)].map((m) => m[0]))];
}

/** A dashboard expression as Grafana sends it: the rate interval of 1 s scrapes, every job. */
const asGrafanaSends = (expr: string) => expr.replaceAll('$__rate_interval', '10s').replaceAll('$job', '.*');

const promtool = (...args: string[]) => {
  const r = spawnSync(PROMTOOL_BINARY, args, { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.error, undefined, `promtool is installed (${PROMTOOL_BINARY}; .ci/run installs prometheus)`);
  return r;
};

describe('promtool', () => {
  it('checks the alert rules and the scrape config', () => {
    const rulesCheck = promtool('check', 'rules', RULES);
    assert.equal(rulesCheck.status, 0, rulesCheck.stdout + rulesCheck.stderr);
    assert.match(rulesCheck.stdout, new RegExp(`SUCCESS: ${rules().length} rules found`));
    const configCheck = promtool('check', 'config', path.join(ROOT, 'deploy', 'prometheus', 'prometheus.yaml'));
    assert.equal(configCheck.status, 0, configCheck.stdout + configCheck.stderr);
  });

  it('passes the unit tests of every alert on recorded series', () => {
    const r = promtool('test', 'rules', RULE_TESTS);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const tested = new Set([...readFileSync(RULE_TESTS, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    assert.deepEqual([...tested].sort(), rules().map((r) => r.alert).sort(), 'every alert has a unit test');
  });
});

describe('rules and dashboard against a real Prometheus scraping a running agent', () => {
  let url: string;
  let dir: string;
  let agent: AgentProcess;
  let prometheus: Prometheus;
  const present = async (expr: string, what: string, timeoutMs = 30_000): Promise<Sample[]> => {
    let last: Sample[] = [];
    await pollUntil(async () => (last = await prometheus.query(expr)).length > 0, { timeoutMs, what: `${what}: ${expr} returns data` });
    return last;
  };

  before(async () => {
    url = await freshDatabase('prometheus');
    dir = jobsDir({
      'ok.yaml': 'schedule: every 1s\ntask: { type: command, command: ["true"] }\n',
      'bad.yaml': 'schedule: every 2s\ntask: { type: command, command: ["false"] }\n',
      'setup.yaml': 'schedule: "@once"\ntask: { type: command, command: ["true"] }\n',
      'broken.yaml': 'schedule: { cron: "61 * * * *" }\ntask: { type: command, command: ["true"] }\n',
    });
    // A first agent runs ok and stops; the fires of the 2 s before the next one starts are missed (catchup: skip).
    const first = await startAgent({ name: 'prometheus-first', jobsDir: dir, databaseUrl: url });
    await pollUntil(async () => (await ledger(url, 'ok')).some((r) => r.state === 'succeeded'), { timeoutMs: 20_000, what: 'a first run of ok' });
    await first.stop();
    const stopped = Date.now();
    await pollUntil(() => Date.now() > stopped + 2_500, { timeoutMs: 5_000, what: 'two fires of ok without an agent' });

    const port = await freePort();
    agent = await startAgent({ name: 'prometheus-agent', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`] });
    // The shipped configuration, scraping this agent every second and evaluating the rules as often.
    const config = parse(readFileSync(path.join(ROOT, 'deploy', 'prometheus', 'prometheus.yaml'), 'utf8'));
    config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
    config.rule_files = [RULES];
    config.scrape_configs[0].static_configs = [{ targets: [`127.0.0.1:${port}`] }];
    prometheus = await startPrometheus(stringify(config));
  });
  after(async () => {
    await prometheus?.stop();
    await agent?.stop();
  });

  it('every selector of the alert rules has series', async () => {
    const all = rules().flatMap((r) => selectors(r.expr));
    assert.ok(all.includes('jobsd_job_period_seconds') && all.includes('jobsd_queue_oldest_waiting_seconds') && all.includes('up{job="jobsd"}'), all.join(' '));
    for (const selector of all) await present(selector, 'a selector of the rules');
    // The job ids are in `job` (honor_labels), one-time jobs have no period.
    const periods = await present('jobsd_job_period_seconds', 'periods');
    assert.deepEqual(Object.fromEntries(periods.map((s) => [s.metric.job, Number(s.value[1])])), { ok: 1, bad: 2 });
  });

  it('the rules evaluate without error, and a broken file makes JobsdFileErrors pending', async () => {
    type Rules = { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; state: string; lastEvaluation: string }> }> };
    let evaluated: Rules['groups'][number]['rules'] = [];
    await pollUntil(async () => {
      evaluated = (await prometheus.api<Rules>('rules')).groups.flatMap((g) => g.rules);
      return evaluated.length > 0 && evaluated.every((r) => !r.lastEvaluation.startsWith('0001'));
    }, { timeoutMs: 20_000, what: 'a first evaluation of the rules' });
    for (const r of evaluated) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
    await pollUntil(async () => (await prometheus.api<Rules>('rules')).groups[0]!.rules.find((r) => r.name === 'JobsdFileErrors')?.state === 'pending', { timeoutMs: 20_000, what: 'JobsdFileErrors pending' });
  });

  it("the dead man's switch picks the job that never succeeds, and not once it is paused", async () => {
    // The rule with 5 s of slack instead of 5 minutes: `bad` (every 2 s, never a success) is over
    // 2 × 2 s + 5 s once the agent has run that long; `ok` succeeds every second.
    const rule = rules().find((r) => r.alert === 'JobsdJobNotSucceeding')!;
    const fast = rule.expr.replace('+ 300)', '+ 5)');
    assert.notEqual(fast, rule.expr);
    const jobs = async () => (await prometheus.query(fast)).map((s) => s.metric.job).sort();
    await pollUntil(async () => (await jobs()).includes('bad'), { timeoutMs: 30_000, what: 'bad in the dead man switch' });
    assert.deepEqual(await jobs(), ['bad']);
    const paused = await runCli(['pause', 'bad', '--reason', 'test', '--database-url', url, '--jobs-dir', dir]);
    assert.equal(paused.code, 0, paused.stderr);
    await pollUntil(async () => (await jobs()).length === 0, { timeoutMs: 30_000, what: 'bad left out while paused' });
  });

  it('every panel of the dashboard is a valid expression that returns data', async (t) => {
    const dash = dashboard();
    assert.deepEqual(dash.__inputs.map((i) => [i.name, i.pluginId]), [['DS_PROMETHEUS', 'prometheus']]);
    assert.equal(dash.templating.list.find((v) => v.name === 'job')?.allValue, '.*');
    const titles = dash.panels.map((p) => p.title);
    for (const wanted of [/fires/i, /failures/i, /lateness p50 \/ p99/i, /duration/i, /queue depth/i, /file errors/i, /next fires/i]) {
      assert.ok(titles.some((title) => wanted.test(title)), `a panel for ${wanted}`);
    }
    let count = 0;
    for (const panel of dash.panels) {
      assert.ok(panel.targets?.length, `${panel.title} has queries`);
      for (const target of panel.targets!) {
        const expr = asGrafanaSends(target.expr);
        const samples = await present(expr, panel.title);
        // histogram_quantile over no observations gives NaN; a panel must show numbers.
        assert.ok(samples.some((s) => Number.isFinite(Number(s.value[1]))), `${panel.title}: ${expr}: ${JSON.stringify(samples)}`);
        count++;
      }
    }
    t.diagnostic(`${dash.panels.length} panels, ${count} expressions`);
  });
});
