// Watch, in Kubernetes' wire format: newline-delimited JSON `{"type": ..., "object": ...}` events,
// starting after a resourceVersion (replayed from the change log) or with the current objects as
// ADDED when none is given. A resourceVersion older than the log reaches gets an ERROR event with a
// 410 Expired Status, telling the client to list again. A client that asks for Tables (kubectl get
// --watch) gets each object as a one-row Table with the CRD's printer columns, as kube-apiserver does.
import type { Request, Response } from 'express';
import { HoldfastError } from '../core/errors.js';
import type { KindInfo, Resource } from '../core/resource.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../core/selectors.js';
import type { ChangeEvent, ResourceStore } from '../store/resource-store.js';
import { present } from '../controllers/admission.js';
import { statusFor } from './status.js';
import { queryFlag } from './list-paging.js';
import { toTable, wantsTable } from './table.js';

const MAX_WATCH_SECONDS = 3600;
const BOOKMARK_INTERVAL_MS = 30_000;

export async function serveWatch(req: Request, res: Response, store: ResourceStore, scope: { info: KindInfo; namespace?: string }) {
  const labels = parseLabelSelector(typeof req.query.labelSelector === 'string' ? req.query.labelSelector : undefined);
  const fields = parseFieldSelector(typeof req.query.fieldSelector === 'string' ? req.query.fieldSelector : undefined);
  const rvParam = typeof req.query.resourceVersion === 'string' && req.query.resourceVersion !== '' ? req.query.resourceVersion : undefined;
  const timeoutSeconds = Math.min(Number(req.query.timeoutSeconds) || MAX_WATCH_SECONDS, MAX_WATCH_SECONDS);
  const bookmarks = queryFlag(req.query.allowWatchBookmarks, 'allowWatchBookmarks') ?? false;
  if (rvParam !== undefined && !/^\d+$/.test(rvParam)) throw new HoldfastError('BadRequest', `invalid resourceVersion "${rvParam}"`);
  if (rvParam !== undefined) {
    // A version this server has not reached yet: Kubernetes answers 504 with this cause and the
    // client lists again rather than waiting for changes that may never come.
    const current = await store.currentResourceVersion();
    if (Number(rvParam) > current) {
      throw new HoldfastError('Timeout', `Too large resource version: ${rvParam}, current: ${current}`, {
        causes: [{ field: '', reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        details: { retryAfterSeconds: 1 },
      });
    }
  }

  const matches = (e: ChangeEvent) =>
    e.object.kind === scope.info.kind &&
    (scope.namespace === undefined || e.object.metadata.namespace === scope.namespace) &&
    matchesLabels(labels, e.object.metadata.labels) &&
    matchesFields(fields, e.object);

  // Subscribe before reading the backlog, so nothing falls between the two; duplicates are dropped
  // by resourceVersion.
  const pending: ChangeEvent[] = [];
  let live = false;
  let lastSent = 0;
  const send = (type: string, object: unknown) => res.write(JSON.stringify({ type, object }) + '\n');
  const asTable = wantsTable(req);
  const sendObject = (type: string, obj: Resource) => {
    const shown = present(obj);
    send(type, asTable ? toTable(scope.info.kind, [shown], { resourceVersion: shown.metadata.resourceVersion }) : shown);
  };
  const deliver = (e: ChangeEvent) => {
    if (e.resourceVersion <= lastSent || !matches(e)) return;
    lastSent = e.resourceVersion;
    sendObject(e.type, e.object);
  };
  const unsubscribe = store.subscribe((e) => (live ? deliver(e) : pending.push(e)));

  res.status(200);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Transfer-Encoding', 'chunked');
  res.flushHeaders();

  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    unsubscribe();
    timers.forEach(clearTimeout);
    if (!res.writableEnded) res.end();
  };
  req.on('close', finish);
  timers.push(setTimeout(finish, timeoutSeconds * 1000));

  try {
    if (rvParam === undefined || rvParam === '0') {
      const current = await store.list(scope.info.kind, { namespace: scope.namespace, labelSelector: labels, fieldSelector: fields });
      for (const obj of current.items) sendObject('ADDED', obj);
      lastSent = Number(current.resourceVersion);
    } else {
      const since = Number(rvParam);
      const backlog = await store.changesSince(since, scope.info.kind);
      if (!backlog) {
        send('ERROR', statusFor(new HoldfastError('Gone', `too old resource version: ${since}; list again`)));
        return finish();
      }
      lastSent = since;
      for (const e of backlog) deliver(e);
    }
    for (const e of pending.splice(0)) deliver(e);
    live = true;
    if (bookmarks) {
      const tick = () => {
        send('BOOKMARK', { kind: scope.info.kind, apiVersion: 'holdfast.dev/v1alpha1', metadata: { resourceVersion: String(lastSent) } });
        timers.push(setTimeout(tick, BOOKMARK_INTERVAL_MS));
      };
      timers.push(setTimeout(tick, BOOKMARK_INTERVAL_MS));
    }
  } catch (err) {
    if (err instanceof HoldfastError) send('ERROR', statusFor(err));
    finish();
  }
}
