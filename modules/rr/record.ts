// Record-Route insertion (RFC 3261 §16.6 step 4): our own URI with ;lr, first in the list.
import type { MsgContext } from '../../src/script/context.js';
import type { RrParams } from './params.js';

export function rrUri(ctx: MsgContext, params: RrParams, extra: string): string {
  const sock = ctx.rcv.local;
  const lr = params.enable_full_lr ? ';lr=on' : ';lr';
  const transport = sock.proto === 'tcp' ? ';transport=tcp' : '';
  let user = '';
  if (params.add_username) {
    const u = /^sips?:([^@;]+)@/.exec(ctx.ruri);
    if (u) user = `${u[1]}@`;
  }
  let ftag = '';
  if (params.append_fromtag) {
    const tag = ctx.msg.from().tag;
    if (tag) ftag = `;ftag=${tag}`;
  }
  return `sip:${user}${sock.advertiseHost}:${sock.advertisePort}${transport}${lr}${ftag}${extra}`;
}

export function recordRoute(ctx: MsgContext, params: RrParams, extra?: string): number {
  const added = ctx.getExt<string[]>('rr.params');
  const text = (extra ? (extra.startsWith(';') ? extra : `;${extra}`) : '') + (added ? added.join('') : '');
  ctx.msg.insertHeaderTop(`Record-Route: <${rrUri(ctx, params, text)}>`);
  ctx.setExt('rr.done', true);
  return 1;
}

export function recordRoutePreset(ctx: MsgContext, params: RrParams, addr: string, addr2?: string): number {
  const lr = params.enable_full_lr ? ';lr=on' : ';lr';
  const mk = (a: string) => {
    const uri = a.startsWith('sip:') || a.startsWith('sips:') ? a : `sip:${a}`;
    return `Record-Route: <${uri}${uri.includes(';lr') ? '' : lr}>`;
  };
  if (addr2) ctx.msg.insertHeaderTop(mk(addr2));
  ctx.msg.insertHeaderTop(mk(addr));
  return 1;
}
