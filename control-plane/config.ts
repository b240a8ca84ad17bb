// The control plane's configuration: flags → environment → defaults, validated once at start, and
// the redacted form the start-up log line shows.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { DRIFT_RESYNC_MS, SERVICE_RESYNC_MS } from '../controllers/index.js';
import { defaultDataDir } from '../core/data-dir.js';
import { resolveOidcConfig, type OidcConfig, type OidcFlags } from '../security/oidc.js';
import { DEFAULT_POLL_INTERVAL_MS as DEFAULT_CHANGE_POLL_INTERVAL_MS } from '../store/change-feed.js';

export interface ServeOptions extends OidcFlags {
  dataDir?: string;
  listen?: string;
  logLevel?: string;
  databaseUrl?: string;
  /** PEM files; with both set the API is served over HTTPS (kubectl sends tokens only over TLS). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Revoke the admin token and make a new one before serving (a lost or leaked admin token). */
  resetAdminToken?: boolean;
}

export interface ServeConfig {
  dataDir: string;
  host: string;
  port: number;
  logLevel: string;
  databaseUrl?: string;
  /** ENCRYPTION_KEY: the sealing key (32 bytes, base64 or hex); unset, `<dataDir>/encryption.key` is used. */
  encryptionKey?: string;
  eventTtlSeconds: number;
  serverPollIntervalMs: number;
  /** HOLDFAST_DRIFT_RESYNC_INTERVAL_MS: every Service's drift is judged again this often even when its host reports no change. */
  driftResyncIntervalMs: number;
  /** HOLDFAST_SERVICE_RESYNC_INTERVAL_MS: every Service is reconciled again this often even when nothing woke it. */
  serviceResyncIntervalMs: number;
  /** HOLDFAST_LIVE_RESYNC_INTERVAL_MS: each server's live state is listed in full this often (Docker events keep it current in between). */
  liveResyncIntervalMs: number;
  /** HOLDFAST_CHANGE_POLL_INTERVAL_MS: on PostgreSQL, the change log is read this often while notifications come, to catch up one that did not. */
  changePollIntervalMs: number;
  /** HOLDFAST_REPLICA_ID: how Leases name this replica (host name and a random suffix by default). */
  replicaId: string;
  /** HOLDFAST_LEASE_DURATION_SECONDS: a Lease not renewed this long may be taken over by another replica. */
  leaseDurationSeconds: number;
  /** HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS: how often the holder renews its Leases (and others look at them). */
  leaseRenewIntervalSeconds: number;
  /** HOLDFAST_CONTROLLERS=false: serve the API only (a replica that does not reconcile). */
  runControllers: boolean;
  /** HOLDFAST_TERMINAL_IDLE_TIMEOUT_SECONDS: an exec or shell session with neither input nor output this long is ended. */
  terminalIdleTimeoutMs: number;
  /** Failed authentications a client may make per minute before it is answered 429. */
  authFailuresPerMinute: number;
  tls?: { certFile: string; keyFile: string };
  resetAdminToken: boolean;
  /** Single sign-on (--oidc-* flags, HOLDFAST_OIDC_* variables). */
  oidc?: OidcConfig;
}

export const DEFAULT_LISTEN = '127.0.0.1:7420';

