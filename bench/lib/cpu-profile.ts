// A CPU profile of a running `holdfast serve` over a window, taken through its inspector (the process
// is started with --inspect=127.0.0.1:0), and the functions that took the most of it by self time.
import WebSocket from 'ws';

/** The parts of a V8 CPU profile (Profiler.stop's answer) the summary reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  /** Microseconds since the sample before. */
  timeDeltas: number[];
}

export interface SelfTime {
  /** `name (file:line)`, the file relative to the package where it is under it. */
  fn: string;
  ms: number;
  /** Share of all the samples' time, idle included. */
  percent: number;
}

/** The inspector's WebSocket address that a process started with --inspect printed. */
export function inspectorUrl(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
}

/** The `top` functions by self time, idle left out; the same function's nodes (several call paths) summed. */
export function topSelfTime(profile: CpuProfile, top = 10, root = ''): SelfTime[] {
  const frameOf = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const frame = frameOf.get(id);
    if (!frame || frame.functionName === '(idle)') return;
    const file = frame.url.replace(/^file:\/\//, '').replace(root, '');
    const fn = `${frame.functionName || '(anonymous)'}${file ? ` (${file}:${frame.lineNumber + 1})` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  });
  return [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, us]) => ({ fn, ms: Math.round(us / 100) / 10, percent: total ? Math.round((us / total) * 1000) / 10 : 0 }));
}

/** Profiles the process behind `url` for `ms` milliseconds, sampling every `intervalUs`. */
export async function profileFor(url: string, ms: number, intervalUs = 1000): Promise<CpuProfile> {
  return withInspector(url, async (send) => {
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: intervalUs });
    await send('Profiler.start');
    await new Promise((ok) => setTimeout(ok, ms));
    const { profile } = (await send('Profiler.stop')) as { profile: CpuProfile };
    return profile;
  });
}

/** What holds the memory of the process behind `url`: process.memoryUsage() and V8's heap spaces, after a full GC. */
export async function memoryBreakdown(url: string): Promise<Record<string, number>> {
  return withInspector(url, async (send) => {
    await send('HeapProfiler.collectGarbage');
    const expression = `JSON.stringify({ ...process.memoryUsage(), ...Object.fromEntries(require('node:v8').getHeapSpaceStatistics().map((s) => ['heap:' + s.space_name, s.space_used_size])) })`;
    const { result } = (await send('Runtime.evaluate', { expression, includeCommandLineAPI: true, returnByValue: true })) as { result: { value?: string } };
    return JSON.parse(result.value ?? '{}') as Record<string, number>;
  });
}

/** A heap snapshot of the process behind `url`, summed by what each object is (its constructor, or its type: string, code, …), largest first. */
export async function heapSummary(url: string, top = 15): Promise<Array<{ what: string; mb: number; count: number }>> {
  const text = await withInspector(url, async (send, on) => {
    const chunks: string[] = [];
    on('HeapProfiler.addHeapSnapshotChunk', (params) => chunks.push((params as { chunk: string }).chunk));
    await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    return chunks.join('');
  });
  const snapshot = JSON.parse(text) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snapshot.snapshot.meta.node_fields;
  const [typeNames] = snapshot.snapshot.meta.node_types;
  const at = (f: string) => fields.indexOf(f);
  const [type, name, size] = [at('type'), at('name'), at('self_size')];
  const sums = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const t = typeNames[snapshot.nodes[i + type]!]!;
    const what = t === 'object' || t === 'native' ? snapshot.strings[snapshot.nodes[i + name]!]! : `(${t})`;
    const sum = sums.get(what) ?? { bytes: 0, count: 0 };
    sum.bytes += snapshot.nodes[i + size]!;
    sum.count++;
    sums.set(what, sum);
  }
  return [...sums]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, top)
    .map(([what, { bytes, count }]) => ({ what, mb: Math.round((bytes / 2 ** 20) * 10) / 10, count }));
}

type Send = (method: string, params?: object) => Promise<unknown>;
type On = (event: string, listener: (params: unknown) => void) => void;

/** Runs `fn` with a session on the inspector at `url`. */
async function withInspector<T>(url: string, fn: (send: Send, on: On) => Promise<T>): Promise<T> {
  const ws = new WebSocket(url);
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
  });
  let next = 1;
  const pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  const listeners = new Map<string, (params: unknown) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message: string } };
    if (msg.method) listeners.get(msg.method)?.(msg.params);
    const waiter = msg.id !== undefined ? pending.get(msg.id) : undefined;
    if (!waiter) return;
    pending.delete(msg.id!);
    if (msg.error) waiter.fail(new Error(msg.error.message));
    else waiter.ok(msg.result);
  });
  const send: Send = (method, params = {}) =>
    new Promise<unknown>((ok, fail) => {
      const id = next++;
      pending.set(id, { ok, fail });
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    return await fn(send, (event, listener) => listeners.set(event, listener));
  } finally {
    ws.close();
  }
}
