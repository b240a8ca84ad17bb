// How V8 compiles PGlite's WebAssembly (PostgreSQL, 9 MB of it). By default V8 compiles every
// function with its baseline compiler (Liftoff) and recompiles the hot ones with its optimising one
// (TurboFan) on background threads. Those recompilations leave native memory resident in the
// threads' malloc arenas that the process never gives back: 70–80 MB of an idle server's ~250 MB.
// With the baseline compiler alone the server idles at ~170 MB and rests at ~250 MB rather than
// ~275 MB with 1000 Services; the price is ~6 % more CPU while 50 Services converge, and the
// store's write rate did not fall (bench/RESULTS.md, "PGlite on V8's baseline compiler").
import { setFlagsFromString } from 'node:v8';

/**
 * Before the first PGlite is created in this process: compile WebAssembly with the baseline compiler
 * only. V8's flags are the process's, so this also holds for any other module compiled afterwards.
 */
export function compileWasmBaselineOnly(): void {
  setFlagsFromString('--liftoff-only');
}
