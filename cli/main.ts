// The `holdfast` command line: wiring of verbs and flags only; each verb lives in cli/commands/ and
// is loaded when it runs, so a command pays for its own code only (the build bundles this file with
// everything it loads into dist/cli/holdfast.cjs: scripts/build-cli.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { HoldfastError } from '../core/errors.js';
import { packageRoot } from '../core/package-root.js';
import type { HoldfastClient } from './client.js';
import { parseDuration, resolveClientConfig, resolveNamespace, type GlobalFlags } from './config.js';
import { EXIT_DIFF_ERROR, EXIT_ERROR, type CommandContext } from './context.js';
import type { ExecFlags } from './commands/exec.js';
import type { LogsFlags } from './commands/logs.js';
import type { ServeFlags } from './commands/serve.js';
import type { CleanupFlags } from './commands/server-cleanup.js';
import type { ServerNodeFlags, NodeVerb } from './commands/server-node.js';
import type { ServerAddFlags } from './commands/servers.js';

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

async function context(cmd: Command): Promise<CommandContext> {
  const flags = cmd.optsWithGlobals() as GlobalFlags & { allNamespaces?: boolean };
  let client: Promise<HoldfastClient> | undefined;
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    now: () => new Date(),
    client: () =>
      (client ??= Promise.all([resolveClientConfig(flags), import('./client.js')]).then(([config, { HoldfastClient }]) => new HoldfastClient(config))),
    // The server's configuration is not the user's contexts; `config` edits them (set-context's -n is what it sets).
    namespace: cmd.name() === 'serve' || cmd.parent?.name() === 'config' ? flags.namespace : await resolveNamespace(flags),
    interruptSignal,
  };
}

/** Runs a verb; anything it throws is printed as one `error:` line (a stack only with HOLDFAST_DEBUG=1). */
function action<A extends unknown[]>(run: (ctx: CommandContext, ...args: A) => Promise<number>, errorExitCode = EXIT_ERROR) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    try {
      process.exitCode = await run(await context(cmd), ...(args.slice(0, -1) as A));
    } catch (err) {
      await printError(err);
      process.exitCode = errorExitCode;
    }
  };
}

async function printError(err: unknown): Promise<void> {
  const { formatError } = await import('./error-output.js');
  process.stderr.write(formatError(err, debug));
}

/** For verbs where 1 means "differences found": usage mistakes are errors too, so above 1. */
const diffExitCodes = (err: CommanderError) => {
  throw err.exitCode === 0 ? err : new CommanderError(EXIT_DIFF_ERROR, err.code, err.message);
};

const collect = (value: string, previous: string[] = []) => [...previous, value];
const filenameOption = () => new Option('-f, --filename <path>', 'file, directory or - (stdin) with manifests; repeatable').argParser(collect);
const dryRunOption = () =>
  new Option('--dry-run [mode]', 'none, server (the server checks, nothing is stored) or client (checked locally, nothing sent)').preset('server');

/**
 * `access-assets ssh-key attach|detach --server NAME` and `server node drain|pause|activate NODE
 * --server NAME` name a Server, while the global `--server` is the API URL (kubectl's flag): after
 * those verbs, `--server` means the Server's name.
 */
function serverNameAfterVerb(argv: string[]): string[] {
  const verb = argv.findIndex(
    (a, i) =>
      ((a === 'attach' || a === 'detach') && argv[i - 1] === 'ssh-key' && argv[i - 2] === 'access-assets') ||
      ((NODE_VERBS as readonly string[]).includes(a) && argv[i - 1] === 'node' && argv[i - 2] === 'server'),
  );
  if (verb < 0) return argv;
  return argv.map((a, i) => (i > verb && a === '--server' ? '--server-name' : i > verb && a.startsWith('--server=') ? `--server-name=${a.slice(9)}` : a));
}

const USAGE_HINT = "See 'holdfast --help' for usage.";

