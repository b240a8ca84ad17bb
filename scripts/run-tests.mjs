#!/usr/bin/env node
// The project's test command (`npm test`). Runs node's built-in test runner, with tsx for
// TypeScript, over the test files of each group in order:
//
//   unit         test/unit          pure code; files run in parallel (node's default concurrency)
//   integration  test/integration   real sshd, dockerd, PostgreSQL; two lanes, each one file at a time
//                                   on its own test hosts (lane 1: hosts 1-3, lane 2: hosts 4-6)
//   e2e          test/e2e           the whole product, CLI and browser; one file at a time
//
//   node scripts/run-tests.mjs                      all groups
//   node scripts/run-tests.mjs unit e2e             those groups
//   node scripts/run-tests.mjs test/unit/core       files under a path (or single files)
//
// Before integration or e2e files run, the test hosts are started (scripts/test-hosts.sh); they are
// stopped at the end if this run started them (set HOLDFAST_KEEP_TEST_HOSTS=1 to keep them).
// Output is node's own reporter output per group (per file when a group runs in lanes, each file's
// output printed whole when it ends), then one combined summary in node's TAP summary form
// (`# pass N`, `# fail N`, ...) and a closing `N passed, N failed` line.
// A test file that needs the first test hosts as they are (host 1 is the Swarm manager) says so with
// a line `// test-hosts: first` and runs in the first lane.
// Environment: HOLDFAST_TEST_TIMEOUT_MS overrides the per-file timeout of every group.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEST_HOSTS_SCRIPT = join(ROOT, 'scripts', 'test-hosts.sh');
const TEST_FILE = /\.test\.(ts|tsx|mts|js|mjs)$/;
const TEST_HOSTS_START_TIMEOUT_MS = 15 * 60_000;
const TEST_HOSTS_STOP_TIMEOUT_MS = 3 * 60_000;

const GROUPS = [
  { name: 'unit', dir: 'test/unit', concurrency: undefined, fileTimeoutMs: 2 * 60_000, needsHosts: false },
  // Host tests wait on hosts far more than they use a core: two lanes on separate hosts halve the time.
  { name: 'integration', dir: 'test/integration', concurrency: 1, fileTimeoutMs: 15 * 60_000, needsHosts: true, lanes: 2, hostsPerLane: 3 },
  { name: 'e2e', dir: 'test/e2e', concurrency: 1, fileTimeoutMs: 15 * 60_000, needsHosts: true },
];

const SUMMARY_KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];
// node's closing summary: unindented `# key number` lines.
const SUMMARY_LINE = new RegExp(`^# (${SUMMARY_KEYS.join('|')}) (\\d+(?:\\.\\d+)?)$`);

function note(message) {
  process.stdout.write(`# ${message}\n`);
}

function fail(message) {
  process.stderr.write(`run-tests: ${message}\n`);
  process.exit(2);
}

function listTestFiles(path) {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return TEST_FILE.test(path) ? [path] : [];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && TEST_FILE.test(entry.name))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .filter((file) => !file.split(sep).includes('node_modules'))
    .sort();
}

// Turns the command line into [{ group, files }] in group order.
function selectRuns(args) {
  const selected = new Map();
  const add = (group, files) => {
    const run = selected.get(group.name) ?? { group, files: new Set() };
    for (const file of files) run.files.add(file);
    selected.set(group.name, run);
  };
  const wanted = args.filter((arg) => arg !== '--');
  if (wanted.length === 0) {
    for (const group of GROUPS) add(group, listTestFiles(join(ROOT, group.dir)));
  }
  for (const arg of wanted) {
    const group = GROUPS.find((candidate) => candidate.name === arg);
    if (group) {
      add(group, listTestFiles(join(ROOT, group.dir)));
      continue;
    }
    const path = resolve(arg);
    if (!existsSync(path)) {
      fail(`'${arg}' is neither a test group (${GROUPS.map((g) => g.name).join(', ')}) nor an existing path`);
    }
    const files = listTestFiles(path);
    if (files.length === 0) fail(`no test files (*.test.ts, *.test.tsx, ...) under '${arg}'`);
    for (const file of files) {
      const inGroup =
        GROUPS.find((candidate) => !relative(join(ROOT, candidate.dir), file).startsWith('..')) ??
        GROUPS.find((candidate) => candidate.name === 'integration');
      add(inGroup, [file]);
    }
  }
  return GROUPS.filter((group) => selected.has(group.name)).map((group) => ({
    group,
    files: [...selected.get(group.name).files].sort(),
  }));
}