/** Flags → environment → defaults, validated once. */
export function resolveConfig(opts: ServeOptions, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const listen = opts.listen ?? env.HOLDFAST_LISTEN ?? DEFAULT_LISTEN;
  const m = listen.match(/^(.*):(\d+)$/);
  if (!m) throw new Error(`--listen must be HOST:PORT (got "${listen}")`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`--listen: port ${port} is out of range`);
  const ttl = Number(env.HOLDFAST_EVENT_TTL_SECONDS ?? 3600);
  if (!Number.isFinite(ttl) || ttl <= 0) throw new Error('HOLDFAST_EVENT_TTL_SECONDS must be a positive number');
  const authFailures = Number(env.HOLDFAST_AUTH_FAILURES_PER_MINUTE ?? 10);
  if (!Number.isInteger(authFailures) || authFailures <= 0) throw new Error('HOLDFAST_AUTH_FAILURES_PER_MINUTE must be a positive integer');
  const leaseDurationSeconds = positiveInt(env.HOLDFAST_LEASE_DURATION_SECONDS, 15, 'HOLDFAST_LEASE_DURATION_SECONDS', 'seconds');
  const leaseRenewIntervalSeconds = positiveInt(env.HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS, 5, 'HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS', 'seconds');
  if (leaseRenewIntervalSeconds >= leaseDurationSeconds) throw new Error('HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS must be shorter than HOLDFAST_LEASE_DURATION_SECONDS');
  const certFile = opts.tlsCertFile ?? env.HOLDFAST_TLS_CERT_FILE;
  const keyFile = opts.tlsKeyFile ?? env.HOLDFAST_TLS_KEY_FILE;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new Error('TLS needs both --tls-cert-file and --tls-key-file');
  const oidc = resolveOidcConfig(opts, env);
  return {
    ...(certFile && keyFile ? { tls: { certFile: resolve(certFile), keyFile: resolve(keyFile) } } : {}),
    ...(oidc ? { oidc } : {}),
    dataDir: resolve(opts.dataDir ?? defaultDataDir(env)),
    host: m[1] || '127.0.0.1',
    port,
    logLevel: opts.logLevel ?? env.LOG_LEVEL ?? 'info',
    databaseUrl: opts.databaseUrl ?? env.DATABASE_URL ?? undefined,
    ...(env.ENCRYPTION_KEY ? { encryptionKey: env.ENCRYPTION_KEY } : {}),
    eventTtlSeconds: ttl,
    runControllers: env.HOLDFAST_CONTROLLERS !== 'false',
    serverPollIntervalMs: positiveInt(env.SERVER_READINESS_POLL_INTERVAL_MS, 60_000, 'SERVER_READINESS_POLL_INTERVAL_MS'),
    driftResyncIntervalMs: positiveInt(env.HOLDFAST_DRIFT_RESYNC_INTERVAL_MS, DRIFT_RESYNC_MS, 'HOLDFAST_DRIFT_RESYNC_INTERVAL_MS'),
    serviceResyncIntervalMs: positiveInt(env.HOLDFAST_SERVICE_RESYNC_INTERVAL_MS, SERVICE_RESYNC_MS, 'HOLDFAST_SERVICE_RESYNC_INTERVAL_MS'),
    liveResyncIntervalMs: positiveInt(env.HOLDFAST_LIVE_RESYNC_INTERVAL_MS, 5 * 60_000, 'HOLDFAST_LIVE_RESYNC_INTERVAL_MS'),
    replicaId: env.HOLDFAST_REPLICA_ID || `${hostname()}_${randomUUID().slice(0, 8)}`,
    leaseDurationSeconds,
    leaseRenewIntervalSeconds,
    changePollIntervalMs: positiveInt(env.HOLDFAST_CHANGE_POLL_INTERVAL_MS, DEFAULT_CHANGE_POLL_INTERVAL_MS, 'HOLDFAST_CHANGE_POLL_INTERVAL_MS'),
    authFailuresPerMinute: authFailures,
    resetAdminToken: opts.resetAdminToken ?? false,
    terminalIdleTimeoutMs: positiveInt(env.HOLDFAST_TERMINAL_IDLE_TIMEOUT_SECONDS, 15 * 60, 'HOLDFAST_TERMINAL_IDLE_TIMEOUT_SECONDS', 'seconds') * 1000,
  };
}

/**
 * The resolved configuration as the start-up log line shows it: the sealing key, the OIDC client
 * secret and the database password replaced by a marker, everything else as resolved.
 */
export function printableConfig(config: ServeConfig): Record<string, unknown> {
  const { encryptionKey, databaseUrl, oidc, ...rest } = config;
  return {
    ...rest,
    ...(databaseUrl ? { databaseUrl: withoutPassword(databaseUrl) } : {}),
    ...(encryptionKey ? { encryptionKey: REDACTED } : {}),
    ...(oidc ? { oidc: { ...oidc, issuer: oidc.issuer.href, redirectUrl: oidc.redirectUrl.href, clientSecret: REDACTED } } : {}),
  };
}

const REDACTED = '[REDACTED]';

function withoutPassword(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = REDACTED;
    return url.href;
  } catch {
    // Not a URL (a libpq keyword string, say): it may hold a password anywhere.
    return REDACTED;
  }
}

function positiveInt(value: string | undefined, fallback: number, name: string, unit = 'milliseconds'): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number of ${unit} (got "${value}")`);
  return n;
}
