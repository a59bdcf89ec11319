// deploy/: the systemd unit passes systemd-analyze (verify, and an exposure of 3.0 or lower), and the
// Kubernetes and compose files hold what running jobsd safely needs. Docker itself cannot run here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { NODE_FLAGS } from '../../src/cli/node-flags.ts';
import { ROOT } from '../helpers/cli.ts';

const DEPLOY = path.join(ROOT, 'deploy');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

/** The unit as shipped, with ExecStart's node pointed at this machine's when /usr/bin/node is missing. */
function unitFile(): string {
  const text = readFileSync(path.join(DEPLOY, 'systemd', 'jobsd.service'), 'utf8');
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-unit-'));
  const file = path.join(dir, 'jobsd.service');
  writeFileSync(file, existsSync('/usr/bin/node') ? text : text.replace('/usr/bin/node', process.execPath));
  return file;
}

describe('systemd unit', () => {
  it('passes systemd-analyze verify', () => {
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', unitFile()], { encoding: 'utf8' });
    assert.equal(r.error, undefined, 'systemd-analyze is installed (.ci/run installs systemd)');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings');
  });

  it('rates an exposure of 3.0 or lower in systemd-analyze security', (t) => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitFile()], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for jobsd\.service: ([\d.]+)/.exec(r.stdout)?.[1]);
    t.diagnostic(`systemd-analyze security: exposure ${score}`);
    assert.ok(score <= 3.0, `exposure ${score}:\n${r.stdout}`);
  });

  it('sets what the agent needs to stop cleanly and what the hardening asks for', () => {
    const text = readFileSync(path.join(DEPLOY, 'systemd', 'jobsd.service'), 'utf8');
    const value = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);
    assert.deepEqual(value('User'), ['jobsd']);
    assert.deepEqual(value('KillMode'), ['mixed']);
    assert.ok(Number.parseInt(value('TimeoutStopSec')[0]!, 10) > 30, 'longer than the 30 s grace period');
    for (const key of ['NoNewPrivileges', 'PrivateTmp', 'ProtectHome']) assert.deepEqual(value(key), ['yes'], key);
    assert.deepEqual(value('ProtectSystem'), ['strict']);
    assert.deepEqual(value('ReadWritePaths'), ['/var/lib/jobsd']);
    assert.ok(value('SystemCallFilter').includes('@system-service'));
    assert.deepEqual(value('Restart'), ['on-failure']);
    for (const key of ['MemoryMax', 'TasksMax', 'RestrictAddressFamilies']) assert.equal(value(key).length, 1, key);
  });
});

