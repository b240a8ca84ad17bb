// The `holdfast` command line: wiring of verbs and flags only; each verb lives in cli/commands/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { HoldfastError } from '../core/errors.js';
import { packageRoot } from '../core/package-root.js';
import { HoldfastClient } from './client.js';
import { parseDuration, resolveClientConfig, type GlobalFlags } from './config.js';
import { EXIT_ERROR, type CommandContext } from './context.js';
import { formatError } from './error-output.js';
import { parseDryRun, runApply } from './commands/apply.js';
import { runApiResources } from './commands/api-resources.js';
import { runDelete } from './commands/delete.js';
import { runDescribe } from './commands/describe.js';
import { EXIT_DIFF_ERROR, runDiff } from './commands/diff.js';
import { runGet } from './commands/get.js';
import { runServe } from './commands/serve.js';
import { runAudit } from './commands/audit.js';
import { runCancel, runSync } from './commands/deploy-actions.js';
import { runBackupList, runBackupRestore, runBackupRun } from './commands/backup.js';
import { runDrift, runLiveDiff } from './commands/drift.js';
import { runLogs } from './commands/logs.js';
import { runRolloutHistory, runRolloutStatus, runRolloutUndo } from './commands/rollout.js';
import { runTokenCreate, runTokenList, runTokenRevoke } from './commands/token.js';
import { runSecretSet } from './commands/secret.js';
import { runRotateKey } from './commands/secrets-rotate-key.js';
import {
  runServerAdd,
  runSshKeyAttach,
  runSshKeyCreate,
  runSshKeyDelete,
  runSshKeyDetach,
  runSshKeyList,
  runSshKeyRotate,
  runStatus,
  type ServerAddFlags,
} from './commands/servers.js';

const debug = process.env.HOLDFAST_DEBUG === '1';
const version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;

// `holdfast get … | head`: a reader that stops early ends the output, not with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const interrupt = new AbortController();

/** The first Ctrl-C aborts the signal; a second one does not wait. */
function interruptSignal(): AbortSignal {
  if (process.listenerCount('SIGINT') === 0) {
    process.on('SIGINT', () => {
      if (interrupt.signal.aborted) process.exit(130);
      interrupt.abort();
    });
  }
  return interrupt.signal;
}

function context(cmd: Command): CommandContext {
  const flags = cmd.optsWithGlobals() as GlobalFlags;
  let client: Promise<HoldfastClient> | undefined;
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    now: () => new Date(),
    client: () => (client ??= resolveClientConfig(flags).then((config) => new HoldfastClient(config))),
    namespace: flags.namespace,
    interruptSignal,
  };
}

/** Runs a verb; anything it throws is printed as one `error:` line (a stack only with HOLDFAST_DEBUG=1). */
function action<A extends unknown[]>(run: (ctx: CommandContext, ...args: A) => Promise<number>, errorExitCode = EXIT_ERROR) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    try {
      process.exitCode = await run(context(cmd), ...(args.slice(0, -1) as A));
    } catch (err) {
      process.stderr.write(formatError(err, debug));
      process.exitCode = errorExitCode;
    }
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const filenameOption = () => new Option('-f, --filename <path>', 'file, directory or - (stdin) with manifests; repeatable').argParser(collect);
const dryRunOption = () =>
  new Option('--dry-run [mode]', 'none, server (the server checks, nothing is stored) or client (checked locally, nothing sent)').preset('server');

/**
 * `access-assets ssh-key attach|detach --server NAME` names a Server, while the global `--server`
 * is the API URL (kubectl's flag): after those two verbs, `--server` means the Server's name.
 */
function serverNameAfterAttach(argv: string[]): string[] {
  const verb = argv.findIndex((a, i) => (a === 'attach' || a === 'detach') && argv[i - 1] === 'ssh-key' && argv[i - 2] === 'access-assets');
  if (verb < 0) return argv;
  return argv.map((a, i) => (i > verb && a === '--server' ? '--server-name' : i > verb && a.startsWith('--server=') ? `--server-name=${a.slice(9)}` : a));
}

