// The spawn helper (src/workers/spawner.ts): the process that forks the agent's commands, off its event
// loop. What a command sees and what the run reports are the same as when the agent forks it (the command
// tests run both ways, test/helpers/spawn-paths.ts); these are the helper's own cases: it is the parent,
// output of any size arrives whole, a helper that dies takes its commands with it and is replaced, and an
// agent that dies takes the helper and every command it forked.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it, type TestContext } from 'node:test';
import { runCommand } from '../../src/workers/command.ts';
import { processAlive, signalGroup } from '../../src/workers/process-group.ts';
import { Spawner } from '../../src/workers/spawner.ts';
import { commandJob, memoryLogger, runContext } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';

function commOf(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/**
 * An agent of its own (no lease watchdog there): a Spawner with one helper, a command running due now
 * (`sleep 300 &` in its group) and one held at its gate. Its pids: the helper's, the two commands', the
 * background sleep's. Faults are injected from outside, as the fault tests do.
 */
async function startAgentScript(t: TestContext): Promise<{ agent: ChildProcess; pids: Record<string, number> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-spawner-agent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'agent.mjs');
  const src = (file: string) => JSON.stringify(pathToFileURL(path.resolve(import.meta.dirname, '../../src', file)).href);
  writeFileSync(
    script,
    `import { Spawner } from ${src('workers/spawner.ts')};
import { createLogger } from ${src('log.ts')};
const spawner = new Spawner(createLogger({ level: 'silent' }), 1);
if (!(await spawner.ready())) throw new Error('no helper');
const env = { PATH: process.env.PATH };
const running = spawner.spawn({ file: '/bin/sh', args: ['-c', 'sleep 300 & echo $!; wait'], cwd: '/tmp', env, gate: false });
const held = spawner.spawn({ file: '/bin/sh', args: ['-c', 'read -r _ <&3 || exit 125; exec "$@" 3<&-', 'jobsd-gate', 'sleep', '300'], cwd: '/tmp', env, gate: true });
const background = new Promise((resolve) => {
  let out = '';
  running.stdout.on('data', (chunk) => (out += chunk).endsWith('\\n') && resolve(Number(out)));
});
const [pid] = await Promise.all([background, new Promise((resolve) => held.once('spawn', resolve))]);
console.log(JSON.stringify({ helper: running.helperPid, running: running.pid, background: pid, held: held.pid }));
setInterval(() => {}, 1000);
`,
  );
  const agent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    agent.kill('SIGCONT');
    agent.kill('SIGKILL');
  });
  let out = '';
  agent.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const pids = await pollUntil(() => (out.includes('\n') ? (JSON.parse(out) as Record<string, number>) : undefined), { timeoutMs: 10_000, what: 'the pids' });
  t.after(() => {
    for (const pid of [pids.running, pids.held, pids.background]) if (pid) signalGroup(pid, 'SIGKILL'); // left over by a failure
  });
  for (const [what, pid] of Object.entries(pids)) assert.equal(await processAlive(pid), true, `${what} runs`);
  assert.equal(commOf(pids.helper!), 'jobsd-spawner');
  return { agent, pids };
}

