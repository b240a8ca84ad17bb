// What the backup tests on a real host share: a control plane on PGlite, a Server for test host 2,
// one deployed Service in its own Project (more when a test deploys them), a destination directory of
// its own, and the calls the tests make on BackupPolicies; `stop` removes the Services' containers,
// their volumes and the destination directory. Scratch objects of restore tests an interrupted earlier run of the same
// Project left are removed first (only the Project's: other files may be testing on the host).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { startTestControlPlane, type TestControlPlane } from './control-plane.js';
import { createFleet } from './fleet.js';
import { loadTestHosts, readPrivateKey, testHost, type TestHost } from './testhosts.js';
import { until } from './until.js';

const run = promisify(execFile);
const G = '/apis/holdfast.dev/v1alpha1';
const RESTORE_TEST_LABEL = 'holdfast.dev/restore-test';

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface BackupTestbedOptions {
  /** The Project, also the prefix of every name the testbed makes. */
  project: string;
  service: string;
  /** The Service's spec; environment and server are set by the testbed. */
  serviceSpec: (host: TestHost) => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Secrets the Service's env refers to, made before it. */
  secrets?: Record<string, Record<string, string>>;
}

export interface BackupTestbed {
  cp: TestControlPlane;
  host: TestHost;
  project: string;
  server: string;
  /** The Service's (only) container. */
  container: string;
  /** The policies' default destination directory. */
  dest: string;
  /** docker against the test host's daemon; its stdout, trimmed. */
  docker: (...args: string[]) => Promise<string>;
  /**
   * Deploys another Service in the Project (on the first Service's server unless `on` names one
   * addServer made); returns its (only) container.
   */
  deployService: (name: string, spec: Record<string, unknown>, on?: ExtraServer) => Promise<string>;
  /** A Server for test host 3, named `<project>-edge3`; made once. */
  addServer: () => Promise<ExtraServer>;
  /** A shell script in the Service's container; its stdout, trimmed. */
  inContainer: (script: string, env?: Record<string, string>) => Promise<string>;
  policyPath: (name: string) => string;
  /**
   * A BackupPolicy for the Service: scheduled once a year (at new year: no scheduled run starts
   * while a test takes its own), to `dest` unless the spec names its destinations.
   */
  policy: (name: string, spec: Record<string, unknown>) => Record<string, unknown>;
  /** Creates `policy(name, spec)`. */
  createPolicy: (name: string, spec: Record<string, unknown>) => Promise<void>;
  createSecret: (name: string, stringData: Record<string, string>) => Promise<void>;
  status: (name: string) => Promise<Record<string, any>>;
  condition: (name: string, type: string) => Promise<Condition | undefined>;
  /** Waits until the policy's condition `type` has `reason`, and returns it. */
  conditionWith: (name: string, type: string, reason: string) => Promise<Condition>;
  events: () => Promise<Array<{ involvedObject: { name: string }; reason: string; message: string; type: string }>>;
  /** POST …/run: the backup taken now. */
  runPolicy: (name: string) => Promise<{ status: number; body: any }>;
  /** The ids of the scratch containers a restore test of the policy left (none: ''). */
  scratchLeft: (name: string) => Promise<string>;
  stop: () => Promise<void>;
}

export interface ExtraServer {
  server: string;
  host: TestHost;
  docker: (...args: string[]) => Promise<string>;
}

