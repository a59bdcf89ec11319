// Issue 18 item 3: the agent's own secrets do not reach commands, and one job's output cannot show
// another job's secret. A job file's ${VAR} cannot read the agent's JOBSD_* settings (design §9).
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, ledger, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

const AGENT_ENV = {
  JOBSD_API_TOKEN: 'agent-api-token-7f3a',
  JOBSD_SMTP_URL: 'smtp://mailer:smtp-pass-91c2@127.0.0.1:1',
  PGPASSWORD: 'pg-pass-44d1',
  DATABASE_URL: 'postgres://jobsd:db-pass-0b7e@127.0.0.1:1/jobsd',
};
const SHARED = 'shared-secret-c0ffee';

describe('a running agent and the secrets it knows', () => {
  let agent: AgentProcess;
  let url: string;
  let base: string;
  before(async () => {
    url = await freshDatabase('secrets');
    const dir = jobsDir({
      'printenv.yaml': 'schedule: "@once"\ntask: { type: command, command: ["env"] }\n',
      'needs-pg.yaml': 'schedule: "@once"\ntask: { type: command, command: \'test "$PGPASSWORD" = pg-pass-44d1\', env: { PGPASSWORD: "${PGPASSWORD}" } }\n',
      // One job holds a secret it never prints; another prints the same value (a shared secret file).
      'holder.yaml': 'schedule: "0 0 1 1 *"\ntask: { type: command, command: ["true"], env: { UPSTREAM_KEY: "${file:./shared-secret}" } }\n',
      'leaker.yaml': 'schedule: "@once"\ntask: { type: command, command: ["cat", "./shared-secret"] }\n',
    });
    writeFileSync(path.join(dir, 'shared-secret'), `${SHARED}\n`);
    chmodSync(path.join(dir, 'shared-secret'), 0o600);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    agent = await startAgent({ name: 'secrets', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`], env: AGENT_ENV });
    for (const id of ['printenv', 'needs-pg', 'leaker']) {
      await pollUntil(async () => (await ledger(url, id)).some((r) => r.finished_at !== null), { timeoutMs: 20_000, what: `${id} ran` });
    }
  });
  after(async () => {
    await agent?.stop();
  });

  it("a command's environment has none of the agent's settings, and the run's JOBSD_* variables", async () => {
    const [row] = await ledger(url, 'printenv');
    const output = String((row!.result!.details as { output_tail: string }).output_tail);
    const names = output.split('\n').map((line) => line.split('=')[0]!);
    for (const name of ['JOBSD_API_TOKEN', 'JOBSD_SMTP_URL', 'JOBSD_LOG_LEVEL', 'JOBSD_TEST_DATABASE_URL', 'PGPASSWORD', 'DATABASE_URL']) {
      assert.ok(!names.includes(name), `${name} reached the command:\n${output}`);
    }
    for (const name of ['JOBSD_JOB_ID', 'JOBSD_RUN_ID', 'JOBSD_FIRE_TIME', 'JOBSD_ATTEMPT', 'JOBSD_INSTANCE', 'JOBSD_JOB_FILE', 'PATH']) {
      assert.ok(names.includes(name), `${name} is missing:\n${output}`);
    }
  });

  it('a job that needs one of them names it in env:', async () => {
    const [row] = await ledger(url, 'needs-pg');
    assert.equal(row!.state, 'succeeded', JSON.stringify(row!.result));
  });

  it("one job's output does not show another job's secret, in the ledger or the API", async () => {
    const [row] = await ledger(url, 'leaker');
    assert.equal(row!.state, 'succeeded');
    assert.doesNotMatch(JSON.stringify(row!.result), new RegExp(SHARED));
    const runs = await (await fetch(`${base}/api/jobs/leaker/runs`)).text();
    assert.doesNotMatch(runs, new RegExp(SHARED));
    assert.match(runs, /\[redacted\]/);
  });

  it("neither the status page nor a job's page shows a secret: output tail, definition, descriptions", async () => {
    const leaker = await (await fetch(`${base}/jobs/leaker`)).text();
    assert.match(leaker, /<pre class="output"[^>]*>\[redacted\]\n<\/pre>/, "the leaker's output tail, scrubbed");
    const holder = await (await fetch(`${base}/jobs/holder`)).text();
    assert.match(holder, /&#34;UPSTREAM_KEY&#34;: &#34;\[redacted\]&#34;/, "the holder's definition, its environment hidden");
    const status = await (await fetch(`${base}/`)).text();
    // (needs-pg's own command line holds PGPASSWORD's value, as its file says: not a secret of the agent's page.)
    for (const [name, page] of Object.entries({ leaker, holder, status })) {
      assert.doesNotMatch(page, new RegExp([SHARED, ...Object.values(AGENT_ENV).map((v) => v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))].join('|')), name);
    }
  });
});

describe("a job file's ${VAR} and the agent's own settings", () => {
  it('cannot read JOBSD_* settings (a located error), but can read JOBSD_ENV', async () => {
    const dir = jobsDir({
      'steal.yaml': 'schedule: "@daily"\ntask:\n  type: http\n  url: "http://127.0.0.1:1/?t=${JOBSD_API_TOKEN}"\n',
      'label.yaml': 'schedule: "@daily"\ntask: { type: command, command: ["echo", "${JOBSD_ENV:-local}"] }\n',
    });
    const r = await runCli(['validate', dir], { env: { JOBSD_API_TOKEN: AGENT_ENV.JOBSD_API_TOKEN } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(
      r.stdout,
      `${dir}/steal.yaml:4:8: task.url: JOBSD_API_TOKEN is one of the agent's own settings, which job files cannot read: give the job the value in a variable of another name\n`,
    );
    assert.match(r.stderr, /1 valid job file, 1 invalid/);
  });
});
