// Reads a deployment's log (`GET …/deployments/{id}/logs[?follow=true][&step=…]`, plain text), following
// it while the deployment runs.
import { useEffect, useState } from 'react';
import { ApiError, API_BASE } from '../api/client.js';
import { readLines } from '../api/ndjson.js';
import { useSession } from './session.js';

/** Older lines are dropped past this, so a chatty build cannot exhaust the tab. */
const MAX_LINES = 5_000;

export interface LogStream {
  lines: string[];
  state: 'connecting' | 'following' | 'ended' | 'unavailable' | 'error';
  error?: string;
}

export function useLogStream(deploymentId: string | undefined, follow: boolean, step?: string): LogStream {
  const { client } = useSession();
  const [stream, setStream] = useState<LogStream>({ lines: [], state: 'connecting' });
  useEffect(() => {
    if (!deploymentId) return;
    const controller = new AbortController();
    setStream({ lines: [], state: 'connecting' });
    (async () => {
      const query = new URLSearchParams({ ...(follow ? { follow: 'true' } : {}), ...(step ? { step } : {}) }).toString();
      const res = await client.send(`${API_BASE}/deployments/${encodeURIComponent(deploymentId)}/logs${query ? `?${query}` : ''}`, {
        signal: controller.signal,
        stream: follow,
      });
      setStream((s) => ({ ...s, state: 'following' }));
      let batch: string[] = [];
      let flushTimer: number | undefined;
      const flush = () => {
        flushTimer = undefined;
        const added = batch;
        batch = [];
        setStream((s) => ({ ...s, lines: [...s.lines, ...added].slice(-MAX_LINES) }));
      };
      for await (const line of readLines(res.body!, controller.signal)) {
        batch.push(line);
        flushTimer ??= window.setTimeout(flush, 50);
      }
      window.clearTimeout(flushTimer);
      flush();
      setStream((s) => ({ ...s, state: 'ended' }));
    })().catch((err: unknown) => {
      if (controller.signal.aborted) return;
      if (err instanceof ApiError && err.code === 404) setStream({ lines: [], state: 'unavailable' });
      else setStream((s) => ({ ...s, state: 'error', error: err instanceof ApiError ? err.message : 'The log stream broke.' }));
    });
    return () => controller.abort();
  }, [client, deploymentId, follow, step]);
  return stream;
}
