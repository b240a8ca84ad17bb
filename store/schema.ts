// The relational schema behind the resource store. SQL migrations in store/migrations are generated
// from this file with drizzle-kit (`npm run db:generate`) and committed.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** One global counter, as etcd's revision: every write to any resource takes the next value. */
export const resourceVersionSeq = pgSequence('resource_version_seq', { startWith: 1, increment: 1 });

export const resources = pgTable(
  'resources',
  {
    uid: text('uid').primaryKey(),
    kind: text('kind').notNull(),
    /** '' for cluster-scoped kinds, so the unique index covers them too. */
    namespace: text('namespace').notNull().default(''),
    name: text('name').notNull(),
    resourceVersion: bigint('resource_version', { mode: 'number' }).notNull(),
    generation: integer('generation').notNull().default(1),
    /** labels, annotations, finalizers, ownerReferences, creationTimestamp, deletionTimestamp. */
    metadata: jsonb('metadata').notNull(),
    spec: jsonb('spec'),
    status: jsonb('status'),
    /** Top-level fields of kinds without spec (Event). */
    body: jsonb('body'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    deletionTimestamp: timestamp('deletion_timestamp', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('resources_identity').on(t.kind, t.namespace, t.name),
    index('resources_kind_rv').on(t.kind, t.resourceVersion),
  ],
);

/** The change log watches replay from; pruned by age. */
export const resourceChanges = pgTable(
  'resource_changes',
  {
    resourceVersion: bigint('resource_version', { mode: 'number' }).primaryKey(),
    type: text('type').notNull(),
    kind: text('kind').notNull(),
    namespace: text('namespace').notNull(),
    name: text('name').notNull(),
    object: jsonb('object').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().default(sql`now()`),
  },
  (t) => [index('resource_changes_kind').on(t.kind, t.resourceVersion)],
);

/** Write-only values (Secret data, SSHKey private keys), sealed with AES-256-GCM. */
export const sealedValues = pgTable(
  'sealed_values',
  {
    ownerUid: text('owner_uid').notNull(),
    key: text('key').notNull(),
    ciphertext: text('ciphertext').notNull(),
    /** HMAC of the plaintext under a derived key: lets views compare values without revealing them. */
    valueHash: text('value_hash').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.ownerUid, t.key] })],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    actor: text('actor').notNull(),
    tokenId: text('token_id'),
    verb: text('verb').notNull(),
    kind: text('kind').notNull(),
    namespace: text('namespace').notNull().default(''),
    name: text('name').notNull(),
    generation: integer('generation'),
    resourceVersion: bigint('resource_version', { mode: 'number' }),
    dryRun: boolean('dry_run').notNull().default(false),
    outcome: text('outcome').notNull(),
    message: text('message'),
  },
  (t) => [index('audit_log_at').on(t.at)],
);

export const apiTokens = pgTable('api_tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** The first characters of the token, shown in listings so a token can be recognised. */
  prefix: text('prefix').notNull(),
  hash: text('hash').notNull().unique(),
  scopes: jsonb('scopes').notNull().$type<string[]>(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  /**
   * The user or service account the token acts for (`user:alice`, `serviceaccount:shop:ci`): its
   * roles limit the token. Null for tokens that act on their scopes alone (the admin token).
   */
  subject: text('subject'),
});

/** Local users (password, optional TOTP) and users single sign-on created. What they may do comes from role bindings. */
export const users = pgTable('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  /** argon2id PHC string; null for users who sign in only through single sign-on. */
  passwordHash: text('password_hash'),
  /** The TOTP secret, sealed like Secret values; null without a second factor. */
  totpSecret: text('totp_secret'),
  /** The RFC 6238 time step of the last code accepted: a code of that step or an earlier one is a replay. */
  totpLastStep: bigint('totp_last_step', { mode: 'number' }),
  /** Groups the identity provider reported at the last sign-in. */
  groups: jsonb('groups').notNull().$type<string[]>().default([]),
  /** local | oidc */
  source: text('source').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  disabledAt: timestamp('disabled_at', { withTimezone: true, mode: 'date' }),
});

/** Sign-in sessions: the cookie (or CLI session token) is stored only as a hash. */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    hash: text('hash').notNull().unique(),
    userId: text('user_id').notNull(),
    /** The value the dashboard echoes in X-CSRF-Token on state-changing requests, as a hash. */
    csrfHash: text('csrf_hash').notNull(),
    address: text('address'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** The absolute end, whatever the activity. */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('sessions_user').on(t.userId)],
);

/** Failed sign-ins, kept for the lockout window: counted per user name and per client address. */
export const signInFailures = pgTable(
  'sign_in_failures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    username: text('username').notNull(),
    address: text('address').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('sign_in_failures_user').on(t.username, t.at), index('sign_in_failures_address').on(t.address, t.at)],
);

