// The Service spec as crds/service.yaml declares it (the schema is the source of truth; these
// interfaces follow it field for field). Values here have passed the API's schema validation and
// defaulting, but render still checks what it relies on.

import type { Resource } from '../resource.js';

export interface ServiceSecretKeyRef {
  name: string;
  key: string;
}

export interface ServiceEnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: ServiceSecretKeyRef };
}

export interface ServicePort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  protocol?: 'tcp' | 'udp';
  hostIP?: string;
}

export interface ServiceVolume {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  hostPath?: string;
}

export interface ServiceHealthcheck {
  http?: { path?: string; port: number };
  tcp?: { port: number };
  exec?: { command: string[] };
  intervalSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  startPeriodSeconds?: number;
}

export interface ServiceSource {
  image?: string;
  compose?: { file?: string; inline?: Record<string, unknown>; profiles?: string[] };
  build?: {
    git: { url: string; ref?: string };
    dockerfile?: string;
    context?: string;
    args?: Record<string, string>;
  };
}

export interface ServiceSpec {
  environment: string;
  server: string;
  source: ServiceSource;
  entrypoint?: string[];
  command?: string[];
  env?: ServiceEnvVar[];
  ports?: ServicePort[];
  volumes?: ServiceVolume[];
  replicas?: number;
  healthcheck?: ServiceHealthcheck;
  resources?: { cpus?: number; memory?: string | number };
  restartPolicy?: 'no' | 'always' | 'on-failure' | 'unless-stopped';
  labels?: Record<string, string>;
  update?: { order?: 'start-first' | 'stop-first'; healthDeadlineSeconds?: number; autoRollback?: boolean };
  driftPolicy?: { mode?: 'report' | 'heal'; ignoreDifferences?: Array<{ path: string }> };
  deletionPolicy?: 'Retain' | 'Delete';
}

export type ServiceResource = Resource<ServiceSpec>;
