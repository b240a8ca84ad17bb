// The kept SSH session against real sshd test hosts: first contact and pinning, typed connection
// failures, the per-host operation limit, operation timeouts, and shell exec over the session.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { SshCommandRunner } from '../../../hosts/exec.js';
import {
  AuthenticationFailed,
  CommandFailed,
  ConnectionRefused,
  ConnectTimeout,
  HostKeyMismatch,
  HostUnreachable,
  OperationAborted,
  OperationTimeout,
} from '../../../hosts/errors.js';
import { HostCounters } from '../../../hosts/observer.js';
import { SshSession, openExec } from '../../../hosts/ssh-session.js';
import { loadTestHosts, readPrivateKey, testHost, type TestHost, type TestHosts } from '../../support/testhosts.js';
import { DISRUPTED_HOST, sessionFor, uniqueName } from './fixtures.js';

let hosts: TestHosts;
let host: TestHost;
let other: TestHost;
const sessions: SshSession[] = [];
const track = (session: SshSession) => (sessions.push(session), session);

before(async () => {
  hosts = await loadTestHosts({ count: 2 });
  host = testHost(hosts, 2);
  other = testHost(hosts, 1);
});

after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
});

function unpinned(target: TestHost, options: ConstructorParameters<typeof SshSession>[1] = {}, overrides: { user?: string; privateKey?: string; port?: number; host?: string } = {}) {
  return track(
    new SshSession(
      {
        server: target.name,
        host: overrides.host ?? target.address,
        port: overrides.port ?? target.port,
        user: overrides.user ?? target.user,
        privateKey: overrides.privateKey ?? readPrivateKey(target),
      },
      { reconnect: false, ...options },
    ),
  );
}

