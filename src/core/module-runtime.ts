// The module lifecycle, owned in one place (Kamailio's mod_init → fixups → child_init →
// destroy): modules start in the order their declared deps give, before the script is
// compiled against them; their `start` hooks run once the script's fixups have resolved
// what they need; a reload adds modules all or none; shutdown destroys in reverse order.
import type { Logger } from 'pino';
import type { ModulePlan } from '../config/load.js';
import type { CoreApi } from './core-api.js';
import type { HookResult, ModuleDef, ParamSpec } from './module-api.js';
import type { MsgContext } from '../script/context.js';
import type { SipMessage } from '../sip/message.js';
import type { ReceiveInfo } from '../transport/types.js';

type AnyDef = ModuleDef<unknown, Record<string, ParamSpec>>;

export interface ModuleInstance {
  def: AnyDef;
  params: Record<string, unknown>;
  holder: { state: unknown };
}

export interface RequestHook {
  fn: (ctx: MsgContext, s: unknown) => HookResult | Promise<HookResult>;
  holder: { state: unknown };
}

export interface ReplyHook {
  fn: (m: SipMessage, r: ReceiveInfo, s: unknown) => boolean | Promise<boolean>;
  holder: { state: unknown };
}

/**
 * The plans in an order where every module comes after the loaded modules it depends on
 * (load order otherwise); a dependency cycle keeps the load order for the modules in it.
 */
export function initOrder(plans: readonly ModulePlan[]): ModulePlan[] {
  const byName = new Map(plans.map((p) => [p.def.name, p]));
  const out: ModulePlan[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: ModulePlan): void => {
    if (state.has(p.def.name)) return;
    state.set(p.def.name, 'visiting');
    for (const d of p.def.deps ?? []) {
      const dep = byName.get(d.module);
      if (dep) visit(dep);
    }
    state.set(p.def.name, 'done');
    out.push(p);
  };
  for (const p of plans) visit(p);
  return out;
}

export class ModuleRuntime {
  readonly modules = new Map<string, ModuleInstance>();
  /** the hook lists the core walks per message (arrays kept for the life of the runtime) */
  readonly requestHooks: RequestHook[] = [];
  readonly replyHooks: ReplyHook[] = [];
  private readonly pendingStart: ModuleInstance[] = [];

  constructor(private readonly core: CoreApi) {}

  private get log(): Logger {
    return this.core.log;
  }

  /**
   * Init (mod_init) the planned modules in dependency order; all of them or none: when one
   * fails, those already started by this call are destroyed again and the error is thrown.
   */
  async init(plans: readonly ModulePlan[]): Promise<void> {
    const done: ModuleInstance[] = [];
    try {
      for (const plan of initOrder(plans)) {
        const state = await plan.def.init({
          params: plan.params,
          log: this.log.child({ mod: plan.def.name }),
          core: this.core,
          dialect: this.core.dialect,
          bindApi: <T>(name: string) => this.bindApi<T>(name),
        });
        plan.holder.state = state;
        const inst: ModuleInstance = { def: plan.def, params: { ...plan.params }, holder: plan.holder };
        // registered at once so a later module's init can bind its api
        this.modules.set(plan.def.name, inst);
        done.push(inst);
      }
    } catch (e) {
      for (const inst of done.reverse()) {
        this.modules.delete(inst.def.name);
        await this.destroyOne(inst);
      }
      throw e;
    }
    for (const inst of done) {
      const hooks = inst.def.hooks;
      // eslint-disable-next-line @typescript-eslint/unbound-method -- hooks take their state as an argument, never `this`
      if (hooks?.request) this.requestHooks.push({ fn: hooks.request, holder: inst.holder });
      // eslint-disable-next-line @typescript-eslint/unbound-method -- as above
      if (hooks?.reply) this.replyHooks.push({ fn: hooks.reply, holder: inst.holder });
      this.pendingStart.push(inst);
    }
  }

  /** run the start hooks (child_init) of the modules inited since the last call */
  async start(): Promise<void> {
    const list = this.pendingStart.splice(0);
    for (const inst of list) await inst.def.start?.(inst.holder.state);
  }

  /** undo init() of these modules (a reload whose script did not compile against them) */
  async discard(plans: readonly ModulePlan[]): Promise<void> {
    const holders = new Set(plans.map((p) => p.holder));
    const keep = <H extends { holder: { state: unknown } }>(list: H[]) => {
      const kept = list.filter((h) => !holders.has(h.holder));
      list.splice(0, list.length, ...kept);
    };
    keep(this.requestHooks);
    keep(this.replyHooks);
    keep(this.pendingStart);
    for (const plan of [...initOrder(plans)].reverse()) {
      const inst = this.modules.get(plan.def.name);
      if (inst?.holder !== plan.holder) continue;
      this.modules.delete(plan.def.name);
      await this.destroyOne(inst);
    }
  }

  bindApi<T>(name: string): T | undefined {
    const m = this.modules.get(name);
    if (!m?.def.api) return undefined;
    return m.def.api(m.holder.state) as T;
  }

  /** module state holders, so a reload compiles against the running modules */
  holders(): Map<string, { state: unknown }> {
    return new Map([...this.modules].map(([k, v]) => [k, v.holder]));
  }

  /** destroy every module, last started first; errors are logged, never thrown */
  async destroy(): Promise<void> {
    for (const inst of [...this.modules.values()].reverse()) await this.destroyOne(inst);
  }

  private async destroyOne(inst: ModuleInstance): Promise<void> {
    try {
      await inst.def.destroy?.(inst.holder.state);
    } catch (e) {
      this.log.error({ mod: inst.def.name, err: (e as Error).message }, 'module shutdown failed');
    }
  }
}
