// Server inventory verbs: `server add` (an SSH key file and a host in, a Server with its readiness
// out), `status` and `doctor` (fleet readiness, as JSON for scripts), and `access-assets ssh-key …`
// (the SSHKey inventory: create, list, attach, detach, rotate, delete).
import { readFileSync } from 'node:fs';
import { HoldfastError } from '../../core/errors.js';
import { checkRow, failingChecks, summarise } from '../../core/readiness.js';
import { API_VERSION, DNS1123_LABEL, findCondition, kindInfo, type KindInfo, type Resource } from '../../core/resource.js';
import type { HoldfastClient } from '../client.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { renderTable } from '../printers.js';
import { lazyRequire } from '../lazy-require.js';
import { sshFingerprint } from '../../core/ssh-fingerprint.js';

const SERVER = kindInfo('Server')!;
const SSHKEY = kindInfo('SSHKey')!;

export interface ServerAddFlags {
  name: string;
  host?: string;
  sshPort?: string;
  sshUser?: string;
  sshKey?: string;
  kind?: string;
  hostKeyFingerprint?: string;
  yes?: boolean;
  wait?: string;
  json?: boolean;
}

/**
 * The SHA256 fingerprint of a private key file's public half, as ssh-keygen -l prints it. ssh2 is
 * loaded here, by the verbs that read a key, and stays outside the CLI's bundle (native addons).
 */
