// permissions: IP-based access control (Kamailio 5.6 permissions, address part):
// allow_source_address, allow_address, allow_source_address_group, allow_address_group
// against the cached `address` table or an address file, IPv4/IPv6, hosts and CIDR, port 0 =
// any; the matching entry's tag goes to peer_tag_avp. Reloaded only by RPC, as in Kamailio.
import {
  arg, defineModule, fnFor, optional, param, Ret, RpcError, REQ_FAIL_BRANCH, Route, type ParamValues,
} from '../../src/core/module-api.js';
import type { MsgContext } from '../../src/script/context.js';
import { allowTrusted, createState, reloadAddresses, reloadTrusted, type PermState } from './state.js';
import { checkPvName, writePv } from '../../src/script/pv-target.js';

export const params = {
  db_url: param.str(''),
  address_table: param.str('address'),
  grp_col: param.str('grp'),
  ip_addr_col: param.str('ip_addr'),
  mask_col: param.str('mask'),
  port_col: param.str('port'),
  tag_col: param.str('tag'),
  address_file: param.str(''),
  peer_tag_avp: param.str('', { validate: checkPvName }),
  peer_tag_mode: param.int(0, { min: 0, max: 1 }),
  max_subnets: param.int(512, { min: 1 }),
  reload_delta: param.int(5, { min: 0 }),
  // allow_trusted: 0 = query the trusted table per request, 1 = cache it
  db_mode: param.int(0, { min: 0, max: 1 }),
  trusted_table: param.str('trusted'),
  source_col: param.str('src_ip'),
  proto_col: param.str('proto'),
  from_col: param.str('from_pattern'),
  ruri_col: param.str('ruri_pattern'),
  priority_col: param.str('priority'),
  load_backends: param.ignored('int'),
  // allow/deny files are not implemented; accepted so Kamailio configs load
  trusted_cleanup_interval: param.ignored('int'),
  default_allow_file: param.ignored('str'),
  default_deny_file: param.ignored('str'),
  check_all_branches: param.ignored('int'),
  allow_suffix: param.ignored('str'),
  deny_suffix: param.ignored('str'),
};

export type PermParams = ParamValues<typeof params>;

const fn = fnFor<PermState>();

const ROUTES = REQ_FAIL_BRANCH | Route.ONREPLY | Route.EVENT;

function portOf(v: string | number | undefined): number {
  const n = typeof v === 'number' ? v : Number.parseInt(v ?? '', 10);
  return Number.isFinite(n) ? n : 0;
}

/** allow_* core: match, set the tag AVP, answer true/false */
function allow(ctx: MsgContext, st: PermState, grp: number | null, ip: string, port: number): number {
  const e = st.table.match(grp, ip, port);
  if (!e) return Ret.FALSE;
  if (e.tag !== null && st.tagTarget) writePv(ctx, st.tagTarget, e.tag);
  return Ret.OK;
}

function group(ctx: MsgContext, st: PermState, ip: string, port: number): number {
  const e = st.table.match(null, ip, port);
  if (!e) return Ret.FALSE;
  if (e.tag !== null && st.tagTarget) writePv(ctx, st.tagTarget, e.tag);
  // group 0 would stop the script (return code 0): Kamailio has the same trap
  return e.grp;
}

export default defineModule({
  name: 'permissions',
  doc: 'IP address based access control (address table or file), tags for customers',
  params,
  init: (env) => createState(env.params, env.log, env.core),
  destroy: async (st) => {
    await st.db?.close();
  },
  functions: {
    allow_source_address: fn({
      args: [optional(arg.int({ min: 0 }))],
      routes: ROUTES,
      run: (ctx, st, grp) => allow(ctx, st, grp ?? 1, ctx.rcv.srcIp, ctx.rcv.srcPort),
    }),
    allow_address: fn({
      args: [arg.int({ min: 0 }), arg.str(), arg.str()],
      routes: ROUTES,
      run: (ctx, st, grp, ip, port) => allow(ctx, st, grp, ip, portOf(port)),
    }),
    allow_source_address_group: fn({
      args: [],
      routes: ROUTES,
      run: (ctx, st) => group(ctx, st, ctx.rcv.srcIp, ctx.rcv.srcPort),
    }),
    allow_address_group: fn({
      args: [arg.str(), arg.str()],
      routes: ROUTES,
      run: (ctx, st, ip, port) => group(ctx, st, ip, portOf(port)),
    }),
    allow_trusted: fn({
      args: [optional(arg.str()), optional(arg.str()), optional(arg.str())],
      routes: REQ_FAIL_BRANCH,
      async: true,
      run: (ctx, st, ip, proto, furi) => allowTrusted(ctx, st, ip, proto, furi),
    }),
  },
  rpc: {
    'permissions.addressReload': {
      help: 'reload the address table (or address file); the old data stays if reading fails',
      run: async (st) => {
        try {
          const n = await reloadAddresses(st, true);
          return `Reload OK (${n} entries)`;
        } catch (e) {
          if (e instanceof RpcError) throw e;
          throw new RpcError(500, `Reload failed: ${(e as Error).message}`);
        }
      },
    },
    'permissions.addressDump': {
      help: 'dump the exact address entries (group, ip, port, tag)',
      run: (st) => st.table.hosts.map((e) => ({ table: 'address', group: e.grp, ip: e.ip, port: e.port, tag: e.tag ?? '' })),
    },
    'permissions.subnetDump': {
      help: 'dump the subnet entries (group, ip, mask, port, tag)',
      run: (st) => st.table.subnets.map((e, id) => ({ id, group: e.grp, ip: e.ip, mask: e.mask, port: e.port, tag: e.tag ?? '' })),
    },
    'permissions.trustedReload': {
      help: 'reload the cached trusted table (db_mode 1)',
      run: async (st) => {
        try {
          const n = await reloadTrusted(st, true);
          return `Reload OK (${n} entries)`;
        } catch (e) {
          if (e instanceof RpcError) throw e;
          throw new RpcError(500, `Reload failed: ${(e as Error).message}`);
        }
      },
    },
    'permissions.trustedDump': {
      help: 'dump the cached trusted entries (src_ip, proto, patterns, tag, priority)',
      run: (st) =>
        (st.trusted ?? []).map((r) => ({
          src_ip: r.src,
          proto: r.proto,
          from_pattern: r.from?.source ?? '',
          ruri_pattern: r.ruri?.source ?? '',
          tag: r.tag ?? '',
          priority: r.priority,
        })),
    },
    'permissions.domainDump': {
      help: 'dump the DNS-name entries (group, domain, port, tag)',
      run: (st) => st.table.domains.map((e, id) => ({ id, group: e.grp, domain: e.ip, port: e.port, tag: e.tag ?? '' })),
    },
  },
});
