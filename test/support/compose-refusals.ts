// Compose files the rollout refuses, each with the message that names the place. The renderer's
// unit tests and the admission tests (which must refuse the same files before storing) share them.

import { aliasBomb } from './hostile-input.js';

const web = (extra: string) => `services:\n  web:\n    image: nginx\n${extra}`;

/** Keys Holdfast does not support: [what, compose.yaml, the message of the cause]. */
export const UNSUPPORTED_COMPOSE_KEYS: Array<[what: string, yaml: string, message: string]> = [
  ['links', web('    links: [db]\n'), 'not supported: services.web.links'],
  ['pid', web('    pid: host\n'), 'not supported: services.web.pid'],
  ['ipc', web('    ipc: host\n'), 'not supported: services.web.ipc'],
  ['volumes_from', web('    volumes_from: [other]\n'), 'not supported: services.web.volumes_from'],
  ['pull_policy', web('    pull_policy: always\n'), 'not supported: services.web.pull_policy'],
  ['develop', web('    develop:\n      watch: []\n'), 'not supported: services.web.develop'],
  ['gpus', web('    gpus: all\n'), 'not supported: services.web.gpus'],
  ['oom_score_adj', web('    oom_score_adj: 500\n'), 'not supported: services.web.oom_score_adj'],
  ['a misspelt key', web('    enviroment: {A: b}\n'), 'not supported: services.web.enviroment (not a Compose service key)'],
  ['deploy.resources.reservations.devices', web('    deploy:\n      resources:\n        reservations:\n          devices: [{capabilities: [gpu]}]\n'), 'not supported: services.web.deploy.resources.reservations.devices'],
  ['deploy.placement key', web('    deploy:\n      placement:\n        platforms: [{os: linux}]\n'), 'not supported: services.web.deploy.placement.platforms'],
  ['build.cache_from', 'services:\n  web:\n    build:\n      context: .\n      cache_from: [x]\n', 'not supported: services.web.build.cache_from'],
  ['networks.*.mac_address', web('    networks:\n      front:\n        mac_address: 02:42:ac:11:65:43\nnetworks:\n  front: {}\n'), 'not supported: services.web.networks.front.mac_address'],
  ['healthcheck key', web('    healthcheck:\n      test: [CMD, "true"]\n      frequency: 3s\n'), 'not supported: services.web.healthcheck.frequency'],
  ['top-level include', 'include: [other.yaml]\n' + web(''), 'not supported: include'],
  ['network ipam', web('') + 'networks:\n  front:\n    ipam:\n      config: [{subnet: 10.0.0.0/24}]\n', 'not supported: networks.front.ipam'],
  ['secret driver', web('') + 'secrets:\n  s:\n    driver: vault\n', 'not supported: secrets.s.driver'],
  ['external config', web('') + 'configs:\n  c:\n    external: true\n', 'not supported: configs.c.external'],
  ['configz (a misspelt configs)', web('') + 'configz:\n  c:\n    file: ./c.conf\n', 'not supported: configz'],
];