export async function keyFingerprint(privateKey: string, source: string): Promise<string> {
  const ssh2 = lazyRequire('ssh2') as typeof import('ssh2');
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey()) {
    throw new HoldfastError('BadRequest', `${source}: not a usable unencrypted OpenSSH private key${parsed instanceof Error ? ` (${parsed.message})` : ''}`);
  }
  return sshFingerprint(parsed.getPublicSSH());
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new HoldfastError('BadRequest', `cannot read the SSH key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/** Finds an SSHKey holding this key, or stores it as `preferredName`: a raw key moves into the inventory once. */
async function ensureSshKey(client: HoldfastClient, privateKey: string, source: string, preferredName: string): Promise<{ name: string; created: boolean }> {
  const fingerprint = await keyFingerprint(privateKey, source);
  const keys = await client.listAll(SSHKEY);
  const same = keys.items.find((k) => (k.status as { fingerprint?: string } | undefined)?.fingerprint === fingerprint);
  if (same) return { name: same.metadata.name, created: false };
  await client.create(SSHKEY, { apiVersion: API_VERSION, kind: 'SSHKey', metadata: { name: preferredName }, spec: { privateKey } });
  return { name: preferredName, created: true };
}

export async function runServerAdd(ctx: CommandContext, flags: ServerAddFlags): Promise<number> {
  if (!DNS1123_LABEL.test(flags.name)) throw new HoldfastError('BadRequest', `--name "${flags.name}": must be a DNS-1123 label (lower-case letters, digits and '-')`);
  const kind = flags.kind ?? 'docker-engine';
  if (kind !== 'local') {
    for (const [flag, value] of [['--host', flags.host], ['--ssh-user', flags.sshUser], ['--ssh-key', flags.sshKey]] as const) {
      if (!value) throw new HoldfastError('BadRequest', `${flag} is required for a ${kind} server`);
    }
  }
  if (!flags.yes && !process.stdin.isTTY) throw new HoldfastError('BadRequest', 'not a terminal: pass --yes to add the server without confirmation');
  const client = await ctx.client();
  // What this command created, newest first: removed again when the server cannot be used.
  const created: Array<{ kind: KindInfo; name: string }> = [];
  let keyName: string | undefined;
  if (flags.sshKey) {
    const key = await ensureSshKey(client, readKeyFile(flags.sshKey), flags.sshKey, `${flags.name}-ssh`);
    keyName = key.name;
    if (key.created) created.unshift({ kind: SSHKEY, name: key.name });
    if (!flags.json) ctx.out(`sshkey.holdfast.dev/${key.name} ${key.created ? 'created' : 'reused (same fingerprint)'}\n`);
  }
  const spec: Record<string, unknown> = { kind };
  if (kind !== 'local') {
    Object.assign(spec, { host: flags.host, port: flags.sshPort ? Number(flags.sshPort) : 22, user: flags.sshUser, sshKeyRef: { name: keyName } });
    if (flags.hostKeyFingerprint) spec.hostKeyFingerprint = flags.hostKeyFingerprint;
  }
  let server: Resource;
  let existing: Resource | undefined;
  try {
    existing = await client.getIfExists(SERVER, flags.name);
    const manifest: Resource = { apiVersion: API_VERSION, kind: 'Server', metadata: { name: flags.name }, spec };
    const written = existing
      ? await client.replace(SERVER, { ...existing, spec: { ...(existing.spec ?? {}), ...spec } })
      : await client.create(SERVER, manifest);
    if (!existing) created.unshift({ kind: SERVER, name: flags.name });
    if (!flags.json) ctx.out(`server.holdfast.dev/${flags.name} ${existing ? 'configured' : 'created'}\n`);
    server = await waitForReadiness(client, flags.name, written.metadata.generation ?? 1, parseSeconds(flags.wait ?? '60s'));
  } catch (err) {
    await removeCreated(ctx, client, created, !!flags.json);
    throw err;
  }
  const row = checkRow(server);
  const blocked = row.readiness === 'blocked';
  if (flags.json) {
    const removed = blocked ? await removeCreated(ctx, client, created, true) : [];
    ctx.out(JSON.stringify({ ok: !blocked, data: { server: row, failingChecks: failingChecks([server]), ...(blocked ? { removed } : {}) } }, null, 2) + '\n');
  } else {
    ctx.out(renderReadiness([server]));
    for (const f of failingChecks([server])) ctx.out(`  ${f.result} ${f.check}: ${f.message}\n    → ${f.recommendedAction}\n`);
    if (blocked) {
      await removeCreated(ctx, client, created, false);
      if (existing) ctx.out(`server.holdfast.dev/${flags.name} existed before and keeps the settings given here: run server add again with fixed ones, or holdfast delete server ${flags.name}\n`);
    }
  }
  return blocked ? EXIT_ERROR : EXIT_OK;
}

/**
 * Deletes what `server add` created (the Server before its SSHKey) and says so; what cannot be
 * deleted is named with the command that removes it. Returns `kind/name` of each one deleted.
 */
async function removeCreated(ctx: CommandContext, client: HoldfastClient, created: Array<{ kind: KindInfo; name: string }>, quiet: boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const { kind, name } of created) {
    const ref = `${kind.singular}.holdfast.dev/${name}`;
    try {
      await client.delete(kind, name);
      removed.push(ref);
      if (!quiet) ctx.out(`${ref} deleted again: the server cannot be used as given\n`);
    } catch (err) {
      ctx.err(`error: ${ref} stays (${(err as Error).message}): remove it with holdfast delete ${kind.singular} ${name}\n`);
    }
  }
  return removed;
}

/** Polls until the controller has observed this generation and said whether the server is Ready. */
async function waitForReadiness(client: HoldfastClient, name: string, generation: number, seconds: number): Promise<Resource> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const server = await client.get(SERVER, name);
    const ready = findCondition(server.status, 'Ready');
    if (ready && (server.status?.observedGeneration ?? 0) >= generation) return server;
    if (Date.now() > deadline) return server;
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

function parseSeconds(text: string): number {
  const m = text.match(/^(\d+)(s|m)?$/);
  if (!m) throw new HoldfastError('BadRequest', `--wait "${text}": use a duration like 30s or 2m`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

function renderReadiness(servers: Resource[]): string {
  const rows = servers.map(checkRow);
  return renderTable([
    ['SERVER', 'HOST', 'KIND', 'READINESS', 'SSH', 'LATENCY', 'DOCKER', 'COMPOSE', 'SWARM'],
    ...rows.map((r) => [
      r.serverName,
      r.serverHost ?? '-',
      r.targetKind,
      r.readiness,
      r.sshReachable === null ? '-' : r.sshReachable ? 'yes' : 'no',
      r.latencyMs === null ? '-' : `${r.latencyMs}ms`,
      r.dockerVersion ?? '-',
      r.composeVersion ?? '-',
      r.swarmTopology ?? '-',
    ]),
  ]);
}

/** `holdfast status` / `holdfast doctor`: fleet readiness; doctor adds what to do about each failing check. */
export async function runStatus(ctx: CommandContext, flags: { json?: boolean; doctor?: boolean }): Promise<number> {
  const client = await ctx.client();
  const servers = (await client.listAll(SERVER)).items;
  const summary = summarise(servers);
  const failing = failingChecks(servers);
  const data: Record<string, unknown> = { servers: { summary, checks: servers.map(checkRow) } };
  if (flags.doctor) data.failingChecks = failing;
  const ok = flags.doctor ? failing.every((f) => f.result !== 'Fail') && summary.blockedServers === 0 : true;
  if (flags.json) {
    ctx.out(JSON.stringify({ ok, data }, null, 2) + '\n');
  } else {
    ctx.out(`Servers: ${summary.totalServers} total, ${summary.readyServers} ready, ${summary.attentionServers} need attention, ${summary.blockedServers} blocked`);
    ctx.out(summary.averageLatencyMs === null ? '\n' : `; average latency ${summary.averageLatencyMs} ms\n`);
    if (servers.length) ctx.out('\n' + renderReadiness(servers));
    if (flags.doctor) {
      if (failing.length === 0) ctx.out('\nNo failing checks.\n');
      for (const f of failing) ctx.out(`\n${f.serverName}: ${f.result} ${f.check}: ${f.message}\n  → ${f.recommendedAction}\n`);
    }
  }
  return ok ? EXIT_OK : EXIT_ERROR;
}

// ---- access-assets ssh-key ----------------------------------------------------------------------

export async function runSshKeyCreate(ctx: CommandContext, flags: { name: string; privateKeyFile: string }): Promise<number> {
  const privateKey = readKeyFile(flags.privateKeyFile);
  await keyFingerprint(privateKey, flags.privateKeyFile);
  const client = await ctx.client();
  const created = await client.create(SSHKEY, { apiVersion: API_VERSION, kind: 'SSHKey', metadata: { name: flags.name }, spec: { privateKey } });
  ctx.out(`sshkey.holdfast.dev/${flags.name} created (${(created.status as { fingerprint?: string }).fingerprint})\n`);
  return EXIT_OK;
}

export async function runSshKeyRotate(ctx: CommandContext, flags: { name: string; privateKeyFile: string }): Promise<number> {
  const privateKey = readKeyFile(flags.privateKeyFile);
  await keyFingerprint(privateKey, flags.privateKeyFile);
  const client = await ctx.client();
  const updated = await client.mergePatch(SSHKEY, flags.name, undefined, { spec: { privateKey, publicKey: null } });
  ctx.out(`sshkey.holdfast.dev/${flags.name} rotated (${(updated.status as { fingerprint?: string }).fingerprint})\n`);
  return EXIT_OK;
}

export async function runSshKeyList(ctx: CommandContext, flags: { json?: boolean }): Promise<number> {
  const client = await ctx.client();
  const [keys, servers] = await Promise.all([client.listAll(SSHKEY), client.listAll(SERVER)]);
  const usedBy = (name: string) => servers.items.filter((s) => (s.spec as { sshKeyRef?: { name?: string } })?.sshKeyRef?.name === name).map((s) => s.metadata.name);
  const rows = keys.items.map((k) => {
    const st = (k.status ?? {}) as { fingerprint?: string; type?: string; createdAt?: string; rotatedAt?: string };
    return { name: k.metadata.name, fingerprint: st.fingerprint ?? null, type: st.type ?? null, createdAt: st.createdAt ?? null, rotatedAt: st.rotatedAt ?? null, servers: usedBy(k.metadata.name) };
  });
  if (flags.json) ctx.out(JSON.stringify({ ok: true, data: { sshKeys: rows } }, null, 2) + '\n');
  else if (rows.length === 0) ctx.out('No SSH keys.\n');
  else ctx.out(renderTable([['NAME', 'TYPE', 'FINGERPRINT', 'CREATED', 'ROTATED', 'SERVERS'], ...rows.map((r) => [r.name, r.type ?? '-', r.fingerprint ?? '-', r.createdAt ?? '-', r.rotatedAt ?? '-', r.servers.join(',') || '-'])]));
  return EXIT_OK;
}

export async function runSshKeyAttach(ctx: CommandContext, flags: { key: string; server: string }): Promise<number> {
  const client = await ctx.client();
  await client.get(SSHKEY, flags.key);
  await client.mergePatch(SERVER, flags.server, undefined, { spec: { sshKeyRef: { name: flags.key } } });
  ctx.out(`server.holdfast.dev/${flags.server} now uses sshkey.holdfast.dev/${flags.key}\n`);
  return EXIT_OK;
}

export async function runSshKeyDetach(ctx: CommandContext, flags: { server: string }): Promise<number> {
  const client = await ctx.client();
  await client.mergePatch(SERVER, flags.server, undefined, { spec: { sshKeyRef: null } });
  ctx.out(`server.holdfast.dev/${flags.server} has no SSH key now (it stays unreachable until one is attached)\n`);
  return EXIT_OK;
}

export async function runSshKeyDelete(ctx: CommandContext, flags: { name: string; force?: boolean }): Promise<number> {
  const client = await ctx.client();
  const users = (await client.listAll(SERVER)).items.filter((s) => (s.spec as { sshKeyRef?: { name?: string } })?.sshKeyRef?.name === flags.name);
  if (users.length && !flags.force) {
    throw new HoldfastError('Conflict', `sshkey "${flags.name}" is used by server(s) ${users.map((u) => u.metadata.name).join(', ')}: detach it first, or pass --force`);
  }
  await client.delete(SSHKEY, flags.name);
  ctx.out(`sshkey.holdfast.dev "${flags.name}" deleted\n`);
  return EXIT_OK;
}