const program = new Command('holdfast')
  .description('Holdfast keeps Docker hosts and Swarm clusters in the state your manifests declare.')
  .option('-s, --server <url>', 'Holdfast API URL (env HOLDFAST_URL; default http://127.0.0.1:7420)')
  .option('--token <token>', 'API token (env HOLDFAST_TOKEN; default: the admin.token file in the data directory)')
  .option('--certificate-authority <file>', 'PEM file of the authority that signed the server certificate, for https:// (env HOLDFAST_CA_FILE)')
  .option('-n, --namespace <project>', 'the project (namespace) of namespaced objects')
  .option('--request-timeout <duration>', 'how long to wait for each API request, e.g. 30s; 0 waits forever', '30s')
  .option('--context <name>', 'a named context of ~/.config/holdfast/config (env HOLDFAST_CONTEXT; default its current-context)')
  .version(version, '--version', 'print the holdfast version')
  .showHelpAfterError(USAGE_HINT)
  .exitOverride();

program
  .command('apply')
  .description('Create or update objects from manifests')
  .addOption(filenameOption().makeOptionMandatory())
  .option('-R, --recursive', 'read directories given with -f recursively')
  .addOption(dryRunOption())
  .option('--wait', 'wait for the rollouts of the services created or configured; exit 1 when one fails')
  .option('--timeout <duration>', 'with --wait: how long to wait, e.g. 10m (default 5m)')
  .option('--prune', 'with --inventory: delete what the inventory\'s last apply wrote and these manifests lack')
  .option('--inventory <name>', 'the ApplySet (in the project of -n) that records what this apply writes')
  .option('--allow-empty', 'with --prune: accept manifests with no objects (prunes the whole inventory)')
  .action(
    action(async (ctx, opts: { filename: string[]; recursive?: boolean; dryRun?: string | boolean; wait?: boolean; timeout?: string; prune?: boolean; inventory?: string; allowEmpty?: boolean }) =>
      (await import('./commands/apply.js')).runApply(ctx, {
        filename: opts.filename,
        recursive: opts.recursive,
        dryRun: (await import('./commands/apply.js')).parseDryRun(opts.dryRun),
        wait: opts.wait,
        timeout: opts.timeout,
        prune: opts.prune,
        inventory: opts.inventory,
        allowEmpty: opts.allowEmpty,
      }),
    ),
  );

