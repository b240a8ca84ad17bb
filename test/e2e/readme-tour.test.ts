// The README's five-minute tour, run as written against `holdfast serve` and the test hosts, so it
// cannot drift from what the CLI does. Each command of the tour's block runs in bash at a terminal
// (`script`, answering yes to a question, as the reader would), with `holdfast` the built CLI, a HOME
// holding the test host's key as ~/.ssh/id_ed25519, a copy of examples/ as the working directory and
// `docker` talking to the host. The only substitutions are the placeholders a reader fills in: the
// server's address and user, and a deployment id. The block must list exactly the commands below:
// a change to the tour fails here until this table says what the new command should do.
// test-hosts: first (the examples pin hosts 1 and 2)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../core/package-root.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';

interface Step {
  /** The command as the README has it (its trailing comment removed). */
  command: string;
  /** Not run: what the test set-up does instead. */
  skip?: string;
  /** Exit codes that are right. */
  codes?: number[];
  /** What the output must say. */
  says?: RegExp;
  /** Runs until it has printed something and is stopped after this long (a --follow that never ends). */
  stopAfterMs?: number;
  /** Tried again until its exit code is right, for this long (a change on the host takes a moment to show). */
  retryForMs?: number;
}

const TOUR: Step[] = [
  { command: 'make run &', skip: 'the test starts holdfast serve itself' },
  { command: 'alias holdfast="$PWD/bin/holdfast.js"', skip: 'holdfast is a shell function calling the built CLI' },
  { command: 'holdfast server add --name edge-1 --host 10.0.0.5 --ssh-user deploy --ssh-key ~/.ssh/id_ed25519 --yes', says: /edge-1/ },
  { command: 'holdfast status', codes: [0, 1], says: /edge-1/ },
  { command: 'holdfast describe server edge-1', says: /Docker/i },
  { command: 'holdfast access-assets ssh-key create --name deploy-key --private-key-file ~/.ssh/id_ed25519', says: /sshkey\.holdfast\.dev\/deploy-key created/ },
  { command: 'holdfast apply -R -f examples/manifests --wait', says: /service\.holdfast\.dev\/web created/ },
  { command: 'holdfast apply -R -f examples/manifests', says: /unchanged/ },
  { command: 'holdfast get services -n shop -o wide', says: /^web\s/m },
  { command: 'holdfast describe service web -n shop', says: /Conditions/i },
  { command: "sed -i 's/value: hello/value: bonjour/' examples/manifests/shop/web.yaml" },
  { command: 'holdfast diff -R -f examples/manifests', codes: [1], says: /bonjour/ },
  { command: 'holdfast apply -R -f examples/manifests --wait', says: /service\.holdfast\.dev\/web configured/ },
  { command: 'holdfast rollout history service/web -n shop', says: /completed/ },
  { command: 'holdfast logs --deployment <ID> --follow', says: /start|health/ },
  { command: 'holdfast logs service/web -n shop -f --tail 50', stopAfterMs: 6_000 },
  { command: 'holdfast rollout undo service/web -n shop', says: /revision/ },
  { command: 'holdfast rollout status service/web -n shop', says: /completed|rolled out|successfully/i },
  { command: 'docker stop hf_shop_production_web_1' },
  { command: 'holdfast drift -A', codes: [1], says: /web/, retryForMs: 15_000 },
  { command: 'holdfast diff service/web -n shop --live', codes: [1] },
  { command: 'holdfast sync service/web -n shop', says: /web/ },
  { command: "printf 'apiVersion: holdfast.dev/v1alpha1\\nkind: Service\\nmetadata: {name: Bad_Name, namespace: shop}\\nspec: {replcas: 2}\\n' | holdfast apply -f -", codes: [1], says: /<stdin>: document 1: metadata\.name: invalid name "Bad_Name"/ },
  { command: 'holdfast secret set db password=s3cret -n shop' },
  { command: 'holdfast token create --name ci --scopes service:read,deploy:start --expires 30d', says: /hft_/ },
  { command: 'holdfast get events -A' },
  { command: 'holdfast audit --since 1h' },
  { command: 'holdfast delete -R -f examples/manifests', says: /deleted/ },
];

