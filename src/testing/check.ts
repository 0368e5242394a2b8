// `tser test` assertions: compare one case's outcome with its `expect`; each failure is
// one line saying what was expected and what happened.
import type { DbRow } from '../db/db.js';
import type { MsgContext } from '../script/context.js';
import type { Expectation } from './case-file.js';
import type { Outcome } from './harness.js';

function hasHeader(text: string, name: string, value: string): boolean {
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:\\s*(.*)$`, 'gim');
  for (const m of text.matchAll(re)) if (m[1].includes(value)) return true;
  return false;
}

function describeOutcome(o: Outcome): string {
  const r = o.replies.map((x) => `${x.code} ${x.reason}`);
  const f = o.requests.map((x) => `${x.method} ${x.ruri} → ${x.dest}`);
  return `replies [${r.join(', ') || 'none'}], sent downstream [${f.join(', ') || 'none'}]`;
}

export async function check(e: Expectation, o: Outcome, rows: (table: string) => Promise<DbRow[]>, replySites: (code: number) => string[] = () => []): Promise<string[]> {
  const fail: string[] = [];
  const last = o.replies[o.replies.length - 1];
  if (e.noReply && o.replies.length) fail.push(`expected no reply, got ${last.code} ${last.reason}`);
  if (e.reply !== undefined) {
    if (!last) fail.push(`expected reply ${e.reply}, got no reply (${describeOutcome(o)})`);
    else if (last.code !== e.reply) {
      const sites = replySites(last.code);
      fail.push(`expected reply ${e.reply}, got ${last.code} ${last.reason}${sites.length ? ` (sent at ${sites.join(', ')})` : ''}`);
    }
  }
  if (e.reason !== undefined && last && last.reason !== e.reason) fail.push(`expected reason "${e.reason}", got "${last.reason}"`);
  const sent = o.requests.filter((r) => r.method !== 'ACK' && r.method !== 'CANCEL');
  if (e.forward !== undefined) {
    const got = sent.map((r) => r.ruri);
    if (JSON.stringify(got) !== JSON.stringify(e.forward)) fail.push(`expected forward to [${e.forward.join(', ')}], got [${got.join(', ') || 'nothing'}] (${describeOutcome(o)})`);
  }
  if (e.destination !== undefined) {
    const got = sent.map((r) => r.dest);
    if (JSON.stringify(got) !== JSON.stringify(e.destination)) fail.push(`expected sent to [${e.destination.join(', ')}], got [${got.join(', ') || 'nothing'}]`);
  }
  if (e.headers) {
    // the forwarded request when there is one (a 100 Trying may be the only reply), else the reply
    const text = sent[0]?.text ?? (last ? (last.text ?? `${last.headers.join('\r\n')}\r\n`) : '');
    const where = sent[0] ? 'the forwarded request' : last ? `the ${last.code} reply` : 'no message';
    for (const [k, v] of Object.entries(e.headers)) if (!hasHeader(text, k, v)) fail.push(`expected header ${k}: ${v} in ${where}`);
  }
  if (e.route) {
    // request_route is where every request starts: a case may leave it out
    const got = o.routes.map((r) => r.name);
    const cmp = e.route[0] === 'request_route' ? got : got.filter((n, i) => !(i === 0 && n === 'request_route'));
    if (JSON.stringify(cmp) !== JSON.stringify(e.route))
      fail.push(`expected route path ${e.route.join(' → ')}, got ${o.routes.map((r) => `${r.name} (${r.at})`).join(' → ') || 'no route'}`);
  }
  if (e.pv || e.flags) {
    if (!o.ctx) fail.push('expected script state (pv/flags), but the request route did not run');
    else {
      for (const [name, want] of Object.entries(e.pv ?? {})) {
        const got = pvValue(o.ctx, name);
        if (got !== want) fail.push(`expected ${name} = ${want === null ? '$null' : JSON.stringify(want)}, got ${got === null ? '$null' : JSON.stringify(got)}`);
      }
      for (const f of e.flags ?? []) if ((o.ctx.flags & (1 << f)) === 0) fail.push(`expected flag ${f} set (flags are ${o.ctx.flags.toString(2)})`);
    }
  }
  for (const [table, want] of Object.entries(e.db ?? {})) {
    let have: DbRow[];
    try {
      have = await rows(table);
    } catch (err) {
      fail.push(`db table ${table}: ${(err as Error).message}`);
      continue;
    }
    for (const w of want) {
      const ok = have.some((r) => Object.entries(w).every(([k, v]) => r[k] !== undefined && r[k] !== null && String(r[k] instanceof Date ? (r[k]).getTime() : r[k]) === String(v)));
      if (!ok) fail.push(`expected a row ${JSON.stringify(w)} in table ${table} (${have.length} rows)`);
    }
  }
  return fail;
}

/** a pseudo-variable's value after the run, as text (null: $null) */
function pvValue(ctx: MsgContext, name: string): string | null {
  const ruri = ctx.newUri ?? ctx.msg.ruri;
  const uri = /^sips?:(?:([^@;>]*)@)?([^;:>?]+)/i.exec(ruri);
  if (name === '$ru') return ruri;
  if (name === '$du') return ctx.dstUri;
  if (name === '$rU') return uri?.[1] || null;
  if (name === '$rd') return uri?.[2] ?? null;
  const m = /^\$(avp|var)\(([^()]+)\)$/.exec(name);
  if (!m) return null;
  if (m[1] === 'var') {
    const vars = ctx.script.vars;
    const v = vars.values[vars.slot(m[2])];
    return v === undefined || v === null ? null : String(v);
  }
  const key = m[2].startsWith('s:') ? m[2].slice(2) : m[2];
  const list = ctx.avps?.get(key);
  const v = list?.[list.length - 1]; // the newest value, as $avp(name) reads it
  return v === undefined || v === null ? null : String(v);
}
