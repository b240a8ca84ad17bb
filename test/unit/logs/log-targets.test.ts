import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownershipLabels } from '../../../core/deploy/container-spec.js';
import { HoldfastError } from '../../../core/errors.js';
import { selectLogTargets, type LogContainer, type LogSelection } from '../../../core/logs/log-targets.js';

const who = { project: 'shop', environment: 'production', service: 'web' };

function container(name: string, replicaIndex: number, extra: { component?: string; service?: string; running?: boolean } = {}): LogContainer {
  return {
    id: `id-${name}`,
    name,
    labels: ownershipLabels({ project: 'shop', environment: 'production', service: extra.service ?? 'web', component: extra.component, replicaIndex }),
    running: extra.running ?? true,
    tty: false,
  };
}

const web1 = container('hf_shop_production_web_1', 1);
const web2 = container('hf_shop_production_web_2', 2);
const web1Next = container('hf_shop_production_web_1.next', 1);
const api1 = container('hf_shop_production_api_1', 1, { service: 'api' });
const foreign: LogContainer = { id: 'id-foreign', name: 'postgres', labels: { 'com.example': 'x' }, running: true, tty: false };
const compose = [
  container('hf_shop_production_web_db_1', 1, { component: 'db' }),
  container('hf_shop_production_web_app_1', 1, { component: 'app' }),
  container('hf_shop_production_web_app_2', 2, { component: 'app' }),
];

describe('selectLogTargets', () => {
  const cases: Array<{ name: string; containers: LogContainer[]; selection?: LogSelection; want: string[] }> = [
    { name: 'every replica of the Service, in replica order, nothing of other Services or foreign', containers: [web2, api1, foreign, web1], want: ['web-1:hf_shop_production_web_1', 'web-2:hf_shop_production_web_2'] },
    { name: 'one replica', containers: [web1, web2], selection: { replica: 2 }, want: ['web-2:hf_shop_production_web_2'] },
    { name: 'a rollout in progress: the successor is current', containers: [web1, web1Next, web2], want: ['web-1:hf_shop_production_web_1.next', 'web-2:hf_shop_production_web_2'] },
    { name: 'a rollout in progress: --previous reads the container being replaced', containers: [web1, web1Next, web2], selection: { previous: true }, want: ['web-1:hf_shop_production_web_1'] },
    { name: 'compose: by compose service, then replica', containers: compose, want: ['app-1:hf_shop_production_web_app_1', 'app-2:hf_shop_production_web_app_2', 'db-1:hf_shop_production_web_db_1'] },
    { name: 'compose: one compose service', containers: compose, selection: { component: 'app' }, want: ['app-1:hf_shop_production_web_app_1', 'app-2:hf_shop_production_web_app_2'] },
    { name: 'a stopped container is still read (a crash loop is what logs are for)', containers: [container('hf_shop_production_web_1', 1, { running: false })], want: ['web-1:hf_shop_production_web_1'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = selectLogTargets(c.containers, who, c.selection).map((t) => `${t.label}:${t.container.name}`);
      assert.deepEqual(got, c.want);
    });
  }

  const refusals: Array<{ name: string; containers: LogContainer[]; selection?: LogSelection; message: RegExp }> = [
    { name: 'nothing deployed', containers: [api1, foreign], message: /^service shop\/web has no container on its server \(it is not deployed/ },
    { name: 'a replica that does not run', containers: [web1, web2], selection: { replica: 3 }, message: /^service shop\/web replica 3 has no container on its server: it runs web-1, web-2$/ },
    { name: 'an unknown compose service', containers: compose, selection: { component: 'cache' }, message: /container cache has no container on its server: it runs app-1, app-2, db-1$/ },
    { name: '--previous without a rollout', containers: [web1], selection: { previous: true }, message: /has no previous container: a rollout keeps the container it replaces only until its successor is ready/ },
  ];
  for (const c of refusals) {
    it(`refuses: ${c.name}`, () => {
      assert.throws(() => selectLogTargets(c.containers, who, c.selection), (err: unknown) => err instanceof HoldfastError && err.reason === 'NotFound' && c.message.test(err.message));
    });
  }
});