/** The commands of the README's tour block, comments and sample output left out. */
function tourCommands(): string[] {
  const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A five-minute tour'));
  const block = section.slice(section.indexOf('```sh\n') + 6, section.indexOf('\n```', section.indexOf('```sh\n')));
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    // A trailing comment is two spaces or more and a #; no command of the tour has a # of its own.
    .map((line) => line.replace(/\s{2,}#.*$/, '').trim());
}

interface Ran {
  code: number | null;
  output: string;
}

describe('the README tour, run as written', { timeout: 900_000 }, () => {
  let serve: ServeProcess;
  let host: TestHost;
  let work: string;
  let home: string;

  /**
   * Runs a line in bash: a tour line at a terminal, answering "y" (output with terminal line ends
   * undone), the test's own lines without one.
   */
  const runLine = (line: string, opts: { stopAfterMs?: number; terminal?: boolean } = {}): Promise<Ran> =>
    new Promise((resolve, reject) => {
      const prelude = [
        `holdfast() { node ${JSON.stringify(join(packageRoot(), 'bin', 'holdfast.js'))} "$@"; }`,
        `docker() { command docker -H ${JSON.stringify(`unix://${host.dockerSocket}`)} "$@"; }`,
      ].join('\n');
      const script = `${prelude}\n${line}`;
      const terminal = opts.terminal ?? true;
      const [command, args] = terminal ? ['script', ['--quiet', '--return', '--command', `bash -c ${shellQuote(script)}`, '/dev/null']] : ['bash', ['-c', script]];
      const child = spawn(command, args, {
        cwd: work,
        env: { ...process.env, HOME: home, HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token, TERM: 'dumb', NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      // At a terminal stdin stays open, as a reader's would; `script` ends with the command.
      if (terminal) child.stdin.write('y\n');
      else child.stdin.end();
      const limit = setTimeout(() => child.kill('SIGKILL'), opts.stopAfterMs ?? 300_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(limit);
        resolve({ code, output: output.replace(/\r\n/g, '\n') });
      });
    });

  before(async () => {
    const hosts = await loadTestHosts({ count: 2 });
    host = testHost(hosts, 2);
    serve = await startServeProcess({ env: { SERVER_READINESS_POLL_INTERVAL_MS: '2000' } });
    work = mkdtempSync(join(tmpdir(), 'holdfast-tour-'));
    cpSync(join(packageRoot(), 'examples'), join(work, 'examples'), { recursive: true });
    home = join(work, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(host.privateKeyPath, join(home, '.ssh', 'id_ed25519'));
  });
  after(async () => {
    const quiet = { terminal: false };
    const names = await runLine('docker ps -aq --filter label=holdfast.dev/project=shop', quiet).catch(() => ({ output: '' }) as Ran);
    for (const id of names.output.split('\n').filter(Boolean)) await runLine(`docker rm -f ${id}`, quiet).catch(() => undefined);
    await runLine('docker volume rm hf_shop_production_web_data', quiet).catch(() => undefined);
    await serve?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('lists the commands this test knows, in order', () => {
    assert.deepEqual(tourCommands(), TOUR.map((s) => s.command));
  });

  it('runs every command of the tour with the result it promises', async () => {
    for (const step of TOUR) {
      if (step.skip) continue;
      let line = step.command.replace('--host 10.0.0.5', `--host ${host.address}`).replace('--ssh-user deploy', `--ssh-user ${host.user}`);
      if (line.includes('<ID>')) {
        const history = JSON.parse((await runLine('holdfast rollout history service/web -n shop -o json', { terminal: false })).output) as { items: Array<{ id: string; revision: number }> };
        const newest = history.items.sort((a, b) => b.revision - a.revision)[0];
        line = line.replace('<ID>', newest.id);
      }
      const codes = step.codes ?? [0];
      const deadline = Date.now() + (step.retryForMs ?? 0);
      let ran = await runLine(line, { stopAfterMs: step.stopAfterMs });
      while (!codes.includes(ran.code ?? -1) && Date.now() < deadline) {
        await new Promise((ok) => setTimeout(ok, 1000));
        ran = await runLine(line, { stopAfterMs: step.stopAfterMs });
      }
      if (step.stopAfterMs) assert.notEqual(ran.code, 1, `${line}: ended with an error before it was stopped\n${ran.output}`);
      else assert.ok(codes.includes(ran.code ?? -1), `${line}: exit ${ran.code}, want ${codes.join(' or ')}\n${ran.output}`);
      if (step.says) assert.match(ran.output, step.says, `${line}: output\n${ran.output}`);
    }
  });
});

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