const program = new Command('holdfast')
  .description('Holdfast keeps Docker hosts and Swarm clusters in the state your manifests declare.')
  .option('-s, --server <url>', 'Holdfast API URL (env HOLDFAST_URL; default http://127.0.0.1:7420)')
  .option('--token <token>', 'API token (env HOLDFAST_TOKEN; default: the admin.token file in the data directory)')
  .option('-n, --namespace <project>', 'the project (namespace) of namespaced objects')
  .option('--request-timeout <duration>', 'how long to wait for each API request, e.g. 30s; 0 waits forever', '30s')
  .version(version, '--version', 'print the holdfast version')
  .showHelpAfterError("See 'holdfast --help' for usage.")
  .exitOverride();

program
  .command('apply')
  .description('Create or update objects from manifests')
  .addOption(filenameOption().makeOptionMandatory())
  .option('-R, --recursive', 'read directories given with -f recursively')
  .addOption(dryRunOption())
  .option('--wait', 'wait for the rollouts of the services created or configured; exit 1 when one fails')
  .option('--timeout <duration>', 'with --wait: how long to wait, e.g. 10m (default 5m)')
  .action(
    action((ctx, opts: { filename: string[]; recursive?: boolean; dryRun?: string | boolean; wait?: boolean; timeout?: string }) =>
      runApply(ctx, { filename: opts.filename, recursive: opts.recursive, dryRun: parseDryRun(opts.dryRun), wait: opts.wait, timeout: opts.timeout }),
    ),
  );

program
  .command('get')
  .description('List objects, or show some by name (KIND [NAME…], KIND/NAME…, or all)')
  .argument('<kind>', 'kind: plural, singular, short name or KIND.holdfast.dev; several separated by commas; all')
  .argument('[names...]', 'object names')
  .option('-o, --output <format>', 'json, yaml, wide or name')
  .option('-A, --all-namespaces', 'list across every project')
  .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
  .option('--field-selector <selector>', 'field selector, e.g. involvedObject.kind=Service')
  .option('--for <kind/name>', 'with events: only those about this object, e.g. service/web')
  .option('-w, --watch', 'after listing, keep printing changes')
  .action(
    action((ctx, kind: string, names: string[], opts: Record<string, unknown>) =>
      runGet(ctx, [kind, ...names], {
        output: opts.output as string | undefined,
        allNamespaces: opts.allNamespaces as boolean | undefined,
        selector: opts.selector as string | undefined,
        fieldSelector: opts.fieldSelector as string | undefined,
        watch: opts.watch as boolean | undefined,
        for: opts.for as string | undefined,
      }),
    ),
  );

program
  .command('describe')
  .description('Show an object in detail, with its conditions and recent events')
  .argument('<kind>', 'kind, or KIND/NAME')
  .argument('[names...]', 'object names (all of the kind when none)')
  .option('-l, --selector <selector>', 'label selector, when no names are given')
  .action(action((ctx, kind: string, names: string[], opts: { selector?: string }) => runDescribe(ctx, [kind, ...names], opts)));

program
  .command('delete')
  .description('Delete objects named by manifests (-f) or by kind and name')
  .argument('[args...]', 'KIND NAME… or KIND/NAME…')
  .addOption(filenameOption())
  .option('-R, --recursive', 'read directories given with -f recursively')
  .option('--ignore-not-found', 'treat objects that do not exist as deleted')
  .addOption(dryRunOption())
  .option('--wait <bool>', 'wait until finalizers let the objects go (true|false)', 'true')
  .option('--timeout <duration>', 'how long --wait waits, e.g. 2m', '5m')
  .action(
    action((ctx, args: string[], opts: { filename?: string[]; recursive?: boolean; ignoreNotFound?: boolean; dryRun?: string | boolean; wait: string; timeout: string }) =>
      runDelete(ctx, args, { ...opts, dryRun: parseDryRun(opts.dryRun), wait: opts.wait !== 'false', timeoutMs: parseDuration(opts.timeout) }),
    ),
  );

