// Named contexts: the config file checked field by field, the context chosen (--context, then
// HOLDFAST_CONTEXT, then current-context), and its place between the environment and the defaults;
// the context's namespace used when -n is not given, as kubectl's is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveClientConfig, resolveNamespace } from '../../../cli/config.js';
import { chooseContext, effectiveNamespace, emptyConfig, parseConfigFile, serializeConfigFile, setContext, useContext } from '../../../cli/config-file.js';

const PATH = '/cfg/holdfast/config';
const FILE = `apiVersion: holdfast.dev/v1alpha1
kind: Config
current-context: prod
contexts:
  - name: prod
    context: { server: 'https://prod.example:7420', certificate-authority: /cfg/prod-ca.crt, token: hft_prod, namespace: shop }
  - name: local
    context: { server: 'http://127.0.0.1:7420' }
`;
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function files(entries: Record<string, string>) {
  return async (path: string) => {
    if (path in entries) return entries[path];
    throw Object.assign(new Error('missing'), { code: 'ENOENT' });
  };
}

describe('parseConfigFile', () => {
  it('reads contexts and the current one', () => {
    const config = parseConfigFile(FILE, PATH);
    assert.equal(config['current-context'], 'prod');
    assert.deepEqual(config.contexts.map((c) => c.name), ['prod', 'local']);
    assert.equal(config.contexts[0].context['certificate-authority'], '/cfg/prod-ca.crt');
  });

  it('reads back what it writes', () => {
    const config = parseConfigFile(FILE, PATH);
    assert.deepEqual(parseConfigFile(serializeConfigFile(config), PATH), config);
  });

  it('an empty file has no contexts', () => assert.deepEqual(parseConfigFile('', PATH), emptyConfig()));

  const bad: Array<[name: string, text: string, message: RegExp]> = [
    ['not YAML', 'contexts: [', /\/cfg\/holdfast\/config is not valid YAML/],
    ['another kind', 'kind: Pod', /kind must be Config, not "Pod"/],
    ['contexts not a list', 'contexts: 3', /contexts must be a list/],
    ['a context without a name', 'contexts: [{ context: {} }]', /contexts\[0\]\.name must be a name/],
    ['an unknown setting', 'contexts: [{ name: a, context: { insecure: true } }]', /contexts\[0\]\.context\.insecure is not a context setting \(known: server, certificate-authority, token, namespace\)/],
    ['a namespace that is no project name', 'contexts: [{ name: a, context: { namespace: Shop_1 } }]', /contexts\[0\]\.context\.namespace "Shop_1" must be a project name/],
    ['a setting that is not a string', 'contexts: [{ name: a, context: { server: 7 } }]', /contexts\[0\]\.context\.server must be a non-empty string/],
    ['a name twice', 'contexts: [{ name: a }, { name: a }]', /name the context "a" twice/],
  ];
  for (const [name, text, message] of bad) it(`refuses ${name}, naming the file and the field`, () => assert.throws(() => parseConfigFile(text, PATH), message));
});

describe('chooseContext, setContext, useContext', () => {
  const config = parseConfigFile(FILE, PATH);
  it('the named one, else the current one, else none', () => {
    assert.equal(chooseContext(config, { name: 'local', source: '--context' }, PATH)?.name, 'local');
    assert.equal(chooseContext(config, undefined, PATH)?.name, 'prod');
    assert.equal(chooseContext(emptyConfig(), undefined, PATH), undefined);
    assert.equal(chooseContext(undefined, undefined, PATH), undefined);
  });
  it('a name not in the file is an error that says where it came from and what there is', () => {
    assert.throws(() => chooseContext(config, { name: 'staging', source: 'HOLDFAST_CONTEXT' }, PATH), /context "staging" \(from HOLDFAST_CONTEXT\) is not in \/cfg\/holdfast\/config: it has prod, local/);
    assert.throws(() => chooseContext({ ...config, 'current-context': 'gone' }, undefined, PATH), /from current-context in \/cfg\/holdfast\/config/);
  });
  it('set-context adds, changes and removes settings; use-context only switches to a known one', () => {
    const added = setContext(config, 'staging', { server: 'https://staging:7420' });
    assert.deepEqual(added.contexts.at(-1), { name: 'staging', context: { server: 'https://staging:7420' } });
    const changed = setContext(added, 'prod', { token: '', server: 'https://prod2:7420' });
    assert.deepEqual(changed.contexts[0].context, { server: 'https://prod2:7420', 'certificate-authority': '/cfg/prod-ca.crt', namespace: 'shop' });
    assert.equal(useContext(changed, 'staging', PATH)['current-context'], 'staging');
    assert.throws(() => useContext(changed, 'nope', PATH), /context "nope"/);
    assert.throws(() => setContext(config, 'bad name', {}), /invalid context name "bad name"/);
  });
});