// kubectl's `create`: not a verb of Holdfast's, which a kubectl user tries first. Hidden from help;
// it says where each thing `create` would make is made instead.
program
  .command('create', { hidden: true })
  .allowUnknownOption()
  .argument('[args...]')
  .action(() => {
    process.stderr.write(
      [
        "error: holdfast has no 'create' verb",
        '  objects (Project, Server, Service, Secret, BackupPolicy…): write a manifest, then holdfast apply -f FILE',
        '  an SSH key:     holdfast access-assets ssh-key create --name NAME --private-key-file FILE',
        '  an API token:   holdfast token create --help',
        '  a user:         holdfast user create NAME',
        USAGE_HINT,
        '',
      ].join('\n'),
    );
    process.exitCode = EXIT_ERROR;
  });

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
  .option('--no-headers', 'print table rows without the header line')
  .action(
    action(async (ctx, kind: string, names: string[], opts: Record<string, unknown>) =>
      (await import('./commands/get.js')).runGet(ctx, [kind, ...names], {
        output: opts.output as string | undefined,
        allNamespaces: opts.allNamespaces as boolean | undefined,
        selector: opts.selector as string | undefined,
        fieldSelector: opts.fieldSelector as string | undefined,
        watch: opts.watch as boolean | undefined,
        noHeaders: opts.headers === false,
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
  .action(action(async (ctx, kind: string, names: string[], opts: { selector?: string }) => (await import('./commands/describe.js')).runDescribe(ctx, [kind, ...names], opts)));

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
  .option('--cascade', 'delete a project with everything in it (asks first)')
  .option('--force', 'delete a server even while services target it')
  .option('-y, --yes', 'do not ask for confirmation (--cascade)')
  .action(
    action(async (ctx, args: string[], opts: { filename?: string[]; recursive?: boolean; ignoreNotFound?: boolean; dryRun?: string | boolean; wait: string; timeout: string; cascade?: boolean; force?: boolean; yes?: boolean }) =>
      (await import('./commands/delete.js')).runDelete(ctx, args, { ...opts, dryRun: (await import('./commands/apply.js')).parseDryRun(opts.dryRun), wait: opts.wait !== 'false', timeoutMs: parseDuration(opts.timeout) }),
    ),
  );

program
  .command('diff')
  .description('Show what apply would change, or with --live what runs against what was deployed (exit 0: none, 1: differences, 2: error)')
  .argument('[service...]', 'with --live: service/NAME')
  .addOption(filenameOption())
  .option('-R, --recursive', 'read directories given with -f recursively')
  .option('--live', "compare a service's frozen deployment input with what runs on its host")
  .option('--prune', 'with -f and gitrepository/NAME or applyset/NAME: also show what a sync (an apply --prune) of the manifests by that source would delete')
  .exitOverride(diffExitCodes)
  .action(
    action(async (ctx, args: string[], opts: { filename?: string[]; recursive?: boolean; live?: boolean; prune?: boolean }) => {
      if (opts.live && opts.filename?.length) throw new HoldfastError('BadRequest', '--live compares one service with what runs; it takes no -f');
      if (opts.prune) {
        const applySet = /^applysets?([/.]|$)/i.test(args[0] ?? '');
        const expected = applySet
          ? ({ kind: 'ApplySet', example: 'applyset/shop', words: ['apply set', 'apply sets'] } as const)
          : ({ kind: 'GitRepository', example: 'gitrepository/platform', words: ['git repository', 'git repositories'] } as const);
        const pruneSource = { kind: expected.kind, ...(await import('./service-arg.js')).parseNamespacedArg(args, ctx.namespace, 'diff --prune', { ...expected, words: [...expected.words] }) };
        return (await import('./commands/diff.js')).runDiff(ctx, { ...opts, pruneSource });
      }
      if (!opts.live && args.length) throw new HoldfastError('BadRequest', `to compare ${args.join(' ')} with what runs on its host, add --live`);
      return opts.live ? (await import('./commands/drift.js')).runLiveDiff(ctx, args) : (await import('./commands/diff.js')).runDiff(ctx, opts);
    }, EXIT_DIFF_ERROR),
  );

const backup = program.command('backup').description("Take, list and restore a backup policy's backups");
backup
  .command('run')
  .description('Take a backup now, whatever the schedule; waits until it is written, verified and retention applied')
  .argument('<policy...>', 'backuppolicy/NAME')
  .action(action(async (ctx, args: string[]) => (await import('./commands/backup.js')).runBackupRun(ctx, args)));
backup
  .command('list')
  .description('List the backups a policy keeps, newest first')
  .argument('<policy...>', 'backuppolicy/NAME')
  .option('-o, --output <format>', 'json or yaml')
  .action(action(async (ctx, args: string[], opts: { output?: string }) => (await import('./commands/backup.js')).runBackupList(ctx, args, opts)));
backup
  .command('restore')
  .description('Stream a backup back into the volume or database it was taken from (what is in it is written over), or a database backup into another database or Service')
  .argument('<policy...>', 'backuppolicy/NAME')
  .requiredOption('--backup <name>', 'the backup to restore (see backup list)')
  .option('--from <destination>', 'the destination to read it from (spec.destinations); the first that holds it by default')
  .option('--database <name>', 'restore a dump of one database into this database instead (made when it does not exist)')
  .option('--service <name>', "restore a database backup into this Service's database instead (same project, same engine)")
  .option('-y, --yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
  .action(action(async (ctx, args: string[], opts: { backup?: string; from?: string; database?: string; service?: string; yes?: boolean }) => (await import('./commands/backup.js')).runBackupRestore(ctx, args, opts)));

program
  .command('reconcile')
  .description('Sync a GitRepository now and wait for the result (exit 1 when the sync failed)')
  .argument('<source...>', 'gitrepository/NAME')
  .option('--timeout <duration>', 'how long to wait (default 5m)')
  .action(action(async (ctx, args: string[], opts: { timeout?: string }) => (await import('./commands/reconcile.js')).runReconcile(ctx, args, opts)));

const rollout = program.command('rollout').description("Manage a service's rollouts: history, undo, status");
rollout
  .command('history')
  .description('List the deployments of a service, newest first')
  .argument('<service...>', 'service/NAME')
  .option('-o, --output <format>', 'json or yaml')
  .action(action(async (ctx, args: string[], opts: { output?: string }) => (await import('./commands/rollout.js')).runRolloutHistory(ctx, args, opts)));
rollout
  .command('undo')
  .description('Roll a service back to an earlier revision (default: the last completed one before the current)')
  .argument('<service...>', 'service/NAME')
  .option('--to-revision <n>', 'the revision to redeploy (see rollout history)')
  .option('--wait', 'wait for the rollback deployment to end; exit 1 when it fails')
  .option('--timeout <duration>', 'with --wait: how long to wait (default 5m)')
  .option('-y, --yes', 'do not ask for confirmation (needed when stdin is not a terminal)')
  .action(action(async (ctx, args: string[], opts: { toRevision?: string; wait?: boolean; timeout?: string; yes?: boolean }) => (await import('./commands/rollout.js')).runRolloutUndo(ctx, args, opts)));
rollout
  .command('status')
  .description("Wait for a service's newest rollout to end, printing its progress (exit 1 when it failed, 130 on Ctrl-C)")
  .argument('<service...>', 'service/NAME')
  .option('--deployment <id>', 'follow this deployment of the service (default: the newest queued for it)')
  .option('--timeout <duration>', 'how long to wait (default 5m)')
  .action(action(async (ctx, args: string[], opts: { timeout?: string; deployment?: string }) => (await import('./commands/rollout.js')).runRolloutStatus(ctx, args, opts)));

program
  .command('logs')
  .description("Print a service's container logs (replicas interleaved, [web-1] before each line), or a deployment's log")
  .argument('[service...]', 'service/NAME')
  .option('--deployment <id>', "a deployment's log instead: STEP and line (see rollout history)")
  .option('-f, --follow', 'keep printing new lines: of the containers, including those a rollout or restart starts, until none runs; of a deployment, until it ends')
  .option('--tail <lines>', 'the last lines of each container only')
  .option('--since <duration>', 'only lines newer than this, e.g. 10m, 1h')
  .option('--timestamps', "each line with the engine's timestamp")
  .option('--replica <n>', 'one replica (1-based)')
  .option('-c, --container <name>', 'one compose service of a compose Service')
  .option('-p, --previous', 'the container a running rollout is replacing')
  .option('--prefix', 'always prefix lines with [replica] (default: when several containers are read)')
  .option('--no-prefix', 'never prefix lines')
  .addOption(new Option('--step <step>', 'with --deployment: only the lines of one step').choices(['clone', 'build', 'pull', 'volume', 'start', 'health', 'finalize']))
  .action(action(async (ctx, args: string[], opts: LogsFlags) => (await import('./commands/logs.js')).runLogs(ctx, args, opts)));

program
  .command('exec')
  .description('Run a command in a container of a service (e.g. exec -it service/web -n shop -- sh); exits with its exit code')
  .argument('<service>', 'service/NAME')
  .argument('[command...]', 'the command and its arguments, after --')
  .option('-i, --stdin', "pass this terminal's input to the command")
  .option('-t, --tty', 'run the command on a terminal (raw keys, window size, Ctrl-C to the command)')
  .option('--replica <n>', 'the replica (1-based; default: the first running one)')
  .option('-c, --container <name>', 'the compose service, for a compose Service')
  .action(action(async (ctx, target: string, command: string[], opts: ExecFlags) => (await import('./commands/exec.js')).runExec(ctx, target, command, opts)));

program
  .command('ssh')
  .description("Open a shell on a server over the control plane's SSH connection (a terminal when this is one; pipes for scripts)")
  .argument('<server>', 'server/NAME')
  .action(action(async (ctx, target: string) => (await import('./commands/exec.js')).runSsh(ctx, target)));

program
  .command('cancel')
  .description('Cancel a running deployment; it ends at its next step boundary')
  .requiredOption('--deployment <id>', 'deployment ID (see rollout history)')
  .action(action(async (ctx, opts: { deployment: string }) => (await import('./commands/deploy-actions.js')).runCancel(ctx, opts)));

program
  .command('sync')
  .description('Converge a service now, once, whatever its drift policy (recorded as a deployment)')
  .argument('<service...>', 'service/NAME')
  .option('--wait', 'wait for the deployment to end; exit 1 when it fails, 130 on Ctrl-C')
  .option('--timeout <duration>', 'with --wait: how long to wait (default 5m)')
  .option('-y, --yes', 'do not ask for confirmation (after a rollout undo, sync asks before rolling the declared spec out again)')
  .action(action(async (ctx, args: string[], opts: { wait?: boolean; timeout?: string; yes?: boolean }) => (await import('./commands/deploy-actions.js')).runSync(ctx, args, opts)));

program
  .command('drift')
  .description("List services whose hosts or declared specs differ from what was deployed, or one service's drift (exit 0: none, 1: drift, 2: error)")
  .argument('[service...]', 'service/NAME: its drift entries')
  .option('-A, --all-namespaces', 'across every project')
  .option('-o, --output <format>', 'json or yaml')
  .exitOverride(diffExitCodes)
  .action(action(async (ctx, args: string[], opts: { allNamespaces?: boolean; output?: string }) => (await import('./commands/drift.js')).runDrift(ctx, args, opts), EXIT_DIFF_ERROR));

program
  .command('api-resources')
  .description('List the kinds the API serves')
  .action(action(async (ctx) => (await import('./commands/api-resources.js')).runApiResources(ctx)));

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
  .action(action(async (ctx, opts: ServerAddFlags) => (await import('./commands/servers.js')).runServerAdd(ctx, opts)));
serverCmd
  .command('nodes')
  .description("The nodes of a Swarm manager's swarm: role, status, availability, leader, engine version, address, labels")
  .argument('<server>', 'server name (or server/NAME) of a docker-swarm-manager')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['json']))
  .action(action(async (ctx, target: string, opts: { output?: string }) => (await import('./commands/server-nodes.js')).runServerNodes(ctx, target, opts)));
const NODE_VERBS: readonly NodeVerb[] = ['drain', 'pause', 'activate'];
const nodeCmd = serverCmd.command('node').description("Change a Swarm node's availability (drain, pause, activate) on a manager Server's swarm");
const NODE_VERB_HELP: Record<NodeVerb, string> = {
  drain: 'Stop placing tasks on a node and move its tasks to other nodes; waits until they run there and says where (asks first unless --yes)',
  pause: 'Stop placing new tasks on a node; its running tasks stay',
  activate: 'Let Swarm place tasks on a node again (running tasks are not moved back)',
};
for (const verb of NODE_VERBS) {
  const cmd = nodeCmd
    .command(verb)
    .description(NODE_VERB_HELP[verb])
    .argument('<node>', 'the node: its hostname or ID (as holdfast server nodes lists them)')
    .option('--server-name <name>', "the manager's Server (written --server NAME after the verb)");
  if (verb === 'drain') cmd.option('--timeout <duration>', 'how long to wait for the tasks to move', '2m').option('-y, --yes', 'do not ask for confirmation');
  cmd.action(action(async (ctx, node: string, opts: ServerNodeFlags) => (await import('./commands/server-node.js')).runServerNode(ctx, verb, node, opts)));
}
serverCmd
  .command('cleanup')
  .description("Remove what a server no longer needs: stopped containers, unused images and networks of Holdfast's (with --all anyone's, and the build cache); --dry-run lists them with sizes")
  .argument('<server>', 'server name (or server/NAME)')
  .option('--dry-run', 'list what would be removed, with sizes and a total; remove nothing')
  .option('--all', 'also objects Holdfast did not create, and the build cache (asks for confirmation)')
  .option('-y, --yes', 'do not ask for confirmation (--all)')
  .option('--keep-deployments <n>', 'keep the images of this many latest deployments of every Service (default 5)')
  .action(action(async (ctx, target: string, opts: CleanupFlags) => (await import('./commands/server-cleanup.js')).runServerCleanup(ctx, target, opts)));

program
  .command('status')
  .description('Fleet readiness: servers ready, needing attention, blocked')
  .option('--json', 'print as JSON ({ ok, data: { servers: { summary, checks } } })')
  .action(action(async (ctx, opts: { json?: boolean }) => (await import('./commands/servers.js')).runStatus(ctx, { json: opts.json })));

program
  .command('doctor')
  .description('Like status, plus every failing check with a recommended action (exit 1 when a server is blocked)')
  .option('--json', 'print as JSON')
  .action(action(async (ctx, opts: { json?: boolean }) => (await import('./commands/servers.js')).runStatus(ctx, { json: opts.json, doctor: true })));

const sshKeyCmd = program.command('access-assets').description('Credentials Holdfast uses to reach servers').command('ssh-key').description('Manage SSH keys (stored encrypted; reads show only fingerprints)');
sshKeyCmd
  .command('create')
  .description('Store a private key as an SSHKey')
  .requiredOption('--name <name>', 'SSHKey name')
  .requiredOption('--private-key-file <file>', 'unencrypted OpenSSH private key')
  .action(action(async (ctx, opts: { name: string; privateKeyFile: string }) => (await import('./commands/servers.js')).runSshKeyCreate(ctx, opts)));
sshKeyCmd
  .command('list')
  .description('List SSH keys with fingerprints and the servers using them')
  .option('--json', 'print as JSON')
  .action(action(async (ctx, opts: { json?: boolean }) => (await import('./commands/servers.js')).runSshKeyList(ctx, opts)));
sshKeyCmd
  .command('attach')
  .description('Make a server log in with this key')
  .requiredOption('--key <name>', 'SSHKey name')
  .requiredOption('--server-name <name>', 'Server name (written --server NAME after attach/detach)')
  .action(action(async (ctx, opts: { key: string; serverName: string }) => (await import('./commands/servers.js')).runSshKeyAttach(ctx, { key: opts.key, server: opts.serverName })));
sshKeyCmd
  .command('detach')
  .description("Remove a server's key (the server stays, unreachable until a key is attached)")
  .requiredOption('--server-name <name>', 'Server name (written --server NAME after attach/detach)')
  .action(action(async (ctx, opts: { serverName: string }) => (await import('./commands/servers.js')).runSshKeyDetach(ctx, { server: opts.serverName })));
sshKeyCmd
  .command('rotate')
  .description('Replace the private key of an SSHKey (servers using it switch on their next connection)')
  .requiredOption('--name <name>', 'SSHKey name')
  .requiredOption('--private-key-file <file>', 'the new unencrypted OpenSSH private key')
  .action(action(async (ctx, opts: { name: string; privateKeyFile: string }) => (await import('./commands/servers.js')).runSshKeyRotate(ctx, opts)));
sshKeyCmd
  .command('delete')
  .description('Delete an SSHKey (refused while servers use it, unless --force)')
  .requiredOption('--name <name>', 'SSHKey name')
  .option('--force', 'delete even if servers use it')
  .action(action(async (ctx, opts: { name: string; force?: boolean }) => (await import('./commands/servers.js')).runSshKeyDelete(ctx, opts)));

program
  .command('serve')
  .description('Run the Holdfast API server')
  .option('--data-dir <dir>', 'where the embedded database, keys and admin token live (env HOLDFAST_DATA_DIR; default ~/.holdfast)')
  .option('--listen <host:port>', 'address to serve the API on (default 127.0.0.1:7420)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal']))
  .option('--tls-cert-file <file>', 'PEM certificate: serve HTTPS (env HOLDFAST_TLS_CERT_FILE); kubectl sends tokens only over TLS')
  .option('--tls-key-file <file>', 'PEM private key for --tls-cert-file (env HOLDFAST_TLS_KEY_FILE)')
  .option('--reset-admin-token', 'revoke the admin token, write a new one to <data-dir>/admin.token, then serve')
  .option('--oidc-issuer <url>', 'single sign-on: the OpenID Provider, found by discovery (env HOLDFAST_OIDC_ISSUER)')
  .option('--oidc-client-id <id>', 'single sign-on: this server\'s client id at the provider (env HOLDFAST_OIDC_CLIENT_ID)')
  .option('--oidc-client-secret-file <file>', 'single sign-on: a file holding the client secret (env HOLDFAST_OIDC_CLIENT_SECRET_FILE)')
  .option('--oidc-redirect-url <url>', 'single sign-on: this server\'s /auth/oidc/callback as browsers reach it (env HOLDFAST_OIDC_REDIRECT_URL)')
  .option('--oidc-scopes <scopes>', 'single sign-on: scopes to ask for (env HOLDFAST_OIDC_SCOPES; default "openid email profile")')
  .option('--oidc-groups-claim <claim>', 'single sign-on: the ID token claim listing groups (env HOLDFAST_OIDC_GROUPS_CLAIM; default groups)')
  .option('--oidc-allowed-domains <list>', 'single sign-on: comma-separated email domains allowed to sign in (env HOLDFAST_OIDC_ALLOWED_DOMAINS; default all)')
  // Not part of the CLI's bundle: the server runs from dist/ (see scripts/build-cli.ts).
  .action(async (opts: ServeFlags) => (await import('./commands/serve.js')).runServe(opts));

const token = program.command('token').description('Manage API tokens (create shows the value once; list shows prefixes)');
token
  .command('create')
  .description('Create a token and print its value, once')
  .requiredOption('--name <name>', 'token name (lower-case letters, digits, -)')
  .requiredOption('--scopes <list>', 'comma-separated scopes, e.g. deploy:read,deploy:start')
  .option('--expires <duration>', 'lifetime, e.g. 30d, 12h (default: never expires)')
  .option('--subject <subject>', 'the token acts for this subject, within its roles: serviceaccount:PROJECT:NAME or user:NAME')
  .option('-o, --output <format>', 'json or yaml: print the whole token object (value included)')
  .action(action(async (ctx, opts: { name: string; scopes: string; expires?: string; subject?: string; output?: string }) => (await import('./commands/token.js')).runTokenCreate(ctx, opts)));
token
  .command('list')
  .description('List tokens: prefix, scopes, created, expires, last used, revoked')
  .option('-o, --output <format>', 'json, yaml or name')
  .action(action(async (ctx, opts: { output?: string }) => (await import('./commands/token.js')).runTokenList(ctx, opts)));
token
  .command('revoke')
  .description('Revoke a token by name or id; it stops working at once')
  .argument('<name-or-id>', 'token name or id')
  .action(action(async (ctx, nameOrId: string) => (await import('./commands/token.js')).runTokenRevoke(ctx, nameOrId)));

const secret = program.command('secret').alias('secrets').description('Manage Secret values (write-only: they are never shown)');
secret
  .command('set')
  .description('Set keys of a Secret, creating it if missing; keys not named keep their values')
  .argument('<name>', 'Secret name')
  .argument('[pairs...]', 'KEY=VALUE (visible to local users in the process list; prefer --from-file)')
  .option('--from-file <key=path>', 'a value from a file (KEY=PATH, or PATH for its base name as key); repeatable', collect)
  .option('--type <type>', 'Secret type, e.g. Opaque or basic-auth')
  .action(action(async (ctx, name: string, pairs: string[], opts: { fromFile?: string[]; type?: string }) => (await import('./commands/secret.js')).runSecretSet(ctx, name, pairs, opts)));
secret
  .command('rotate-key')
  .description('Rotate the encryption key on the server and re-encrypt every stored value; rerun to finish an interrupted rotation')
  .option('-o, --output <format>', 'json or yaml')
  .action(action(async (ctx, opts: { output?: string }) => (await import('./commands/secrets-rotate-key.js')).runRotateKey(ctx, opts)));

program
  .command('login')
  .description('Sign in as a user (password, or single sign-on in a browser); the session is kept in your config (0600) and used by later commands')
  .argument('[username]', 'user name (password sign-in)')
  .option('--password-stdin', 'read the password from standard input')
  .option('--totp <code>', 'the one-time code of your authenticator app (asked for at the terminal when needed)')
  .option('--oidc', "sign in through the server's single sign-on in a browser, which comes back to this command on 127.0.0.1")
  .option('--no-browser', 'with --oidc: only print the address to open, do not start a browser')
  .option('--timeout <duration>', 'with --oidc: how long to wait for the browser (default 5m)')
  .action(
    action(async (ctx, username: string | undefined, opts: { passwordStdin?: boolean; totp?: string; oidc?: boolean; browser?: boolean; timeout?: string }) => {
      if (opts.oidc) {
        if (username || opts.passwordStdin || opts.totp) throw new HoldfastError('BadRequest', 'holdfast login --oidc takes no user name, password or --totp: the provider asks for them in the browser');
        return (await import('./commands/login-oidc.js')).runLoginOidc(ctx, opts);
      }
      if (!username) throw new HoldfastError('BadRequest', 'name the user to sign in as (holdfast login NAME --password-stdin), or sign in through single sign-on with holdfast login --oidc');
      return (await import('./commands/login.js')).runLogin(ctx, username, opts);
    }),
  );
program
  .command('whoami')
  .description('Show who the CLI acts as')
  .action(action(async (ctx) => (await import('./commands/login.js')).runWhoami(ctx)));
program
  .command('logout')
  .description('End the session of holdfast login')
  .option('--everywhere', "end every session of the user (other browsers and terminals too)")
  .action(action(async (ctx, opts: { everywhere?: boolean }) => (await import('./commands/login.js')).runLogout(ctx, opts)));
const user = program.command('user').description('Manage local users');
user
  .command('create')
  .description('Create a local user (password from standard input)')
  .argument('<name>', 'user name')
  .option('--admin', 'bind the admin role on the whole control plane')
  .option('--password-stdin', 'read the password from standard input')
  .action(action(async (ctx, name: string, opts: { admin?: boolean; passwordStdin?: boolean }) => (await import('./commands/login.js')).runUserCreate(ctx, name, opts)));
user
  .command('totp')
  .description('Second factor (TOTP) of a local user')
  .command('enable')
  .description('Give the user a new TOTP secret: prints its otpauth:// URI once; sign-in then asks for a code')
  .argument('<name>', 'user name')
  .action(action(async (ctx, name: string) => (await import('./commands/login.js')).runUserTotpEnable(ctx, name)));

const config = program.command('config').description('Named contexts (server, certificate authority, token) in ~/.config/holdfast/config, as kubectl config');
config
  .command('get-contexts')
  .description('List the contexts; * marks the current one')
  .action(action(async (ctx) => (await import('./commands/config.js')).runGetContexts(ctx)));
config
  .command('current-context')
  .description('Print the current context')
  .action(action(async (ctx) => (await import('./commands/config.js')).runCurrentContext(ctx)));
config
  .command('use-context')
  .description('Make a context the current one')
  .argument('<name>', 'context name')
  .action(action(async (ctx, name: string) => (await import('./commands/config.js')).runUseContext(ctx, name)));
config
  .command('set-context')
  .description('Create a context or change it: the global --server, --certificate-authority, --token and -n/--namespace given set it (an empty value removes a setting)')
  .argument('<name>', 'context name')
  .action(action(async (ctx, name: string) => (await import('./commands/config.js')).runSetContext(ctx, name, program.opts() as GlobalFlags)));

const auth = program.command('auth').description('Inspect authorization');
auth
  .command('can-i')
  .description('Whether you (or --as a subject) may do VERB on RESOURCE: prints yes or no, exits 0 or 1')
  .argument('<verb>', 'read, plan, write, deploy, rollback, cancel, run, restore, logs, exec, rotate (or get, list, create, delete…)')
  .argument('<resource>', 'a resource, e.g. services or services/web')
  .argument('[name]', 'one object by name')
  .option('--as <subject>', 'ask for another subject: user:NAME or serviceaccount:PROJECT:NAME')
  .action(action(async (ctx, verb: string, resource: string, name: string | undefined, opts: { as?: string }) => (await import('./commands/auth.js')).runCanI(ctx, verb, resource, name, opts)));

program
  .command('audit')
  .description('Show the audit log: every mutating call, oldest first')
  .option('--since <when>', 'only events newer than a duration (1h, 7d) or an RFC 3339 time')
  .option('--kind <kind>', 'only events about this kind, e.g. Service or Token')
  .option('--actor <actor>', 'only events by this person or token, e.g. user:alice, serviceaccount:shop:ci, token:ci')
  .option('--verb <verb>', 'only events of this verb, e.g. login, create, delete')
  .option('--limit <n>', 'at most this many events')
  .option('-o, --output <format>', 'json or yaml')
  .action(action(async (ctx, opts: { since?: string; kind?: string; actor?: string; verb?: string; limit?: string; output?: string }) => (await import('./commands/audit.js')).runAudit(ctx, opts)));

for (const command of program.commands) command.showHelpAfterError(`See 'holdfast ${command.name()} --help' for usage.`);

program.parseAsync(serverNameAfterVerb(process.argv)).catch(async (err: unknown) => {
  if (err instanceof CommanderError) process.exitCode = err.exitCode;
  else {
    await printError(err);
    process.exitCode = EXIT_ERROR;
  }
});