export async function startBackupTestbed(opts: BackupTestbedOptions): Promise<BackupTestbed> {
  const { project, service } = opts;
  const host = testHost(await loadTestHosts({ count: 2 }), 2);
  const server = `${project}-edge`;
  const container = `hf_${project}_production_${service}_1`;
  const dest = `/tmp/holdfast-${project}-backups-${randomBytes(4).toString('hex')}`;
  const dockerOn = (on: TestHost) => async (...args: string[]) => (await run('docker', ['-H', `unix://${on.dockerSocket}`, ...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
  const docker = dockerOn(host);
  const lines = (out: string) => out.split('\n').filter(Boolean);
  const ownScratch = async (kind: 'ps' | 'volume') => {
    const listed = kind === 'ps' ? await docker('ps', '-a', '--filter', `label=${RESTORE_TEST_LABEL}`, '--format', `{{.ID}} {{.Label "${RESTORE_TEST_LABEL}"}}`) : await docker('volume', 'ls', '--filter', `label=${RESTORE_TEST_LABEL}`, '--format', `{{.Name}} {{.Label "${RESTORE_TEST_LABEL}"}}`);
    return lines(listed).flatMap((line) => {
      const [id, label] = line.split(' ');
      return label?.startsWith(`${project}.`) ? [id] : [];
    });
  };
  const containers: Array<{ name: string; docker: typeof docker }> = [{ name: container, docker }];
  const removeLeftovers = async () => {
    for (const c of containers) await c.docker('rm', '-f', c.name).catch(() => undefined);
    for (const id of await ownScratch('ps')) await docker('rm', '-fv', id).catch(() => undefined);
    for (const v of await ownScratch('volume')) await docker('volume', 'rm', '-f', v).catch(() => undefined);
  };
  await removeLeftovers();

  const cp = await startTestControlPlane('pglite');
  const post = async (path: string, body: unknown) => {
    const res = await cp.call('POST', path, body);
    assert.equal(res.status, 201, `POST ${path}: ${JSON.stringify(res.body)}`);
  };
  const createSecret = (name: string, stringData: Record<string, string>) =>
    post(`${G}/namespaces/${project}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name, namespace: project }, spec: { stringData } });
  const stop = async () => {
    await cp.stop();
    await removeLeftovers();
    for (const d of new Set(containers.map((c) => c.docker))) {
      for (const v of lines(await d('volume', 'ls', '-q', '--filter', `name=hf_${project}_`).catch(() => ''))) await d('volume', 'rm', '-f', v).catch(() => undefined);
    }
    rmSync(dest, { recursive: true, force: true });
  };
  const deployService = async (name: string, spec: Record<string, unknown>, on?: ExtraServer) => {
    const own = `hf_${project}_production_${name}_1`;
    const at = on?.docker ?? docker;
    if (!containers.some((c) => c.name === own && c.docker === at)) {
      containers.push({ name: own, docker: at });
      await at('rm', '-f', own).catch(() => undefined);
    }
    await post(`${G}/namespaces/${project}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name, namespace: project },
      spec: { environment: 'production', server: on?.server ?? server, ...spec },
    });
    const deployed = await until(`${name} to deploy`, async () => {
      const items = (await cp.call('GET', `${G}/namespaces/${project}/services/${name}/deployments`)).body.items as Array<{ phase: string; message?: string }>;
      return items.find((d) => ['completed', 'failed', 'canceled'].includes(d.phase));
    });
    assert.equal(deployed.phase, 'completed', deployed.message);
    return own;
  };
  let extra: Promise<ExtraServer> | undefined;
  const addServer = () =>
    (extra ??= (async () => {
      const third = testHost(await loadTestHosts({ count: 3 }), 3);
      const name = `${project}-edge3`;
      await post(`${G}/sshkeys`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: `${name}-key` }, spec: { privateKey: readPrivateKey(third) } });
      await post(`${G}/servers`, {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'Server',
        metadata: { name },
        spec: { host: third.address, port: third.port, user: third.user, sshKeyRef: { name: `${name}-key` }, hostKeyFingerprint: third.hostKeyFingerprint },
      });
      return { server: name, host: third, docker: dockerOn(third) };
    })());
  try {
    await createFleet(cp, host, { project, server });
    for (const [name, stringData] of Object.entries(opts.secrets ?? {})) await createSecret(name, stringData);
    await deployService(service, await opts.serviceSpec(host));
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  const policy = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name, namespace: project },
    spec: { service, schedule: '0 0 1 1 *', ...(spec.destinations ? {} : { destination: { path: dest } }), ...spec },
  });
  const policyPath = (name: string) => `${G}/namespaces/${project}/backuppolicies/${name}`;
  const status = async (name: string) => ((await cp.call('GET', policyPath(name))).body as { status?: Record<string, any> }).status ?? {};
  const condition = async (name: string, type: string) => ((await status(name)).conditions as Condition[] | undefined)?.find((c) => c.type === type);
  return {
    cp,
    host,
    project,
    server,
    container,
    dest,
    docker,
    deployService,
    addServer,
    inContainer: (script, env = {}) => docker('exec', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), container, 'sh', '-c', script),
    policyPath,
    policy,
    createPolicy: (name, spec) => post(`${G}/namespaces/${project}/backuppolicies`, policy(name, spec)),
    createSecret,
    status,
    condition,
    conditionWith: (name, type, reason) => until(`${name} ${type} ${reason}`, async () => {
      const c = await condition(name, type);
      return c?.reason === reason ? c : undefined;
    }),
    events: async () => (await cp.call('GET', `${G}/namespaces/${project}/events`)).body.items,
    runPolicy: (name) => cp.call('POST', `${policyPath(name)}/run`, {}),
    scratchLeft: (name) => docker('ps', '-aq', '--filter', `label=${RESTORE_TEST_LABEL}=${project}.${name}`),
    stop,
  };
}