program
  .command('diff')
  .description('Show what apply would change, or with --live what runs against what was deployed (exit 0: none, 1: differences, 2: error)')
  .argument('[service...]', 'with --live: service/NAME')
  .addOption(filenameOption())
  .option('-R, --recursive', 'read directories given with -f recursively')
  .option('--live', "compare a service's frozen deployment input with what runs on its host")
  .exitOverride((err) => {
    // Usage mistakes are errors too: above 1, so they cannot be mistaken for "differences found".
    throw err.exitCode === 0 ? err : new CommanderError(EXIT_DIFF_ERROR, err.code, err.message);
  })
  .action(
    action((ctx, args: string[], opts: { filename?: string[]; recursive?: boolean; live?: boolean }) => {
      if (opts.live && opts.filename?.length) throw new HoldfastError('BadRequest', '--live compares one service with what runs; it takes no -f');
      if (!opts.live && args.length) throw new HoldfastError('BadRequest', `to compare ${args.join(' ')} with what runs on its host, add --live`);
      return opts.live ? runLiveDiff(ctx, args) : runDiff(ctx, opts);
    }, EXIT_DIFF_ERROR),
  );

const backup = program.command('backup').description("Take, list and restore a backup policy's backups");
backup
  .command('run')
  .description('Take a backup now, whatever the schedule; waits until it is written, verified and retention applied')
  .argument('<policy...>', 'backuppolicy/NAME')
  .action(action((ctx, args: string[]) => runBackupRun(ctx, args)));
backup
  .command('list')
  .description('List the backups a policy keeps, newest first')
  .argument('<policy...>', 'backuppolicy/NAME')
  .option('-o, --output <format>', 'json or yaml')
  .action(action((ctx, args: string[], opts: { output?: string }) => runBackupList(ctx, args, opts)));
backup
  .command('restore')
  .description('Stream a backup back into the volume it was taken from (files in it are written over)')
  .argument('<policy...>', 'backuppolicy/NAME')
  .requiredOption('--backup <name>', 'the backup to restore (see backup list)')
  .action(action((ctx, args: string[], opts: { backup?: string }) => runBackupRestore(ctx, args, opts)));

const rollout = program.command('rollout').description("Manage a service's rollouts: history, undo, status");
rollout
  .command('history')
  .description('List the deployments of a service, newest first')
  .argument('<service...>', 'service/NAME')
  .option('-o, --output <format>', 'json or yaml')
  .action(action((ctx, args: string[], opts: { output?: string }) => runRolloutHistory(ctx, args, opts)));
rollout
  .command('undo')
  .description('Roll a service back to an earlier revision (default: the last completed one before the current)')
  .argument('<service...>', 'service/NAME')
  .option('--to-revision <n>', 'the revision to redeploy (see rollout history)')
  .option('--wait', 'wait for the rollback deployment to end; exit 1 when it fails')
  .option('--timeout <duration>', 'with --wait: how long to wait (default 5m)')
  .action(action((ctx, args: string[], opts: { toRevision?: string; wait?: boolean; timeout?: string }) => runRolloutUndo(ctx, args, opts)));
rollout
  .command('status')
  .description("Wait for a service's current rollout to end, printing its progress (exit 1 when it failed)")
  .argument('<service...>', 'service/NAME')
  .option('--timeout <duration>', 'how long to wait (default 5m)')
  .action(action((ctx, args: string[], opts: { timeout?: string }) => runRolloutStatus(ctx, args, opts)));

program
  .command('logs')
  .description('Print the log of a deployment: STEP and line')
  .requiredOption('--deployment <id>', 'deployment ID (see rollout history)')
  .option('-f, --follow', 'keep printing new lines until the deployment ends')
  .addOption(new Option('--step <step>', 'only the lines of one step').choices(['clone', 'build', 'pull', 'volume', 'start', 'health', 'finalize']))
  .action(action((ctx, opts: { deployment: string; follow?: boolean; step?: string }) => runLogs(ctx, opts)));

program
  .command('cancel')
  .description('Cancel a running deployment; it ends at its next step boundary')
  .requiredOption('--deployment <id>', 'deployment ID (see rollout history)')
  .action(action((ctx, opts: { deployment: string }) => runCancel(ctx, opts)));

program
  .command('sync')
  .description('Converge a service now, once, whatever its drift policy (recorded as a deployment)')
  .argument('<service...>', 'service/NAME')
  .option('--wait', 'wait for the deployment to end; exit 1 when it fails')
  .option('--timeout <duration>', 'with --wait: how long to wait (default 5m)')
  .action(action((ctx, args: string[], opts: { wait?: boolean; timeout?: string }) => runSync(ctx, args, opts)));

