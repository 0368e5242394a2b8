// A parameter string with pseudo-variables (hash_pvar = "$fU@$ci") evaluated per message.
// Module parameters are not compiled with the script, so PVs are resolved against the
// running script's variables on first use and cached per script.
import type { MsgContext } from '../../src/script/context.js';
import { compileTransform, resolveCorePv, type PvRefSpec } from '../../src/script/pv.js';
import type { Script } from '../../src/script/script.js';
import { parseTemplate } from '../../src/script/template.js';

type Part = string | ((ctx: MsgContext) => unknown);

export class TemplateEval {
  private readonly spec: (string | PvRefSpec)[];
  private readonly cache = new WeakMap<Script, Part[]>();

  constructor(readonly text: string) {
    this.spec = parseTemplate(text);
  }

  private parts(script: Script): Part[] {
    let p = this.cache.get(script);
    if (p) return p;
    p = this.spec.map((s) => {
      if (typeof s === 'string') return s;
      const acc = resolveCorePv(s, script.vars);
      const trs = s.transforms.map(compileTransform);
      return (ctx: MsgContext) => {
        let v = acc ? acc.get(ctx) : null;
        for (const t of trs) v = t(v);
        return v;
      };
    });
    this.cache.set(script, p);
    return p;
  }

  eval(ctx: MsgContext): string {
    let out = '';
    for (const p of this.parts(ctx.script)) {
      if (typeof p === 'string') {
        out += p;
        continue;
      }
      let v: unknown;
      try {
        v = p(ctx);
      } catch {
        v = null;
      }
      out += v === null || v === undefined ? '' : String(v);
    }
    return out;
  }
}