describe('the spawn helper', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  const { logger, entries } = memoryLogger();
  const spawner = new Spawner(logger);
  before(async () => assert.equal(await spawner.ready(), true));
  after(() => spawner.stop());

  it('is the parent of the commands it forks, which run as they would when the agent forks them', async () => {
    const def = commandJob({ task: { command: ['sh', '-c', 'cat /proc/$PPID/comm; pwd; echo "$GREETING"; exit 4'], cwd: '/tmp', env: { GREETING: 'hello there' } } });
    const result = await runCommand(def, runContext({ spawner, logger }));
    assert.equal(result.status, 'failed');
    assert.equal(result.message, 'exit code 4');
    assert.equal(result.details.output_tail, 'jobsd-spawner\n/tmp\nhello there\n');
    const started = entries.find((e) => e.msg === 'command started' && e.pid === result.details.pid);
    assert.equal(typeof started?.spawn_helper, 'number');
    assert.equal(commOf(Number(started!.spawn_helper)), 'jobsd-spawner');
  });

  it('hands over output of any size whole and in order, stdout and stderr apart', async () => {
    // 40 MB on stdout, far past what the helper reads ahead of the agent (1 MiB), and a line on stderr.
    const script = 'seq 1 5000000; echo done >&2';
    const expected = createHash('sha256').update(spawnSync('sh', ['-c', 'seq 1 5000000'], { maxBuffer: 1 << 30 }).stdout).digest('hex');
    const child = spawner.spawn({ file: '/bin/sh', args: ['-c', script], cwd: '/tmp', env: { PATH: process.env.PATH }, gate: false });
    const hash = createHash('sha256');
    child.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await Promise.all([new Promise((resolve) => child.stdout.once('close', resolve)), new Promise((resolve) => child.stderr.once('close', resolve))]);
    assert.equal(await exited, 0);
    assert.equal(hash.digest('hex'), expected);
    assert.equal(stderr, 'done\n');
    assert.equal(child.helperPid !== undefined, true, 'forked by the helper');
  });

  it('a helper killed while its command runs: the command group is killed, the run ends killed by SIGKILL, a new helper forks the next', async () => {
    const { logger: runLogger, entries: runEntries } = memoryLogger();
    // A command with a child of its own in its group: both must go.
    const def = commandJob({ task: { command: ['sh', '-c', 'sleep 60 & echo $!; wait'] } });
    const running = runCommand(def, runContext({ spawner, logger: runLogger }));
    const started = await pollUntil(() => runEntries.find((e) => e.msg === 'command started'), { what: 'the command to start' });
    const background = Number(await pollUntil(() => runEntries.find((e) => e.stream === 'stdout')?.msg, { what: 'the background pid' }));
    const helperPid = Number(started.spawn_helper);
    process.kill(helperPid, 'SIGKILL');

    const result = await running;
    assert.equal(result.status, 'failed');
    assert.equal(result.message, 'killed by signal SIGKILL');
    assert.equal(await processAlive(Number(started.pid)), false, 'the command is gone');
    assert.equal(await processAlive(background), false, 'and the process it started in its group');
    assert.ok(entries.some((e) => e.msg === 'the spawn helper exited: the commands it had spawned are killed, and the next command starts a new helper' && e.commands_killed === 1));

    assert.equal(await spawner.ready(), true, 'a new helper starts');
    const next = await runCommand(commandJob({ task: { command: ['sh', '-c', 'cat /proc/$PPID/comm'] } }), runContext({ spawner, logger: runLogger }));
    assert.equal(next.status, 'succeeded');
    assert.equal(next.details.output_tail, 'jobsd-spawner\n');
    const nextStarted = runEntries.filter((e) => e.msg === 'command started').at(-1);
    assert.notEqual(nextStarted?.spawn_helper, helperPid);
  });

  it('a SIGUSR2 from outside (systemctl kill -s USR2 reaches every process of the unit) is not the agent dying: the helper and its commands go on', async (t) => {
    const first = spawner.spawn({ file: '/bin/sh', args: ['-c', 'exec sleep 60'], cwd: '/tmp', env: { PATH: process.env.PATH }, gate: false });
    await new Promise((resolve) => first.once('spawn', resolve));
    t.after(() => signalGroup(first.pid!, 'SIGKILL'));
    process.kill(first.helperPid!, 'SIGUSR2');
    // The next spawn goes through the same helper, after the signal was handled.
    const next = await runCommand(commandJob({ task: { command: ['true'] } }), runContext({ spawner, logger }));
    assert.equal(next.status, 'succeeded');
    assert.equal(await processAlive(first.helperPid!), true, 'the helper runs');
    assert.equal(await processAlive(first.pid!), true, 'its command runs');
  });

  it('an agent killed: its helper kills every command it forked, held or running, and what each started in its group', async (t) => {
    // The agent is a process of its own here (no lease watchdog), SIGKILLed as the fault tests do it.
    const { agent, pids } = await startAgentScript(t);
    agent.kill('SIGKILL');
    for (const [what, pid] of Object.entries(pids)) await pollUntil(async () => !(await processAlive(pid)), { timeoutMs: 5_000, what: `${what} (${pid}) to end with the agent` });
  });

  it('a helper killed while its agent is paused: the command it forked due now ends at once, and its group when the agent resumes', async (t) => {
    // The agent may not even know the command's pid yet (its answer still in the channel): the command's
    // death signal, not the agent, ends it. The held command's gate closes with the helper.
    const { agent, pids } = await startAgentScript(t);
    agent.kill('SIGSTOP');
    process.kill(pids.helper!, 'SIGKILL');
    for (const what of ['running', 'held'] as const) await pollUntil(async () => !(await processAlive(pids[what]!)), { timeoutMs: 5_000, what: `${what} (${pids[what]}) to end with the helper, the agent paused` });
    agent.kill('SIGCONT');
    await pollUntil(async () => !(await processAlive(pids.background!)), { timeoutMs: 5_000, what: 'the background sleep, killed with its group by the agent' });
  });
});