describe('resolveClientConfig with contexts: flags, environment, context, defaults', () => {
  const read = files({ [PATH]: FILE, '/cfg/prod-ca.crt': PEM, '/cfg/holdfast/session': 'hfs_session\n' });
  it('the current context gives server, CA and token', async () => {
    const config = await resolveClientConfig({}, { XDG_CONFIG_HOME: '/cfg' }, read);
    assert.deepEqual(config, { server: 'https://prod.example:7420', token: 'hft_prod', tokenSource: `context "prod" in ${PATH}`, requestTimeoutMs: 30_000, ca: PEM });
  });
  it('a context without a token uses the session of holdfast login', async () => {
    const config = await resolveClientConfig({ context: 'local' }, { XDG_CONFIG_HOME: '/cfg' }, read);
    assert.equal(config.server, 'http://127.0.0.1:7420');
    assert.equal(config.token, 'hfs_session');
  });
  it('HOLDFAST_CONTEXT chooses, --context beats it', async () => {
    assert.equal((await resolveClientConfig({}, { XDG_CONFIG_HOME: '/cfg', HOLDFAST_CONTEXT: 'local' }, read)).server, 'http://127.0.0.1:7420');
    assert.equal((await resolveClientConfig({ context: 'prod' }, { XDG_CONFIG_HOME: '/cfg', HOLDFAST_CONTEXT: 'local' }, read)).server, 'https://prod.example:7420');
  });
  it('environment and flags beat the context', async () => {
    const config = await resolveClientConfig({ token: 'tok-flag' }, { XDG_CONFIG_HOME: '/cfg', HOLDFAST_URL: 'http://env:1' }, read);
    assert.deepEqual([config.server, config.token, config.tokenSource], ['http://env:1', 'tok-flag', '--token']);
  });
  it('a missing CA file of a context names the context', async () => {
    const noCa = files({ [PATH]: FILE });
    await assert.rejects(resolveClientConfig({}, { XDG_CONFIG_HOME: '/cfg' }, noCa), /certificate authority file \/cfg\/prod-ca\.crt from context "prod" in \/cfg\/holdfast\/config \(ENOENT\)/);
  });
});

describe('the namespace of commands: -n, else the context\'s, none with -A', () => {
  const prod = { name: 'prod', context: { namespace: 'shop' } };
  const bare = { name: 'local', context: {} };
  const cases: Array<[what: string, flag: string | undefined, all: boolean | undefined, context: typeof prod | typeof bare | undefined, expected: string | undefined]> = [
    ['-n beats the context', 'web', undefined, prod, 'web'],
    ['the context without -n', undefined, undefined, prod, 'shop'],
    ['-A lists every project, whatever the context says', undefined, true, prod, undefined],
    ['-n with -A stays (the command refuses both)', 'web', true, prod, 'web'],
    ['a context without a namespace', undefined, undefined, bare, undefined],
    ['no context', undefined, undefined, undefined, undefined],
  ];
  for (const [what, flag, all, context, expected] of cases) it(what, () => assert.equal(effectiveNamespace(flag, all, context), expected));

  it('resolveNamespace reads the chosen context (--context, HOLDFAST_CONTEXT, current-context), and the file only without -n or -A', async () => {
    const env = { XDG_CONFIG_HOME: '/cfg' };
    const read = files({ [PATH]: FILE.replace("{ server: 'http://127.0.0.1:7420' }", "{ server: 'http://127.0.0.1:7420', namespace: dev }") });
    assert.equal(await resolveNamespace({}, env, read), 'shop');
    assert.equal(await resolveNamespace({ context: 'local' }, env, read), 'dev');
    assert.equal(await resolveNamespace({}, { ...env, HOLDFAST_CONTEXT: 'local' }, read), 'dev');
    const unreadable = async (): Promise<string> => {
      throw new Error('the file must not be read');
    };
    assert.equal(await resolveNamespace({ namespace: 'web' }, env, unreadable), 'web');
    assert.equal(await resolveNamespace({ allNamespaces: true }, env, unreadable), undefined);
    await assert.rejects(resolveNamespace({ context: 'staging' }, env, read), /context "staging" \(from --context\) is not in/);
  });

  it('set-context sets and removes the namespace, and refuses one that is no project name', () => {
    const set = setContext(emptyConfig(), 'prod', { server: 'https://prod.example', namespace: 'shop' });
    assert.equal(set.contexts[0].context.namespace, 'shop');
    assert.equal(setContext(set, 'prod', { namespace: '' }).contexts[0].context.namespace, undefined);
    assert.throws(() => setContext(set, 'prod', { namespace: 'Not A Project' }), /invalid --namespace "Not A Project": it must be a project name/);
  });
});
