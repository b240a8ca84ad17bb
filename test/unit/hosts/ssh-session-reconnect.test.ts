// The session's reconnect schedule, driven by an injected clock and random source against a real
// loopback port that refuses connections: no sleeping, no host needed.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import ssh2 from 'ssh2';
import type { Clock } from '../../../hosts/clock.js';
import { ConnectionRefused, SessionClosed } from '../../../hosts/errors.js';
import { SshSession, type SessionStateChange } from '../../../hosts/ssh-session.js';

class ManualClock implements Clock {
  #now = 0;
  #timers: Array<{ at: number; callback: () => void; id: number }> = [];
  #next = 0;

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.#next;
    this.#timers.push({ at: this.#now + ms, callback, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Delays of the timers pending now, relative to now. */
  pending(): number[] {
    return this.#timers.map((t) => t.at - this.#now);
  }

  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    due.forEach((t) => t.callback());
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const waitForState = (changes: SessionStateChange[], count: number) =>
  new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const poll = () => {
      if (changes.length >= count) resolve();
      else if (Date.now() > deadline) reject(new Error(`only ${changes.length} state changes`));
      else setTimeout(poll, 5);
    };
    poll();
  });

describe('SshSession reconnect schedule', () => {
  it('retries a refused connection after full-jitter delays that double up to the cap', async () => {
    const clock = new ManualClock();
    const port = await closedPort();
    const key = ssh2.utils.generateKeyPairSync('ed25519').private;
    const session = new SshSession(
      { server: 'edge-1', host: '127.0.0.1', port, user: 'deploy', privateKey: key },
      { clock, random: () => 0.5, reconnect: { baseMs: 100, capMs: 300 } },
    );
    const changes: SessionStateChange[] = [];
    session.onStateChange((change) => changes.push(change));

    await assert.rejects(session.connect(), ConnectionRefused);
    const retries: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      await waitForState(changes, attempt * 2);
      const reconnecting = changes[attempt * 2 - 1]!;
      assert.equal(reconnecting.state, 'reconnecting');
      assert.ok(reconnecting.error instanceof ConnectionRefused);
      assert.equal(reconnecting.failures, attempt);
      retries.push(reconnecting.retryInMs!);
      assert.deepEqual(clock.pending(), [reconnecting.retryInMs]);
      clock.advance(reconnecting.retryInMs!);
    }
    // Half of 100, 200, then the 300 cap.
    assert.deepEqual(retries, [50, 100, 150, 150]);
    assert.deepEqual(changes.slice(0, 4).map((c) => c.state), ['connecting', 'reconnecting', 'connecting', 'reconnecting']);

    // While waiting out a delay, operations fail at once with the last error instead of queueing.
    await waitForState(changes, 10);
    await assert.rejects(session.run('noop', async () => 1), ConnectionRefused);

    await session.close();
    assert.deepEqual(clock.pending(), [], 'no retry left behind');
    await assert.rejects(session.run('noop', async () => 1), SessionClosed);
  });

  it('does not retry when reconnecting is off', async () => {
    const clock = new ManualClock();
    const key = ssh2.utils.generateKeyPairSync('ed25519').private;
    const session = new SshSession(
      { server: 'edge-1', host: '127.0.0.1', port: await closedPort(), user: 'deploy', privateKey: key },
      { clock, reconnect: false },
    );
    await assert.rejects(session.connect(), ConnectionRefused);
    assert.equal(session.state, 'failed');
    assert.deepEqual(clock.pending(), []);
  });
});
