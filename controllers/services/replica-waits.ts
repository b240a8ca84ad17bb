// The rollout's waits for containers: until a replica is ready (its readiness probe, Docker's
// healthcheck, or at least up a moment without a restart), or until a one-shot replica completed.
// Each look is judged by core/deploy/rollout-verdicts.ts; here are the looks, the probes and the log.
import { NEXT_SUFFIX } from '../../core/deploy/container-spec.js';
import { containerState } from '../../core/deploy/normalise-live.js';
import { judgeReplicaLook, replicaWaitExpired, RolloutFailure, RUNNING_STABLE_MS } from '../../core/deploy/rollout-verdicts.js';
import type { Action } from '../../core/plan/types.js';
import { containerAddress, probeOnce } from './readiness-probe.js';
import { PROGRESS_EVERY_MS, type RolloutRun } from './rollout-run.js';

export async function waitHealthy(run: RolloutRun, action: Extract<Action, { type: 'wait-healthy' }>, signal: AbortSignal): Promise<void> {
  const { docker } = run.deps.host;
  const until = run.now() + action.deadlineSeconds * 1000;
  const probe = action.readiness;
  let attempts = 0;
  let consecutiveFailures = 0;
  let lastDetail = '';
  let lastLogged = 0;
  let runningSince: { startedAt?: string; at: number } | undefined;
  const deadlineIn = () => `deadline in ${Math.max(0, Math.ceil((until - run.now()) / 1000))} s`;
  const progress = async (line: string, force = false) => {
    if (!force && run.now() - lastLogged < PROGRESS_EVERY_MS) return;
    await run.log('health', `${line}; ${deadlineIn()}`);
    lastLogged = run.now();
  };
  if (probe?.startPeriodSeconds) {
    await run.log('health', `${action.target}: waiting the start period of ${probe.startPeriodSeconds} s before the first probe`);
    await run.sleep(Math.min(probe.startPeriodSeconds * 1000, Math.max(0, until - run.now())), signal);
  }
  for (;;) {
    await run.checkCanceled();
    const inspect = await docker.inspectContainer(action.target, { signal });
    const lastHealthOutput = (inspect.State?.Health as { Log?: Array<{ Output?: string }> } | undefined)?.Log?.at(-1)?.Output;
    const state = containerState(inspect);
    // Started by this rollout and never restarted by Docker since: it has been up since its start
    // returned, so the stability window counts from then, not from this first look (which may come
    // a second later on a busy host).
    const startedHere = run.startedAt(action.target);
    if (!runningSince && startedHere !== undefined && state.running && state.restartCount === 0) runningSince = { startedAt: state.startedAt, at: startedHere };
    const verdict = judgeReplicaLook({ target: action.target, check: action.check, probed: !!probe, state, lastHealthOutput, now: run.clock(), runningSince });
    switch (verdict.kind) {
      case 'failed':
        if (verdict.logTail) await logTail(run, action.target, signal);
        throw verdict.failure;
      case 'ready':
        await run.log('health', verdict.line);
        return;
      case 'restarting':
      case 'pending':
        await progress(verdict.line);
        break;
      case 'stabilising': {
        runningSince = verdict.runningSince;
        // One look when the window ends is enough: a restart in between changes StartedAt, an exit
        // leaves it not running; either is judged then.
        await run.sleep(Math.max(50, Math.min(runningSince.at + RUNNING_STABLE_MS, until) - run.now()), signal);
        const expired = replicaWaitExpired({ target: action.target, deadlineSeconds: action.deadlineSeconds, now: run.now(), until, consecutiveFailures, stabilising: true });
        if (expired) throw expired;
        continue;
      }
      case 'probe': {
        const address = containerAddress(inspect);
        const result = address ? await probeOnce(probe!, address, (a, p, s) => run.deps.host.connectFromHost(a, p, s), signal) : { ok: false, detail: 'the container has no address on a Docker network' };
        // A start-first replacement is probed under its temporary name; the record follows the final one.
        run.deps.onProbe?.(action.target.replace(new RegExp(`${NEXT_SUFFIX}$`), ''), inspect.State?.StartedAt, probe!, result);
        attempts++;
        if (result.ok) {
          await run.log('health', `${action.target} is ready: probe ${attempts} passed: ${result.detail}`);
          return;
        }
        consecutiveFailures++;
        await progress(`${action.target}: probe ${attempts} failed: ${result.detail}`, result.detail !== lastDetail);
        lastDetail = result.detail;
        break;
      }
    }
    const expired = replicaWaitExpired({ target: action.target, deadlineSeconds: action.deadlineSeconds, now: run.now(), until, probe, consecutiveFailures, lastDetail });
    if (expired) throw expired;
    await run.sleep(Math.min((probe?.intervalSeconds ?? 1) * 1000, Math.max(50, until - run.now())), signal);
  }
}

export async function waitCompleted(run: RolloutRun, action: Extract<Action, { type: 'wait-completed' }>, signal: AbortSignal): Promise<void> {
  const result = await run.deps.host.docker.waitContainer(action.target, 'not-running', { signal, timeoutMs: action.deadlineSeconds * 1000 });
  if (result.StatusCode !== 0) throw new RolloutFailure('ContainerFailed', `${action.target} exited with code ${result.StatusCode}`);
  await run.log('health', `${action.target} completed`);
}

/** The last 20 lines a container wrote, into the deployment log (the store redacts secret values). */
async function logTail(run: RolloutRun, container: string, signal: AbortSignal): Promise<void> {
  const logs = await run.deps.host.docker.containerLogs(container, { tail: 20 }, { signal }).catch(() => undefined);
  if (logs) await run.log('health', `${container} logs:\n${logs.stdout}${logs.stderr}`);
}