/** Other refusals: [what, compose.yaml, message, files beside it, extra Service spec fields]. */
export const REFUSED_COMPOSE_FILES: Array<[what: string, yaml: string, message: RegExp, files?: Record<string, string>, spec?: Record<string, unknown>]> = [
  ['no image or build', 'services:\n  web:\n    command: [x]\n', /services\.web: needs image or build/],
  ['an undeclared named volume', 'services:\n  web:\n    image: nginx\n    volumes: [data:/data]\n', /services\.web\.volumes\[0\]\.source: named volume "data" is not declared/],
  ['an undeclared network', 'services:\n  web:\n    image: nginx\n    networks: [front]\n', /services\.web\.networks\.front: network "front" is not declared/],
  ['a dependency on an unknown service', 'services:\n  web:\n    image: nginx\n    depends_on: [db]\n', /services\.web\.depends_on\.db: service "db" is not defined/],
  ['a required variable', 'services:\n  web:\n    image: "nginx:${TAG:?set TAG}"\n', /services\.web\.image: required variable TAG is missing a value: set TAG/],
  ['a wrong type', 'services:\n  web:\n    image: nginx\n    ports: 80\n', /services\.web\.ports: must be a list/],
  ['a bad restart value', 'services:\n  web:\n    image: nginx\n    restart: sometimes\n', /services\.web\.restart: "sometimes" is not valid/],
  ['a bad depends_on condition', 'services:\n  web:\n    image: nginx\n    depends_on:\n      db: {condition: service_ready}\n  db:\n    image: x\n', /services\.web\.depends_on\.db\.condition: must be one of/],
  ['a directory bind-mounted from beside the file', 'services:\n  web:\n    image: nginx\n    volumes: [./html:/usr/share/nginx/html]\n', /\.\/html is a directory beside the compose file; the server cannot see it/, { 'html/index.html': '<p>hi</p>' }],
  ['a missing file beside the compose file', 'services:\n  web:\n    image: nginx\n    volumes: [./nginx.conf:/etc/nginx/nginx.conf:ro]\n', /\.\/nginx\.conf not found beside the compose file/],
  ['a remote build context', 'services:\n  web:\n    build: https://github.com/example/app.git\n', /not supported: a remote build context/],
  ['a secret outside env', 'services:\n  web:\n    image: nginx\n    command: ["run", "--token", "${secret:api/token}"]\n', /services\.web\.command\[2\]: a secret can only be used in environment values/],
  ['a malformed secret placeholder', 'services:\n  web:\n    image: nginx\n    environment:\n      TOKEN: "${secret:API_TOKEN}"\n', /\$\{secret:API_TOKEN\} is not a secret reference/],
  ['a fixed host port on several replicas', 'services:\n  web:\n    image: nginx\n    ports: ["80:80"]\n    deploy: {replicas: 2}\n', /host port 80 cannot be published by 2 replicas/],
  ['container_name on several replicas', 'services:\n  web:\n    image: nginx\n    container_name: web\n    scale: 3\n', /one container name cannot be given to 3 replicas/],
  ['an extends cycle', 'services:\n  a:\n    extends: b\n  b:\n    extends: a\n', /extends cycle: a → b → a/],
  ['extends from another file', 'services:\n  web:\n    extends: {service: base, file: common.yaml}\n', /not supported: services\.web\.extends\.file/],
  ['a dependency disabled by profiles', 'services:\n  web:\n    image: nginx\n    depends_on: [db]\n  db:\n    image: x\n    profiles: [db]\n', /services\.web\.depends_on: service db is not enabled by the selected profiles/],
  ['a port range of unequal length', 'services:\n  web:\n    image: nginx\n    ports: ["8000-8002:80-81"]\n', /differ in length/],
  ['a required env_file that is missing', 'services:\n  web:\n    image: nginx\n    env_file: web.env\n', /services\.web\.env_file: web\.env not found/],
  ['a Holdfast label', 'services:\n  web:\n    image: nginx\n    labels: {holdfast.dev/service: other}\n', /labels under holdfast\.dev\/ are Holdfast's own/],
  ['invalid YAML', 'services:\n  web: [unclosed\n', /not valid YAML/],
  ['a YAML alias bomb', aliasBomb(9, 10, 'services'), /compose file compose\.yaml: refused: the document is too large: more than 1000000 nodes/],
  ['a .env whose values multiply each other', 'services:\n  web:\n    image: nginx\n', /\.env: line 2: the value expands to more than 1048576 characters/, { '.env': 'A=' + 'x'.repeat(1000) + '\n' + 'B=' + '${A}'.repeat(2000) + '\n' }],
  ['variables repeated past the document budget', 'services:\n  web:\n    image: nginx\n    labels:\n' + Array.from({ length: 20 }, (_, i) => `      l${i}: "\${BIG}"\n`).join(''), /the document expands to more than 8388608 characters of values/, { '.env': 'BIG=' + 'y'.repeat(600_000) + '\n' }],
  [
    'a secret file beside the compose file',
    'services:\n  web:\n    image: nginx\n    secrets: [db_password]\nsecrets:\n  db_password:\n    file: ./password.txt\n',
    /secrets\.db_password\.file: a secret file would be stored in clear with the Service: put it in a Holdfast Secret \(holdfast secret set NAME --from-file value=\.\/password\.txt -n PROJECT\)/,
    { 'password.txt': 'hunter2\n' },
  ],
  ['an external secret that is not a Secret name', 'services:\n  web:\n    image: nginx\n    secrets: [db_password]\nsecrets:\n  db_password:\n    external: true\n', /external secret "db_password" must name a Holdfast Secret/],
  ['Service container fields with a compose source', 'services:\n  web:\n    image: nginx\n', /spec\.ports: applies to image and build sources/, {}, { ports: [{ containerPort: 80, protocol: 'tcp' }] }],
  ['profiles that leave no service', 'services:\n  web:\n    image: nginx\n    profiles: [debug]\n', /no service is enabled by the selected profiles/],
];