describe('Kubernetes manifests', () => {
  const docs = (name: string): Doc[] => parseAllDocuments(readFileSync(path.join(DEPLOY, 'kubernetes', name), 'utf8')).map((d) => d.toJS());
  const deployment = docs('deployment.yaml')[0];
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('a Deployment of two replicas with probes, a metrics port, resources and a locked-down security context', () => {
    assert.equal(deployment.kind, 'Deployment');
    assert.equal(deployment.spec.replicas, 2);
    assert.match(container.image, /jobsd/);
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
    assert.deepEqual(container.ports[0], { name: 'http', containerPort: 9464, protocol: 'TCP' });
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.ok(pod.terminationGracePeriodSeconds > 30, 'longer than the agent grace period');
  });

  it('jobs.d comes from a ConfigMap mounted as a directory (no subPath), secrets from a Secret', () => {
    const mount = container.volumeMounts.find((m: Doc) => m.mountPath === '/etc/jobsd/jobs.d');
    assert.ok(mount, 'jobs.d mounted');
    assert.equal(mount.subPath, undefined, 'subPath never updates');
    assert.equal(mount.readOnly, true);
    const volume = pod.volumes.find((v: Doc) => v.name === mount.name);
    assert.equal(volume.configMap.name, 'jobsd-jobs');
    assert.ok(container.volumeMounts.some((m: Doc) => m.mountPath === '/tmp'), 'a writable /tmp under a read-only root');
    assert.deepEqual(container.envFrom, [{ secretRef: { name: 'jobsd' } }]);
    const secret = docs('secret.yaml')[0];
    assert.equal(secret.kind, 'Secret');
    assert.ok('JOBSD_DATABASE_URL' in secret.stringData);
    const configMap = docs('configmap-jobs.yaml')[0];
    assert.equal(configMap.metadata.name, 'jobsd-jobs');
    const kustomization = parse(readFileSync(path.join(DEPLOY, 'kubernetes', 'kustomization.yaml'), 'utf8'));
    for (const resource of kustomization.resources) assert.ok(existsSync(path.join(DEPLOY, 'kubernetes', resource)), resource);
  });

  it('the ConfigMap holds valid job files', () => {
    const configMap = docs('configmap-jobs.yaml')[0];
    const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-cm-'));
    for (const [name, text] of Object.entries(configMap.data as Record<string, string>)) writeFileSync(path.join(dir, name), text);
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'jobsd.js'), 'validate', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

describe('compose file and Dockerfile', () => {
  const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true });

  it('PostgreSQL, VictoriaMetrics and two jobsd replicas sharing one jobs.d and one database', () => {
    const { services } = compose;
    assert.ok(services.postgres.image.startsWith('postgres:'));
    assert.ok(services.victoriametrics.image.startsWith('victoriametrics/victoria-metrics:'));
    for (const name of ['jobsd-a', 'jobsd-b']) {
      const s = services[name];
      assert.deepEqual(s.volumes, ['../jobs.d:/etc/jobsd/jobs.d:ro'], name);
      assert.equal(s.environment.JOBSD_DATABASE_URL, 'postgres://jobsd:jobsd@postgres:5432/jobsd');
      assert.equal(s.environment.VM_URL, 'http://victoriametrics:8428');
      assert.ok(s.healthcheck.test.join(' ').includes('/readyz'));
      assert.equal(s.depends_on.postgres.condition, 'service_healthy');
    }
  });

  it('the Dockerfile: multi-stage on Node 24, production dependencies, non-root, tini, health check, volumes', () => {
    const text = readFileSync(path.join(DEPLOY, 'docker', 'Dockerfile'), 'utf8');
    assert.equal((text.match(/^FROM node:24/gm) ?? []).length, 2);
    assert.match(text, /npm ci --omit=dev/);
    assert.match(text, /^USER node$/m);
    assert.match(text, /ENTRYPOINT \["\/usr\/bin\/tini", "--"/);
    assert.match(text, /^HEALTHCHECK .*\n.*\/healthz/m);
    assert.match(text, /VOLUME \["\/etc\/jobsd\/jobs\.d", "\/var\/lib\/jobsd"\]/);
    assert.match(text, /JOBSD_JOBS_DIR=\/etc\/jobsd\/jobs\.d/);
    for (const copied of ['bin', 'src', 'schemas']) assert.match(text, new RegExp(`^COPY ${copied} `, 'm'));
  });

  it('the build context (.dockerignore) lets in what the Dockerfile copies, and keeps node_modules and .git out', () => {
    const dockerfile = readFileSync(path.join(DEPLOY, 'docker', 'Dockerfile'), 'utf8');
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.equal(ignore[0], '*', '.dockerignore starts by leaving everything out, then lets in what the image needs');
    const allowed = new Set(ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1)));
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].map((m) => m[1]!.trim().split(/\s+/).slice(0, -1));
    assert.ok(copies.length >= 4, 'the Dockerfile copies the package files, bin, src, schemas and jobs.d');
    for (const source of copies.flat()) assert.ok(allowed.has(source.replace(/\/$/, '')), `.dockerignore lets in ${source} (the Dockerfile copies it)`);
    for (const kept of ['node_modules', '.git', 'test']) assert.ok(!allowed.has(kept), `.dockerignore keeps ${kept} out`);
  });
});

describe('launchers', () => {
  it('every launcher passes the agent its V8 flags (they cannot be set from inside the process)', () => {
    const read = (...p: string[]) => readFileSync(path.join(ROOT, ...p), 'utf8');
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const launchers: Record<string, string> = {
      'npm start': scripts.start!,
      'npm run jobsd': scripts.jobsd!,
      'bin/jobsd.js shebang': read('bin', 'jobsd.js').split('\n')[0]!,
      Dockerfile: /^ENTRYPOINT .*$/m.exec(read('deploy', 'docker', 'Dockerfile'))?.[0] ?? '',
      'systemd unit': /^ExecStart=.*$/m.exec(read('deploy', 'systemd', 'jobsd.service'))?.[0] ?? '',
    };
    for (const [name, line] of Object.entries(launchers)) {
      for (const flag of NODE_FLAGS) assert.ok(line.includes(flag), `${name} passes ${flag}: ${line}`);
    }
  });

  it('bin/jobsd.js runs through its shebang (env -S node with the flags)', () => {
    const r = spawnSync(path.join(ROOT, 'bin', 'jobsd.js'), ['validate', path.join(ROOT, 'jobs.d')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /9 valid job files|valid job files/);
  });
});
