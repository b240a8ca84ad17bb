// Reads a Service's container logs (`GET …/services/{name}/log?format=json[&follow=true]`, one JSON
// object a line with the replica it came from), following them while the containers run.
import { useEffect, useState } from 'react';
import { ApiError, API_BASE } from '../api/client.js';
import { readLines } from '../api/ndjson.js';
import { useSession } from './session.js';

/** Older lines are dropped past this, so a chatty container cannot exhaust the tab. */
const MAX_LINES = 5_000;
/** Lines shown when the view opens. */
const TAIL_LINES = 500;

export interface ContainerLogLine {
  /** `web-1`: the compose service (or the Service) and the replica. */
  label: string;
  stream: 'stdout' | 'stderr';
  time?: string;
  line: string;
}

export interface ContainerLogs {
  lines: ContainerLogLine[];
  state: 'connecting' | 'following' | 'ended' | 'error';
  error?: string;
}

export function useContainerLogs(namespace: string, name: string, follow: boolean): ContainerLogs {
  const { client } = useSession();
  const [logs, setLogs] = useState<ContainerLogs>({ lines: [], state: 'connecting' });
  useEffect(() => {
    const controller = new AbortController();
    setLogs({ lines: [], state: 'connecting' });
    (async () => {
      const query = new URLSearchParams({ format: 'json', tailLines: String(TAIL_LINES), timestamps: 'true', ...(follow ? { follow: 'true' } : {}) });
      const path = `${API_BASE}/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}/log?${query}`;
      const res = await client.send(path, { signal: controller.signal, stream: true });
      setLogs((l) => ({ ...l, state: 'following' }));
      let batch: ContainerLogLine[] = [];
      let flushTimer: number | undefined;
      const flush = () => {
        flushTimer = undefined;
        const added = batch;
        batch = [];
        setLogs((l) => ({ ...l, lines: [...l.lines, ...added].slice(-MAX_LINES) }));
      };
      for await (const text of readLines(res.body!, controller.signal)) {
        if (!text) continue;
        batch.push(JSON.parse(text) as ContainerLogLine);
        flushTimer ??= window.setTimeout(flush, 100);
      }
      window.clearTimeout(flushTimer);
      flush();
      setLogs((l) => ({ ...l, state: 'ended' }));
    })().catch((err: unknown) => {
      if (controller.signal.aborted) return;
      setLogs((l) => ({ ...l, state: 'error', error: err instanceof ApiError ? err.message : 'The log stream broke.' }));
    });
    return () => controller.abort();
  }, [client, namespace, name, follow]);
  return logs;
}
