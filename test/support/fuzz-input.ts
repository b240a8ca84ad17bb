// A seeded generator of malformed and hostile API requests and manifests. The same seed gives the
// same sequence, so a failure found once can be replayed.
import { dump } from 'js-yaml';
import { KINDS } from '../../core/resource.js';
import { aliasBomb, deepJson } from './hostile-input.js';

/** mulberry32: small, fast, and good enough to pick cases. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FuzzInput {
  constructor(private readonly random: () => number) {}

  int(max: number): number {
    return Math.floor(this.random() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  name(): string {
    return this.pick([
      'web',
      'a',
      `svc-${this.int(1000)}`,
      'UPPER',
      'with space',
      'ünïcødé',
      '名前',
      '🚀',
      'a'.repeat(64),
      'a'.repeat(300),
      '-leading',
      'trailing-',
      'dot.ted',
      'nul\u0000byte',
      '../../etc/passwd',
      '__proto__',
      'constructor',
      '',
      '\u202egnp.exe',
      'x\ny',
    ]);
  }

  resourceVersion(): unknown {
    return this.pick(['1', '0', '-1', 'abc', '1.5', ' 1', '99999999999999999999999', '', 1, null, true, {}, []]);
  }

  scalar(): unknown {
    return this.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, true, false, null, '', 'x', 'x'.repeat(this.pick([10, 1000, 100_000])), 'nul\u0000', '\ud800', [], {}]);
  }

  /** A value of any shape: the wrong type wherever it lands. */
  value(depth = 0): unknown {
    const roll = this.int(10);
    if (depth > 3 || roll < 5) return this.scalar();
    if (roll < 7) return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
    if (roll < 8) return JSON.parse(deepJson(this.pick([50, 99, 101, 300])));
    const out: Record<string, unknown> = {};
    for (let i = this.int(4); i > 0; i--) out[this.pick(['spec', 'metadata', 'name', 'image', '__proto__', 'constructor', 'x', this.name()])] = this.value(depth + 1);
    return out;
  }

  /** A manifest that is almost right, then broken in one or more places. */
  manifest(kind?: string): Record<string, unknown> {
    const k = kind ?? this.pick([...KINDS.map((i) => i.kind), 'Pod', 'List', '', 'service']);
    const obj: Record<string, any> = {
      apiVersion: this.chance(0.85) ? 'holdfast.dev/v1alpha1' : this.pick(['v1', 'apps/v1', '', 'holdfast.dev/v9']),
      kind: k,
      metadata: { name: this.chance(0.5) ? `f${this.int(50)}` : this.name(), namespace: this.chance(0.7) ? 'shop' : this.name() },
      spec: this.spec(k),
    };
    for (let i = this.int(3); i > 0; i--) this.mutate(obj);
    return obj;
  }

  private spec(kind: string): unknown {
    switch (kind) {
      case 'Project':
        return { environments: [{ name: 'production' }] };
      case 'Service':
        return {
          environment: 'production',
          server: 'edge-1',
          source: this.pick([
            { image: 'holdfast-test/busybox:1' },
            { compose: { file: 'compose.yaml', files: { 'compose.yaml': this.composeText() } } },
            { compose: { inline: { services: { web: { image: 'x', ports: this.value() } } } } },
          ]),
        };
      case 'Secret':
        return { stringData: { password: this.pick(['s3cret', 'x'.repeat(10_000), 'nul\u0000']) } };
      case 'Server':
        return { kind: 'docker-engine', host: this.pick(['10.0.0.1', '', 'host name', '::1']), port: this.pick([22, 0, 70000, -1, '22']), user: 'deploy' };
      default:
        return this.value();
    }
  }

  composeText(): string {
    return this.pick([
      'services:\n  web:\n    image: nginx\n',
      aliasBomb(this.pick([6, 9]), 10, 'services'),
      'services:\n  web: [unclosed\n',
      'services: ' + '['.repeat(500) + ']'.repeat(500) + '\n',
      'services:\n  web:\n    image: "${A:-${B:-${C}}}"\n',
      'x'.repeat(100_000),
      '',
      '\u0000',
    ]);
  }

  private mutate(obj: Record<string, any>) {
    // An earlier mutation may have made metadata a scalar or removed it.
    if (!obj.metadata || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) obj.metadata = {};
    switch (this.int(8)) {
      case 0:
        obj.metadata.resourceVersion = this.resourceVersion();
        break;
      case 1:
        obj.metadata.labels = { [this.name()]: this.scalar() };
        break;
      case 2:
        obj.spec = this.value();
        break;
      case 3:
        obj.metadata = this.value();
        break;
      case 4:
        obj.metadata.annotations = { note: 'é'.repeat(this.pick([10, 100_000])) };
        break;
      case 5:
        // defineProperty, so a __proto__ key is an own key that JSON carries, as a hostile client sends it.
        Object.defineProperty(obj, this.pick(['__proto__', 'constructor', 'status', 'extra']), { value: this.value(), enumerable: true, writable: true, configurable: true });
        break;
      case 6:
        obj.metadata.finalizers = this.value();
        break;
      default:
        delete obj[this.pick(['apiVersion', 'kind', 'metadata', 'spec'])];
    }
  }

  /** One manifest file as the CLI reads it: YAML, sometimes broken or hostile as text. */
  manifestYaml(): string {
    switch (this.int(6)) {
      case 0:
        return aliasBomb(this.pick([5, 9]), 10, 'spec');
      case 1:
        return `apiVersion: holdfast.dev/v1alpha1\nkind: Service\nmetadata: ${'{a: '.repeat(150)}1${'}'.repeat(150)}\n`;
      case 2:
        return 'kind: [unclosed\n---\n\t\tbad indent\n';
      default:
        return Array.from({ length: 1 + this.int(3) }, () => dump(this.manifest(), { skipInvalid: true })).join('---\n');
    }
  }

  /** One API request: a method, a path (sometimes hostile), headers and a body. */
  request(): FuzzRequest {
    const plural = this.pick([...KINDS.map((k) => k.plural), 'pods', '..', '%2e%2e', '%00', 'x'.repeat(3000), 'ünï']);
    const info = KINDS.find((k) => k.plural === plural);
    const ns = info?.namespaced === false ? '' : `/namespaces/${this.chance(0.8) ? 'shop' : encodeURIComponent(this.name())}`;
    const base = `/apis/holdfast.dev/v1alpha1${this.chance(0.95) ? ns : ''}/${plural}`;
    const named = `${base}/${this.chance(0.6) ? `f${this.int(50)}` : encodeURIComponent(this.name())}`;
    const query = this.query();
    const method = this.pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']);
    const path = this.pick([
      method === 'POST' || (method === 'GET' && this.chance(0.5)) ? base : named,
      `${named}/status`,
      `${named}/${this.pick(['views', 'drift', 'log', 'x', '..'])}`,
      `/apis/holdfast.dev/v1alpha1/${this.pick(['tokens', 'auditlog', 'deployments', 'namespaces/shop/services/f1/deployments'])}`,
      `/${this.pick(['', 'apis', 'api', 'openapi/v2', 'healthz', 'metrics', '%00', '..%2f..%2fetc%2fpasswd', 'x'.repeat(5000)])}`,
    ]) + query;
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') {
      const contentType = this.pick(['application/json', 'application/json', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/yaml', 'text/plain', 'application/x-tar', 'application/json; charset=latin1', '']);
      if (contentType) headers['content-type'] = contentType;
      body = this.body(contentType, plural);
    }
    if (this.chance(0.05)) headers['content-encoding'] = this.pick(['gzip', 'br', 'deflate', 'compress', 'identity, gzip']);
    if (this.chance(0.05)) headers.accept = this.pick(['application/json;as=Table;v=v1;g=meta.k8s.io', 'application/yaml', '*/*', 'text/html']);
    return { method, path, headers, body };
  }

  private query(): string {
    const params: string[] = [];
    if (this.chance(0.15)) params.push(`continue=${encodeURIComponent(this.pick(['%%%', 'eyJucyI6MX0', Buffer.from(JSON.stringify({ ns: 'a\u0000', name: 1 })).toString('base64url'), Buffer.from(JSON.stringify({ at: '1', id: 'x' })).toString('base64url'), Buffer.from(JSON.stringify({ after: 1e300 })).toString('base64url')]))}`);
    if (this.chance(0.15)) params.push(`limit=${this.pick(['1', '0', '-1', 'x', '1e9', '500'])}`);
    if (this.chance(0.1)) params.push(`watch=true&timeoutSeconds=1&resourceVersion=${encodeURIComponent(String(this.resourceVersion()))}`);
    if (this.chance(0.1)) params.push(`labelSelector=${encodeURIComponent(this.pick(['a=b', 'a in (b', '!', '=', 'x'.repeat(2000), 'a\u0000=b']))}`);
    if (this.chance(0.1)) params.push(`fieldSelector=${encodeURIComponent(this.pick(['metadata.name=x', 'spec.x=y', '==', 'metadata.name!=']))}`);
    if (this.chance(0.1)) params.push(`dryRun=${this.pick(['All', 'all', 'x', ''])}`);
    if (this.chance(0.05)) params.push(`since=${encodeURIComponent(this.pick(['1h', '99999999999999d', '9007199254740991s', '+275760-09-13T00:00:00Z', 'x']))}`);
    return params.length ? `?${params.join('&')}` : '';
  }

  private body(contentType: string, plural: string): string {
    if (contentType === 'application/yaml' || contentType === 'text/plain') return this.chance(0.5) ? aliasBomb(9, 10) : dump(this.manifest(), { skipInvalid: true });
    if (contentType === 'application/x-tar') return this.pick(['not a tar', 'x'.repeat(1000)]);
    if (contentType === 'application/json-patch+json' && this.chance(0.8)) {
      return JSON.stringify(
        Array.from({ length: 1 + this.int(3) }, () => ({
          op: this.pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus']),
          path: this.pick(['/spec/replicas', '/__proto__/polluted', '/constructor/prototype/x', '/metadata/resourceVersion', '/metadata/name', '', '/a/b/c/d', '~', '/spec/-']),
          from: '/metadata/labels',
          value: this.value(),
        })),
      );
    }
    switch (this.int(10)) {
      case 0:
        return deepJson(this.pick([101, 10_000, 100_000]));
      case 1:
        return this.pick(['{', 'null', '"x"', '[]', '1', '{"a":1,"a":2}', '\u0000', '{"__proto__":{"polluted":1}}']);
      case 2:
        return JSON.stringify(this.value());
      default: {
        const kind = KINDS.find((k) => k.plural === plural)?.kind;
        return JSON.stringify(this.manifest(this.chance(0.7) ? kind : undefined));
      }
    }
  }
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}