/**
 * Deployment records: one per rollout of a Service, with the frozen input it deployed (immutable
 * once written), its phase and its steps. Rollback redeploys an earlier record's frozen input.
 */
export const deployments = pgTable(
  'deployments',
  {
    id: text('id').primaryKey(),
    serviceUid: text('service_uid').notNull(),
    namespace: text('namespace').notNull(),
    service: text('service').notNull(),
    /** 1, 2, 3… per Service: what `rollout history` lists and `rollout undo --to-revision` names. */
    revision: integer('revision').notNull(),
    generation: integer('generation').notNull(),
    /** queued → prepare → deploy → finalize → completed | failed | canceled */
    phase: text('phase').notNull(),
    trigger: text('trigger').notNull(),
    actor: text('actor').notNull(),
    server: text('server').notNull(),
    sourceCommit: text('source_commit'),
    frozen: jsonb('frozen').notNull(),
    specHash: text('spec_hash').notNull(),
    /** The revision this one rolls back to, for rollbacks. */
    rollbackOf: integer('rollback_of'),
    steps: jsonb('steps').notNull().$type<Array<Record<string, unknown>>>(),
    reason: text('reason'),
    message: text('message'),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
    deadline: timestamp('deadline', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    uniqueIndex('deployments_service_revision').on(t.serviceUid, t.revision),
    index('deployments_phase').on(t.phase),
    index('deployments_service').on(t.namespace, t.service),
  ],
);

/** Log lines of a deployment's steps (build and pull output, container start logs, decisions). */
export const deploymentLogs = pgTable(
  'deployment_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deploymentId: text('deployment_id').notNull(),
    step: text('step').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    line: text('line').notNull(),
  },
  (t) => [index('deployment_logs_deployment').on(t.deploymentId, t.id)],
);

/**
 * Field-level drift of a Service, one row per (source, path) while it lasts: opened when the drift
 * engine first sees the difference, touched (lastSeen) on every check that still sees it, closed
 * (resolvedAt) when it is gone. Closed rows are the Service's drift history.
 */
export const driftRecords = pgTable(
  'drift_records',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    serviceUid: text('service_uid').notNull(),
    namespace: text('namespace').notNull(),
    service: text('service').notNull(),
    /** live-vs-frozen (the host changed) or declared-vs-frozen (a change not rolled out). */
    source: text('source').notNull(),
    /** `containers[hf_shop_production_web_1].env.GREETING`, `update.order`, ... */
    path: text('path').notNull(),
    /** changed · missing · unexpected */
    kind: text('kind').notNull(),
    /** Secret values appear only as their hashes. */
    expected: jsonb('expected'),
    actual: jsonb('actual'),
    firstSeen: timestamp('first_seen', { withTimezone: true, mode: 'date' }).notNull(),
    lastSeen: timestamp('last_seen', { withTimezone: true, mode: 'date' }).notNull(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, mode: 'date' }),
    /** How it ended: healed (a heal deployment put it back) or gone (anything else). */
    resolution: text('resolution'),
    /** The heal deployment that removed it. */
    healedBy: text('healed_by'),
  },
  (t) => [
    uniqueIndex('drift_records_open').on(t.serviceUid, t.source, t.path).where(sql`${t.resolvedAt} is null`),
    index('drift_records_service').on(t.serviceUid, t.id),
    index('drift_records_unresolved').on(t.resolvedAt),
  ],
);

/** Raw bytes; node-postgres reads them as a Buffer, PGlite as a Uint8Array. */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
});

/**
 * Build context tars `holdfast apply` uploaded (directories beside a compose file), addressed by
 * their sha256 digest within a namespace. The bytes are in build_context_chunks; this row is written
 * last, so a context is listed only once all of it is stored.
 */
export const buildContexts = pgTable('build_contexts', {
  namespace: text('namespace').notNull(),
  digest: text('digest').notNull(),
  size: bigint('size', { mode: 'number' }).notNull(),
  chunks: integer('chunks').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  /** The last upload or read: housekeeping keeps recently used contexts even when nothing names them. */
  lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }).notNull(),
}, (t) => [primaryKey({ columns: [t.namespace, t.digest] })]);

/** The bytes of a build context, in pieces of at most 1 MiB (no single huge value to read or write). */
export const buildContextChunks = pgTable('build_context_chunks', {
  namespace: text('namespace').notNull(),
  digest: text('digest').notNull(),
  seq: integer('seq').notNull(),
  data: bytea('data').notNull(),
}, (t) => [primaryKey({ columns: [t.namespace, t.digest, t.seq] })]);