program
  .command('drift')
  .description("List services whose hosts or declared specs differ from what was deployed, or one service's drift")
  .argument('[service...]', 'service/NAME: its drift entries')
  .option('-A, --all-namespaces', 'across every project')
  .option('-o, --output <format>', 'json or yaml')
  .action(action((ctx, args: string[], opts: { allNamespaces?: boolean; output?: string }) => runDrift(ctx, args, opts)));

program
  .command('api-resources')
  .description('List the kinds the API serves')
  .action(action((ctx) => runApiResources(ctx)));

const serverCmd = program.command('server').description('Manage servers (Docker hosts reached over SSH)');
serverCmd
  .command('add')
  .description('Add a server: store its SSH key, write the Server, and report its readiness')
  .requiredOption('--name <name>', 'server name (a DNS-1123 label)')
  .option('--host <host>', 'address or DNS name')
  .option('--ssh-port <port>', 'SSH port (default 22)')
  .option('--ssh-user <user>', 'login user; it must be allowed to use the Docker socket')
  .option('--ssh-key <file>', 'private key file; stored encrypted as an SSHKey (reused when one with the same fingerprint exists)')
  .addOption(new Option('--kind <kind>', 'what the server is').choices(['docker-engine', 'docker-swarm-manager', 'local']).default('docker-engine'))
  .option('--host-key-fingerprint <SHA256:…>', 'pin the host key (else the key seen on first contact is pinned)')
  .option('--wait <duration>', 'how long to wait for the readiness result', '60s')
  .option('--json', 'print the result as JSON')
  .option('-y, --yes', 'do not ask for confirmation')
  .action(action((ctx, opts: ServerAddFlags) => runServerAdd(ctx, opts)));

program
  .command('status')
  .description('Fleet readiness: servers ready, needing attention, blocked')
  .option('--json', 'print as JSON ({ ok, data: { servers: { summary, checks } } })')
  .action(action((ctx, opts: { json?: boolean }) => runStatus(ctx, { json: opts.json })));

program
  .command('doctor')
  .description('Like status, plus every failing check with a recommended action (exit 1 when a server is blocked)')
  .option('--json', 'print as JSON')
  .action(action((ctx, opts: { json?: boolean }) => runStatus(ctx, { json: opts.json, doctor: true })));

const sshKeyCmd = program.command('access-assets').description('Credentials Holdfast uses to reach servers').command('ssh-key').description('Manage SSH keys (stored encrypted; reads show only fingerprints)');
sshKeyCmd
  .command('create')
  .description('Store a private key as an SSHKey')
  .requiredOption('--name <name>', 'SSHKey name')
  .requiredOption('--private-key-file <file>', 'unencrypted OpenSSH private key')
  .action(action((ctx, opts: { name: string; privateKeyFile: string }) => runSshKeyCreate(ctx, opts)));
sshKeyCmd
  .command('list')
  .description('List SSH keys with fingerprints and the servers using them')
  .option('--json', 'print as JSON')
  .action(action((ctx, opts: { json?: boolean }) => runSshKeyList(ctx, opts)));
sshKeyCmd
  .command('attach')
  .description('Make a server log in with this key')
  .requiredOption('--key <name>', 'SSHKey name')
  .requiredOption('--server-name <name>', 'Server name (written --server NAME after attach/detach)')
  .action(action((ctx, opts: { key: string; serverName: string }) => runSshKeyAttach(ctx, { key: opts.key, server: opts.serverName })));
sshKeyCmd
  .command('detach')
  .description("Remove a server's key (the server stays, unreachable until a key is attached)")
  .requiredOption('--server-name <name>', 'Server name (written --server NAME after attach/detach)')
  .action(action((ctx, opts: { serverName: string }) => runSshKeyDetach(ctx, { server: opts.serverName })));
sshKeyCmd
  .command('rotate')
  .description('Replace the private key of an SSHKey (servers using it switch on their next connection)')
  .requiredOption('--name <name>', 'SSHKey name')
  .requiredOption('--private-key-file <file>', 'the new unencrypted OpenSSH private key')
  .action(action((ctx, opts: { name: string; privateKeyFile: string }) => runSshKeyRotate(ctx, opts)));
