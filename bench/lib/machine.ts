// What the figures were measured on: they mean little without the machine, and on a shared machine
// the load average says how much of it the benchmark had.
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import type { DockerClient } from '../../hosts/docker-client.js';

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

export async function describeMachine(docker: DockerClient, composeVersion: string): Promise<Record<string, string>> {
  const version = await docker.version({ timeoutMs: 15_000 });
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    cpus: `${cpuList.length} × ${cpuList[0]?.model.trim() ?? 'unknown'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    kernel: release(),
    os: osName(),
    node: process.version,
    docker: `${version.Version} (API ${version.ApiVersion}) on the test hosts`,
    'docker-compose': composeVersion,
    'load average at start': loadAverage(),
  };
}
