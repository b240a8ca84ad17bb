// Loads a CommonJS module (one of Node's, or a package's) when a command first needs it. Not with
// import(): bin/holdfast.js runs the CLI's bundle compiled from V8's code cache, and Node 20 cannot
// import() from code compiled that way ("A dynamic import callback was not specified").
import { createRequire } from 'node:module';

export const lazyRequire = createRequire(import.meta.url);