sshKeyCmd
  .command('delete')
  .description('Delete an SSHKey (refused while servers use it, unless --force)')
  .requiredOption('--name <name>', 'SSHKey name')
  .option('--force', 'delete even if servers use it')
  .action(action((ctx, opts: { name: string; force?: boolean }) => runSshKeyDelete(ctx, opts)));

program
  .command('serve')
  .description('Run the Holdfast API server')
  .option('--data-dir <dir>', 'where the embedded database, keys and admin token live (env HOLDFAST_DATA_DIR; default ~/.holdfast)')
  .option('--listen <host:port>', 'address to serve the API on (default 127.0.0.1:7420)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']))
  .option('--tls-cert-file <file>', 'PEM certificate: serve HTTPS (env HOLDFAST_TLS_CERT_FILE); kubectl sends tokens only over TLS')
  .option('--tls-key-file <file>', 'PEM private key for --tls-cert-file (env HOLDFAST_TLS_KEY_FILE)')
  .action(async (opts: { dataDir?: string; listen?: string; logLevel?: string; tlsCertFile?: string; tlsKeyFile?: string }) => {
    try {
      await runServe(opts);
    } catch (err) {
      process.stderr.write(formatError(err, debug));
      process.exitCode = EXIT_ERROR;
    }
  });

const token = program.command('token').description('Manage API tokens (create shows the value once; list shows prefixes)');
token
  .command('create')
  .description('Create a token and print its value, once')
  .requiredOption('--name <name>', 'token name (lower-case letters, digits, -)')
  .requiredOption('--scopes <list>', 'comma-separated scopes, e.g. deploy:read,deploy:start')
  .option('--expires <duration>', 'lifetime, e.g. 30d, 12h (default: never expires)')
  .option('-o, --output <format>', 'json or yaml: print the whole token object (value included)')
  .action(action((ctx, opts: { name: string; scopes: string; expires?: string; output?: string }) => runTokenCreate(ctx, opts)));
token
  .command('list')
  .description('List tokens: prefix, scopes, created, expires, last used, revoked')
  .option('-o, --output <format>', 'json, yaml or name')
  .action(action((ctx, opts: { output?: string }) => runTokenList(ctx, opts)));
token
  .command('revoke')
  .description('Revoke a token by name or id; it stops working at once')
  .argument('<name-or-id>', 'token name or id')
  .action(action((ctx, nameOrId: string) => runTokenRevoke(ctx, nameOrId)));

const secret = program.command('secret').alias('secrets').description('Manage Secret values (write-only: they are never shown)');
secret
  .command('set')
  .description('Set keys of a Secret, creating it if missing; keys not named keep their values')
  .argument('<name>', 'Secret name')
  .argument('[pairs...]', 'KEY=VALUE (visible to local users in the process list; prefer --from-file)')
  .option('--from-file <key=path>', 'a value from a file (KEY=PATH, or PATH for its base name as key); repeatable', collect)
  .option('--type <type>', 'Secret type, e.g. Opaque or basic-auth')
  .action(action((ctx, name: string, pairs: string[], opts: { fromFile?: string[]; type?: string }) => runSecretSet(ctx, name, pairs, opts)));
secret
  .command('rotate-key')
  .description('Rotate the encryption key on the server and re-encrypt every stored value; rerun to finish an interrupted rotation')
  .option('-o, --output <format>', 'json or yaml')
  .action(action((ctx, opts: { output?: string }) => runRotateKey(ctx, opts)));

program
  .command('audit')
  .description('Show the audit log: every mutating call, oldest first')
  .option('--since <when>', 'only events newer than a duration (1h, 7d) or an RFC 3339 time')
  .option('--kind <kind>', 'only events about this kind, e.g. Service or Token')
  .option('--actor <actor>', 'only events by this actor, e.g. token:ci')
  .option('--limit <n>', 'at most this many events')
  .option('-o, --output <format>', 'json or yaml')
  .action(action((ctx, opts: { since?: string; kind?: string; actor?: string; limit?: string; output?: string }) => runAudit(ctx, opts)));

for (const command of program.commands) command.showHelpAfterError(`See 'holdfast ${command.name()} --help' for usage.`);

try {
  await program.parseAsync(serverNameAfterAttach(process.argv));
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode;
  else {
    process.stderr.write(formatError(err, debug));
    process.exitCode = EXIT_ERROR;
  }
}