describe('connecting', () => {
  it('reports the host key on first contact and enforces it from then on', async () => {
    const observed: string[] = [];
    const session = unpinned(host, { onHostKeyObserved: (fp) => observed.push(fp) });
    const states: string[] = [];
    session.onStateChange((change) => states.push(change.state));
    await session.connect();
    assert.deepEqual(observed, [host.hostKeyFingerprint]);
    assert.equal(session.hostKeyFingerprint, host.hostKeyFingerprint);
    assert.equal(session.state, 'connected');
    assert.deepEqual(states, ['connecting', 'connected']);
  });

  it('fails a pinned key that differs with HostKeyMismatch, before any authentication', async () => {
    // An unknown user too: had authentication run first, sshd would log it and the error would be an auth failure.
    const user = uniqueName('pin-check');
    const wrongPin = other.hostKeyFingerprint;
    const pinned = new SshSession(
      { server: host.name, host: host.address, port: host.port, user, privateKey: readPrivateKey(host), hostKeyFingerprint: wrongPin },
      { reconnect: false },
    );
    track(pinned);
    const error = await pinned.connect().then(
      () => assert.fail('connected despite a wrong pin'),
      (err: unknown) => err,
    );
    assert.ok(error instanceof HostKeyMismatch, `got ${String(error)}`);
    assert.equal(error.server, host.name);
    assert.equal(error.expected, wrongPin);
    assert.equal(error.actual, host.hostKeyFingerprint);
    assert.equal(error.transient, false);
    assert.equal(pinned.state, 'failed');
    const sshdLog = readFileSync(`${hosts.stateDir}/h${host.index}/sshd.log`, 'utf8');
    assert.doesNotMatch(sshdLog, new RegExp(user), 'sshd saw an authentication attempt');
  });

  it('fails a key the server does not accept with AuthenticationFailed', async () => {
    const stranger = ssh2.utils.generateKeyPairSync('ed25519');
    const session = unpinned(host, {}, { privateKey: stranger.private });
    const error = await session.connect().catch((err: unknown) => err);
    assert.ok(error instanceof AuthenticationFailed, `got ${String(error)}`);
    assert.equal(error.user, 'root');
    assert.match(error.message, new RegExp(`server ${host.name} \\(root@${host.address}:22\\)`));
    assert.equal(session.state, 'failed');
  });

  it('fails an unknown user with AuthenticationFailed', async () => {
    const session = unpinned(host, {}, { user: 'no-such-user' });
    const error = await session.connect().catch((err: unknown) => err);
    assert.ok(error instanceof AuthenticationFailed, `got ${String(error)}`);
    assert.equal(error.user, 'no-such-user');
  });

  it('fails an unusable private key without repeating it', async () => {
    const bogus = '-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LW1hcmtlci0xMjM0NQ==\n-----END OPENSSH PRIVATE KEY-----\n';
    const session = unpinned(host, {}, { privateKey: bogus });
    const error = await session.connect().catch((err: unknown) => err);
    assert.ok(error instanceof AuthenticationFailed, `got ${String(error)}`);
    assert.match(error.message, /private key unusable/);
    assert.doesNotMatch(error.message, /c2VjcmV0|BEGIN/);
  });

  it('fails a closed port quickly with ConnectionRefused', async () => {
    const started = Date.now();
    const session = unpinned(host, {}, { port: 2 });
    const error = await session.connect().catch((err: unknown) => err);
    assert.ok(error instanceof ConnectionRefused, `got ${String(error)}`);
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    assert.equal(error.transient, true);
  });

  it('times out on a port that accepts TCP but never speaks SSH, within the configured timeout', async () => {
    const held: Socket[] = [];
    const silent: Server = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const session = unpinned(host, { connectTimeoutMs: 1000 }, { host: '127.0.0.1', port });
      const error = await session.connect().catch((err: unknown) => err);
      const elapsed = Date.now() - started;
      assert.ok(error instanceof ConnectTimeout, `got ${String(error)}`);
      assert.equal(error.timeoutMs, 1000);
      assert.ok(elapsed >= 900 && elapsed < 2500, `took ${elapsed} ms`);
      assert.equal(held.length, 1, 'the TCP connection was made');
    } finally {
      held.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('fails an address no host answers with HostUnreachable', async () => {
    const session = unpinned(host, { connectTimeoutMs: 10_000 }, { host: '10.213.0.250' });
    const error = await session.connect().catch((err: unknown) => err);
    assert.ok(error instanceof HostUnreachable, `got ${String(error)}`);
    assert.match(error.message, /10\.213\.0\.250:22/);
  });
});

describe('operations on a kept session', () => {
  it('runs at most maxConcurrentOperations at once on a host', async () => {
    const session = track(sessionFor(host, { maxConcurrentOperations: 2 }));
    let running = 0;
    let peak = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 6 }, () =>
        session.run('sleep', async (client) => {
          running++;
          peak = Math.max(peak, running);
          const channel = await openExec(client, 'sleep 0.2');
          await new Promise((resolve) => channel.on('close', resolve).resume());
          running--;
        }),
      ),
    );
    assert.equal(peak, 2);
    assert.ok(Date.now() - started >= 550, 'six 200 ms operations two at a time take three rounds');
  });

  it('counts an operation\'s timeout from when it gets a slot, not while it waits for one', async () => {
    const session = track(sessionFor(host, { maxConcurrentOperations: 1, operationTimeoutMs: 1200 }));
    const sleepOnHost = (seconds: string) => async (client: Parameters<Parameters<typeof session.run>[1]>[0]) => {
      const channel = await openExec(client, `sleep ${seconds}`);
      await new Promise((resolve) => channel.on('close', resolve).resume());
      return seconds;
    };
    // Four 500 ms operations, one at a time: the last waits 1.5 s for its slot, longer than the
    // 1.2 s timeout, yet each runs well within it.
    const results = await Promise.all(['0.5', '0.5', '0.5', '0.5'].map((s) => session.run('sleep', sleepOnHost(s))));
    assert.deepEqual(results, ['0.5', '0.5', '0.5', '0.5']);
    // A caller's own signal still bounds the wait.
    const blocker = session.run('sleep', sleepOnHost('0.5'));
    const queued = session.run('sleep', sleepOnHost('0.01'), { signal: AbortSignal.timeout(100) }).catch((err: unknown) => err);
    assert.ok((await queued) instanceof OperationAborted, `got ${String(await queued)}`);
    await blocker;
  });

  it('fails an operation past its timeout with OperationTimeout, kills the remote command, and stays usable', async () => {
    const session = track(sessionFor(host));
    const commands = new SshCommandRunner(session);
    const marker = `9.${1000 + Math.floor(Math.random() * 9000)}`;
    const started = Date.now();
    const error = await commands.run(['sleep', marker], { timeoutMs: 300 }).catch((err: unknown) => err);
    assert.ok(error instanceof OperationTimeout, `got ${String(error)}`);
    assert.ok(Date.now() - started < 1500);
    assert.equal(error.timeoutMs, 300);
    // The test host shares this machine's process table, so the remote sleep is visible here. Under
    // load the command may start only after the timeout; give the runner time to kill it either way,
    // well short of the nine seconds it would live otherwise.
    const sleeping = () =>
      readdirSync('/proc').filter((pid) => {
        try {
          return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
        } catch {
          return false;
        }
      });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.deepEqual(sleeping(), [], 'the remote command was left running');
    const ok = await commands.run(['true']);
    assert.equal(ok.exitCode, 0);
  });

  it('fails an operation the caller cancels with OperationAborted', async () => {
    const session = track(sessionFor(host));
    const controller = new AbortController();
    const pending = new SshCommandRunner(session).run(['sleep', '5'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(pending, OperationAborted);
  });
});

describe('shell exec', () => {
  it('captures stdout, stderr and the exit code, feeds stdin, and keeps arguments intact', async () => {
    const counters = new HostCounters();
    const session = track(sessionFor(host));
    const commands = new SshCommandRunner(session, { observer: counters });
    const tricky = ["it's", '$(id)', 'a b', '', '*', 'ü'];
    const echoed = await commands.run(['printf', '%s|', ...tricky]);
    assert.equal(echoed.stdout, tricky.map((t) => `${t}|`).join(''));
    const failing = await commands.run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([failing.exitCode, failing.stdout, failing.stderr], [3, 'out\n', 'err\n']);
    const piped = await commands.run(['wc', '-c'], { stdin: 'twelve bytes' });
    assert.equal(piped.stdout.trim(), '12');
    const docker = await commands.run(['docker', 'version', '--format', '{{.Server.Version}}']);
    assert.equal(docker.exitCode, 0);
    assert.match(docker.stdout, /^\d+\.\d+/);
    assert.equal(counters.get(host.name).execs, 4);
  });

  it('keeps what login shell startup files print out of the command output', async () => {
    // On the host reserved for disruption: its root home is private to its sshd, shared by its sessions.
    const noisy = testHost(await loadTestHosts({ count: DISRUPTED_HOST }), DISRUPTED_HOST);
    const commands = new SshCommandRunner(track(sessionFor(noisy)));
    await commands.run(['sh', '-c', 'printf "echo noise from bashrc\n" > "$HOME/.bashrc"']);
    try {
      const probe = await commands.run(['sh', '-c', 'cat "$HOME/.bashrc"']);
      assert.match(probe.stdout, /noise from bashrc/, 'the startup file is in place');
      const result = await commands.run(['printf', 'only this']);
      assert.equal(result.stdout, 'only this');
    } finally {
      await commands.run(['rm', '-f', '/root/.bashrc']);
    }
  });

  it('keeps the exit status of fast commands, whose whole answer may arrive with the exec confirmation', async () => {
    const commands = new SshCommandRunner(track(sessionFor(host)));
    const codes: Array<number | null> = [];
    // Five at a time: sshd's MaxSessions (10) bounds the channels of one connection.
    for (let batch = 0; batch < 12; batch++) {
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => commands.run(['sh', '-c', `exit ${i % 4}`])));
      codes.push(...results.map((r) => r.exitCode));
    }
    assert.deepEqual(codes, Array.from({ length: 60 }, (_, i) => (i % 5) % 4));
  });

  it('streams stdin from a stream and stdout into one, with backpressure', async () => {
    const commands = new SshCommandRunner(track(sessionFor(host)));
    const data = Buffer.alloc(3 * 1024 * 1024, 'x');
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    // A slow reader: the command must wait for it rather than lose output.
    setTimeout(() => sink.on('data', (c: Buffer) => chunks.push(c)), 200);
    const result = await commands.run(['cat'], { stdin: Readable.from([data.subarray(0, 1000), data.subarray(1000)]), stdout: sink, timeoutMs: 30_000 });
    if (!sink.readableEnded) await new Promise((ok) => sink.once('end', ok).resume());
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout, '', 'streamed output is not also collected');
    assert.equal(Buffer.concat(chunks).length, data.length);
    const failing = new Readable({ read() {} });
    const run = commands.run(['cat'], { stdin: failing, timeoutMs: 30_000 });
    failing.push('partial');
    setTimeout(() => failing.destroy(new Error('source broke')), 100);
    await assert.rejects(run, (err: unknown) => err instanceof CommandFailed && /input failed: source broke/.test(err.message), 'a broken source does not look like a complete one');
  });

  it('caps captured output and says so', async () => {
    const session = track(sessionFor(host));
    const result = await new SshCommandRunner(session).run(['head', '-c', '100000', '/dev/zero'], { maxOutputBytes: 1000 });
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout.length, 1000);
    assert.equal(result.truncated, true);
  });
});