// ---------------------------------------------------------------------------------------------
// Test hosts

function testHostsRunning() {
  const result = spawnSync('bash', [TEST_HOSTS_SCRIPT, 'env'], { stdio: 'ignore', timeout: 60_000 });
  return result.status === 0;
}

// Ensures the first `count` test hosts (after HOLDFAST_TESTHOSTS_OFFSET) run. Returns
// { started, ok }: started is true when this run brought the hosts up.
function ensureTestHosts(count) {
  if (!existsSync(TEST_HOSTS_SCRIPT)) {
    note('scripts/test-hosts.sh not found: not starting test hosts');
    return { started: false, ok: true };
  }
  if (process.getuid?.() !== 0) {
    note('not root: not starting test hosts (scripts/test-hosts.sh needs root); tests that need them will fail');
    return { started: false, ok: true };
  }
  const wasRunning = testHostsRunning();
  note(wasRunning ? 'test hosts: already running, checking them' : 'test hosts: starting');
  const started = Date.now();
  // Its output goes to stderr so that stdout stays the test runner's report.
  const offset = Number(process.env.HOLDFAST_TESTHOSTS_OFFSET ?? 0) || 0;
  const result = spawnSync('bash', [TEST_HOSTS_SCRIPT, 'start', String(count + offset)], {
    stdio: ['ignore', process.stderr, process.stderr],
    timeout: TEST_HOSTS_START_TIMEOUT_MS,
  });
  const ok = result.status === 0;
  if (ok) note(`test hosts: ready in ${seconds(Date.now() - started)}`);
  else process.stderr.write(`run-tests: scripts/test-hosts.sh start failed (${describeExit(result)})\n`);
  return { started: !wasRunning, ok };
}

function stopTestHosts() {
  note('test hosts: stopping (this run started them)');
  const result = spawnSync('bash', [TEST_HOSTS_SCRIPT, 'stop'], {
    stdio: ['ignore', process.stderr, process.stderr],
    timeout: TEST_HOSTS_STOP_TIMEOUT_MS,
  });
  if (result.status !== 0) process.stderr.write(`run-tests: scripts/test-hosts.sh stop failed (${describeExit(result)})\n`);
}

// ---------------------------------------------------------------------------------------------
// Running one group

const children = new Set();
let interruptedBy;

function emptySummary() {
  return Object.fromEntries(SUMMARY_KEYS.map((key) => [key, 0]));
}

function addSummary(total, summary) {
  for (const key of SUMMARY_KEYS) total[key] += summary[key];
}

function parseSummary(lines) {
  const found = {};
  for (const line of lines) {
    const match = SUMMARY_LINE.exec(line);
    if (match) found[match[1]] = Number(match[2]);
  }
  return 'pass' in found && 'fail' in found ? { ...emptySummary(), ...found } : undefined;
}

function timeoutOf(group) {
  return Number(process.env.HOLDFAST_TEST_TIMEOUT_MS) || group.fileTimeoutMs;
}

/**
 * One run of node's test runner over `files`. With `live`, its report is shown as it comes: the spec
 * reporter on a terminal (the summary read from a TAP copy in a file), the TAP stream elsewhere (CI),
 * minus node's closing summary, which is printed once for all groups at the end. Without, nothing is
 * shown and the TAP lines are returned for the caller to print.
 */
