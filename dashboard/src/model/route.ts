// Hash routes (`#/services/shop/web`): the server needs no fallback for deep links, and a link can be
// shared. Pure: parses and builds hrefs.

export type ServiceStatusFilter = 'synced' | 'progressing' | 'drifted' | 'failed' | 'pending';

export interface ServiceFilters {
  project?: string;
  environment?: string;
  status?: ServiceStatusFilter;
  server?: string;
  q?: string;
}

export type Route =
  | { page: 'overview' }
  | { page: 'services'; filters: ServiceFilters }
  | { page: 'service'; namespace: string; name: string }
  | { page: 'servers' }
  | { page: 'server'; name: string }
  | { page: 'events'; tab: 'events' | 'audit' }
  | { page: 'backups' }
  | { page: 'secrets' }
  | { page: 'sources' }
  | { page: 'tokens' }
  | { page: 'not-found'; path: string };

const STATUS_FILTERS: readonly string[] = ['synced', 'progressing', 'drifted', 'failed', 'pending'];

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [pathPart, queryPart = ''] = raw.split('?', 2);
  const segments = pathPart.split('/').filter(Boolean).map(safeDecode);
  const query = new URLSearchParams(queryPart);
  const [first, second, third] = segments;
  if (segments.length === 0) return { page: 'overview' };
  if (first === 'services' && segments.length === 1) {
    const status = query.get('status') ?? undefined;
    return {
      page: 'services',
      filters: clean({
        project: query.get('project') ?? undefined,
        environment: query.get('environment') ?? undefined,
        status: status && STATUS_FILTERS.includes(status) ? (status as ServiceStatusFilter) : undefined,
        server: query.get('server') ?? undefined,
        q: query.get('q') ?? undefined,
      }),
    };
  }
  if (first === 'services' && segments.length === 3) return { page: 'service', namespace: second, name: third };
  if (first === 'servers' && segments.length === 1) return { page: 'servers' };
  if (first === 'servers' && segments.length === 2) return { page: 'server', name: second };
  if (first === 'events' && segments.length === 1) return { page: 'events', tab: query.get('tab') === 'audit' ? 'audit' : 'events' };
  if (segments.length === 1 && (first === 'backups' || first === 'secrets' || first === 'sources' || first === 'tokens')) return { page: first };
  return { page: 'not-found', path: pathPart };
}

export const href = {
  overview: () => '#/',
  services: (filters: ServiceFilters = {}) => {
    const query = new URLSearchParams(Object.entries(clean(filters)) as Array<[string, string]>).toString();
    return `#/services${query ? `?${query}` : ''}`;
  },
  service: (namespace: string, name: string) => `#/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
  servers: () => '#/servers',
  server: (name: string) => `#/servers/${encodeURIComponent(name)}`,
  events: (tab: 'events' | 'audit' = 'events') => (tab === 'audit' ? '#/events?tab=audit' : '#/events'),
  backups: () => '#/backups',
  secrets: () => '#/secrets',
  sources: () => '#/sources',
  tokens: () => '#/tokens',
};

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
