// One stream copied into several, at the pace of the slowest branch still alive: a branch that is
// destroyed (its destination failed) is dropped and the others go on. The source is destroyed only
// when every branch is gone.
import { PassThrough, type Readable } from 'node:stream';

export function fanOut(source: Readable, count: number): PassThrough[] {
  const branches = Array.from({ length: count }, () => new PassThrough());
  const live = new Set(branches);
  const full = new Set<PassThrough>();
  const resumeWhenDrained = () => {
    if (full.size === 0 && source.isPaused()) source.resume();
  };
  for (const branch of branches) {
    branch.on('drain', () => {
      full.delete(branch);
      resumeWhenDrained();
    });
    branch.once('close', () => {
      live.delete(branch);
      full.delete(branch);
      if (live.size === 0) source.destroy();
      else resumeWhenDrained();
    });
  }
  source.on('data', (chunk: Buffer) => {
    for (const branch of live) if (!branch.write(chunk)) full.add(branch);
    if (full.size) source.pause();
  });
  source.once('end', () => {
    for (const branch of live) branch.end();
  });
  source.once('error', (err) => {
    for (const branch of live) branch.destroy(err);
  });
  return branches;
}
