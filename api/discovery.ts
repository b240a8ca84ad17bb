// Kubernetes discovery documents, so kubectl and client libraries find the Holdfast kinds.
import { Router } from 'express';
import { API_VERSION, GROUP, KINDS, VERSION } from '../core/resource.js';

const CATEGORY_ALL = new Set(['Project', 'Server', 'Service', 'BackupPolicy']);

export function apiResourceList() {
  const resources = KINDS.flatMap((k) => {
    const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
    const main = {
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs,
      ...(k.shortNames.length ? { shortNames: k.shortNames } : {}),
      ...(CATEGORY_ALL.has(k.kind) ? { categories: ['all', 'holdfast'] } : { categories: ['holdfast'] }),
    };
    if (!k.hasSpec) return [main];
    const status = { name: `${k.plural}/status`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: ['get', 'patch', 'update'] };
    return [main, status];
  });
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: API_VERSION, resources };
}

export function discoveryRouter(version: string): Router {
  const r = Router();
  const groupVersion = { groupVersion: API_VERSION, version: VERSION };
  r.get('/api', (_req, res) => {
    res.json({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }] });
  });
  // Holdfast serves no core (v1) resources; an empty list keeps clients that probe /api/v1 happy.
  r.get('/api/v1', (_req, res) => {
    res.json({ kind: 'APIResourceList', groupVersion: 'v1', resources: [] });
  });
  r.get('/apis', (_req, res) => {
    res.json({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [{ name: GROUP, versions: [groupVersion], preferredVersion: groupVersion }],
    });
  });
  r.get(`/apis/${GROUP}`, (_req, res) => {
    res.json({ kind: 'APIGroup', apiVersion: 'v1', name: GROUP, versions: [groupVersion], preferredVersion: groupVersion });
  });
  r.get(`/apis/${GROUP}/${VERSION}`, (_req, res) => {
    res.json(apiResourceList());
  });
  r.get('/version', (_req, res) => {
    res.json({
      major: '1',
      minor: '20',
      gitVersion: `v1.20.0+holdfast-${version}`,
      gitCommit: '',
      gitTreeState: 'clean',
      buildDate: '',
      goVersion: '',
      compiler: 'node',
      platform: `${process.platform}/${process.arch}`,
    });
  });
  return r;
}