async function runNodeTest(group, files, { live, env = {} }) {
  const args = ['--import', 'tsx', '--test', `--test-timeout=${timeoutOf(group)}`];
  if (group.concurrency !== undefined) args.push(`--test-concurrency=${group.concurrency}`);
  const spec = live && Boolean(process.stdout.isTTY);
  const tapDir = spec ? mkdtempSync(join(tmpdir(), 'holdfast-tap-')) : undefined;
  const tapFile = tapDir && join(tapDir, 'report.tap');
  if (spec) {
    args.push('--test-reporter=spec', '--test-reporter-destination=stdout');
    args.push('--test-reporter=tap', `--test-reporter-destination=${tapFile}`);
  } else {
    args.push('--test-reporter=tap', '--test-reporter-destination=stdout');
  }
  args.push(...files.map((file) => relative(ROOT, file)));

  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, HOLDFAST_TEST_GROUP: group.name, ...env },
    stdio: ['ignore', spec ? 'inherit' : 'pipe', 'inherit'],
  });
  children.add(child);

  const tapLines = [];
  if (!spec) {
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => {
      tapLines.push(line);
      if (live && !SUMMARY_LINE.test(line)) process.stdout.write(`${line}\n`);
    });
  }
  const exit = await new Promise((resolveExit) => {
    child.once('error', (error) => resolveExit({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolveExit({ code, signal }));
  });
  children.delete(child);

  if (spec) {
    try {
      tapLines.push(...readFileSync(tapFile, 'utf8').split('\n'));
    } catch {
      // No report file: node ended before reporting; handled as a missing summary below.
    }
    rmSync(tapDir, { recursive: true, force: true });
  }
  const summary = parseSummary(tapLines);
  const ok = exit.code === 0 && summary !== undefined && summary.fail === 0 && summary.cancelled === 0;
  return { exit, summary, ok, tapLines };
}

async function runGroup(group, files) {
  const lanes = laneCount(group, files);
  note(
    `group ${group.name}: ${files.length} file(s), ` +
      (lanes > 1 ? `${lanes} lanes of one file at a time` : `concurrency ${group.concurrency ?? 'default'}`) +
      `, timeout ${seconds(timeoutOf(group))} per test`,
  );
  const started = Date.now();
  const result = lanes > 1 ? await runInLanes(group, files, lanes) : await runAtOnce(group, files);
  const wallMs = Date.now() - started;
  if (result.reported) {
    const { summary } = result;
    note(
      `group ${group.name}: tests ${summary.tests}, pass ${summary.pass}, fail ${summary.fail}, ` +
        `cancelled ${summary.cancelled}, skipped ${summary.skipped}, todo ${summary.todo} (${seconds(wallMs)})`,
    );
  }
  return { ...result, wallMs };
}

function laneCount(group, files) {
  return Math.min(group.lanes ?? 1, files.length);
}

async function runAtOnce(group, files) {
  const run = await runNodeTest(group, files, { live: true });
  if (!run.summary) note(`group ${group.name}: node's test runner ended without a summary (${describeExit(run.exit)})`);
  return { summary: run.summary ?? emptySummary(), reported: Boolean(run.summary), ok: run.ok, failures: parseFailures(run.tapLines) };
}

/**
 * Lanes pull files from one queue, largest file first (a rough stand-in for the longest), each lane
 * on its own test hosts (HOLDFAST_TESTHOSTS_OFFSET); files marked `// test-hosts: first` go to the
 * first lane only. A file's report is printed whole when it ends, so lanes never interleave lines.
 */
async function runInLanes(group, files, laneCount) {
  const baseOffset = Number(process.env.HOLDFAST_TESTHOSTS_OFFSET ?? 0) || 0;
  const bySizeDescending = (a, b) => statSync(b).size - statSync(a).size;
  const firstOnly = files.filter(needsFirstHosts).sort(bySizeDescending);
  const anyLane = files.filter((file) => !needsFirstHosts(file)).sort(bySizeDescending);
  const total = emptySummary();
  const failures = [];
  let ok = true;

  const lane = async (index) => {
    const env = { HOLDFAST_TESTHOSTS_OFFSET: String(baseOffset + index * group.hostsPerLane) };
    for (;;) {
      if (interruptedBy) return;
      const file = (index === 0 && firstOnly.shift()) || anyLane.shift();
      if (!file) return;
      const started = Date.now();
      const run = await runNodeTest(group, [file], { live: false, env });
      for (const line of run.tapLines) if (!SUMMARY_LINE.test(line)) process.stdout.write(`${line}\n`);
      const name = relative(ROOT, file);
      if (run.summary) addSummary(total, run.summary);
      else {
        // A file that died before its summary (a crash at import, a kill) still counts as a failure.
        total.fail += 1;
        failures.push({ name, details: [`node's test runner ended without a summary (${describeExit(run.exit)})`] });
      }
      failures.push(...parseFailures(run.tapLines));
      if (!run.ok) ok = false;
      const counts = run.summary ? `pass ${run.summary.pass}, fail ${run.summary.fail}` : 'no summary';
      note(`${name}: ${counts} (${seconds(Date.now() - started)}, lane ${index + 1})`);
    }
  };
  await Promise.all(Array.from({ length: laneCount }, (_, index) => lane(index)));
  return { summary: total, reported: true, ok, failures };
}

function needsFirstHosts(file) {
  return /^\/\/ test-hosts: first\b/m.test(readFileSync(file, 'utf8'));
}

/**
 * The failed tests of a TAP stream, each with its error: what a reader of a long CI log needs at
 * the end. Suites that failed only because a subtest did are left out (the subtest is listed).
 */
function parseFailures(lines) {
  const failures = [];
  for (let i = 0; i < lines.length; i++) {
    // Activity after a test ended (an unhandled rejection, say) is reported as a comment only.
    if (/^# Error: /.test(lines[i])) failures.push({ name: 'reported by the test runner', details: [lines[i].slice(2, 1000)] });
    const head = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
    if (!head) continue;
    const indent = head[1].length;
    const details = [];
    let failureType;
    let inError = false;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j];
      if (line.trim() === '...' && line.length - line.trimStart().length === indent + 2) break;
      const field = /^\s*(\w+): ?(.*)$/.exec(line);
      const fieldIndent = line.length - line.trimStart().length;
      if (field && fieldIndent === indent + 2) {
        inError = field[1] === 'error' || field[1] === 'location';
        if (field[1] === 'failureType') failureType = field[2].replace(/'/g, '');
        if (inError && field[2] && field[2] !== '|-') details.push(`${field[1]}: ${field[2]}`);
      } else if (inError && line.trim()) details.push(line.trim());
    }
    if (failureType !== 'subtestsFailed') failures.push({ name: head[2], details: details.slice(0, 12) });
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function describeExit(result) {
  if (result.error) return result.error.message;
  if (result.signal) return `killed by ${result.signal}`;
  return `exit code ${result.status ?? result.code}`;
}

async function main() {
  if (!existsSync(join(ROOT, 'node_modules', 'tsx'))) {
    fail("tsx is not installed: run 'bash scripts/setup.sh test' first");
  }
  const runs = selectRuns(process.argv.slice(2));

  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      interruptedBy = signal;
      for (const child of children) child.kill(signal);
    });
  }

  const total = emptySummary();
  const failures = [];
  let allOk = true;
  let hosts;
  const started = Date.now();
  try {
    for (const { group, files } of runs) {
      if (interruptedBy) break;
      if (files.length === 0) {
        note(`group ${group.name}: no test files under ${group.dir}`);
        continue;
      }
      if (group.needsHosts && !hosts) {
        hosts = ensureTestHosts(Math.max(2, ...runs.map(({ group: g, files: f }) => laneCount(g, f) * (g.hostsPerLane ?? 0))));
        if (!hosts.ok) allOk = false;
      }
      const result = await runGroup(group, files);
      addSummary(total, result.summary);
      failures.push(...result.failures.map((failure) => ({ ...failure, group: group.name })));
      if (!result.ok) allOk = false;
    }
  } finally {
    if (hosts?.started && !process.env.HOLDFAST_KEEP_TEST_HOSTS) stopTestHosts();
  }
  total.duration_ms = Date.now() - started;

  if (interruptedBy) {
    note(`interrupted by ${interruptedBy}`);
    allOk = false;
  }
  const failed = total.fail + total.cancelled;
  for (const key of SUMMARY_KEYS) process.stdout.write(`# ${key} ${total[key]}\n`);
  process.stdout.write(`${total.pass} passed, ${failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}\n`);
  // Last, because a long CI log is read from its end.
  if (failures.length > 0) {
    process.stdout.write(`# failed tests (${failures.length}), with their errors:\n`);
    for (const failure of failures) {
      process.stdout.write(`# [${failure.group}] ${failure.name}\n`);
      for (const line of failure.details) process.stdout.write(`#     ${line}\n`);
    }
  }
  process.exitCode = allOk && failed === 0 ? 0 : 1;
}

await main();
