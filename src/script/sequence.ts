// Statement sequences: a plain loop when nothing below can be async, else a stepper that
// switches to promises only where a statement actually returned one.
import type { MsgContext } from './context.js';
import type { Exec } from './script.js';

export interface Compiled {
  run: Exec;
  /** may return a promise */
  async: boolean;
}

/** run a list of statements; stops when a run flag is set */
export function sequence(parts: Compiled[]): Compiled {
  const fns = parts.map((p) => p.run);
  const n = fns.length;
  if (n === 0) return { run: () => 1, async: false };
  if (n === 1) return parts[0];
  if (!parts.some((p) => p.async)) {
    // hot path: a plain loop, no promises anywhere below
    return {
      async: false,
      run: (ctx) => {
        let r = 1;
        for (let i = 0; i < n; i++) {
          r = fns[i](ctx) as number;
          if (ctx.runFlags !== 0) return r;
        }
        return r;
      },
    };
  }
  const from = sequenceFrom(parts);
  return { async: true, run: (ctx) => from(ctx, 0) };
}

export function sequenceFrom(parts: Compiled[]): (ctx: MsgContext, start: number) => number | Promise<number> {
  const fns = parts.map((p) => p.run);
  const n = fns.length;
  const step = (ctx: MsgContext, i: number, r: number): number | Promise<number> => {
    for (; i < n; i++) {
      const x = fns[i](ctx);
      if (typeof x !== 'number') {
        const next = i + 1;
        return x.then((v) => (ctx.runFlags !== 0 ? v : step(ctx, next, v)));
      }
      r = x;
      if (ctx.runFlags !== 0) return r;
    }
    return r;
  };
  return (ctx, start) => step(ctx, start, 1);
}

