// Destination sets (Kamailio dispatcher ds_set_t / ds_dest_t): destinations with flags,
// priority and attributes, ordered by priority, plus the per-set selection state (round-robin
// position, weight slots). A list is immutable in shape; states and counters change in place.

/** destination flags / states (list file `flags` column, Kamailio DS_*_DST) */
export const DsFlag = {
  INACTIVE: 1,
  TRYING: 2,
  DISABLED: 4,
  PROBING: 8,
  NODNS: 16,
} as const;
export const STATES_ALL = DsFlag.INACTIVE | DsFlag.TRYING | DsFlag.DISABLED | DsFlag.PROBING;

export interface DsAttrs {
  /** the attrs string as given, without a trailing ';' */
  body: string;
  duid: string;
  maxload: number;
  weight: number;
  rweight: number;
  socket: string;
  sockname: string;
  pingFrom: string;
  obproxy: string;
}

export interface DsDest {
  setid: number;
  uri: string;
  flags: number;
  priority: number;
  attrs: DsAttrs;
  description: string;
  /** host, port (0 when the URI has none) and transport (null when none) from the URI */
  host: string;
  port: number;
  proto: string | null;
  /** resolved address at load, null for no-DNS (flag 16) entries */
  ip: string | null;
  /** failures in trying state / successes while inactive (ds_probing_threshold/ds_inactive_threshold) */
  probingCount: number;
  /** active calls (algorithm 10) */
  dload: number;
  /** an OPTIONS probe is in flight */
  pinging: boolean;
}

export interface DsSet {
  id: number;
  dests: DsDest[];
  /** next index for round-robin */
  last: number;
  /** weight slots: indexes repeated by weight, shuffled (algorithm 9) */
  wlist: number[];
  wlast: number;
  /** relative weight slots over active destinations (algorithm 11) */
  rwlist: number[];
  rwlast: number;
}

/** `inactive` and `disabled` destinations are never selected (Kamailio ds_skip_dst) */
export function skipDst(flags: number): boolean {
  return (flags & (DsFlag.INACTIVE | DsFlag.DISABLED)) !== 0;
}

export function parseAttrs(text: string, onBad: (why: string) => void): DsAttrs {
  const body = text.trim().replace(/;$/, '');
  const a: DsAttrs = { body, duid: '', maxload: 0, weight: 0, rweight: 0, socket: '', sockname: '', pingFrom: '', obproxy: '' };
  if (!body) return a;
  for (const part of body.split(';')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const int = () => (/^-?\d+$/.test(value) ? Number(value) : NaN);
    switch (name) {
      case 'duid':
        a.duid = value;
        break;
      case 'maxload':
        a.maxload = Math.max(0, int() || 0);
        break;
      case 'weight':
      case 'rweight': {
        const n = int();
        if (n >= 1 && n <= 100) a[name] = n;
        else onBad(`${name} ${value} not in 1-100 range - ignored`);
        break;
      }
      case 'socket':
        a.socket = value;
        break;
      case 'sockname':
        a.sockname = value;
        break;
      case 'ping_from':
        a.pingFrom = value;
        break;
      case 'obproxy':
        a.obproxy = value;
        break;
      default:
        break;
    }
  }
  return a;
}

/** one attribute of the attrs string (`weight`, or a custom one like `account`) */
export function attrValue(body: string, name: string): string | null {
  const want = name.toLowerCase();
  for (const part of body.split(';')) {
    const eq = part.indexOf('=');
    const k = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (k === want) return eq < 0 ? '' : part.slice(eq + 1).trim();
  }
  return null;
}

function shuffle(a: number[], rnd: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}

/**
 * Weight slots: each destination's index repeated `weight` times, shuffled, so that every
 * full cycle gives each destination exactly its share (weights 10 and 1: 10 of 11 calls).
 */
export function weightSlots(weights: readonly number[], rnd: () => number = Math.random): number[] {
  const out: number[] = [];
  weights.forEach((w, i) => {
    for (let k = 0; k < w; k++) out.push(i);
  });
  shuffle(out, rnd);
  return out;
}

/** recompute the relative-weight slots over the destinations not skipped (algorithm 11) */
export function initRelativeWeights(set: DsSet, rnd: () => number = Math.random): void {
  set.rwlist = weightSlots(set.dests.map((d) => (skipDst(d.flags) ? 0 : d.attrs.rweight)), rnd);
  set.rwlast = 0;
}

/**
 * Build the sets from loaded destinations. Within a set the higher priority comes first;
 * equal priorities end up in reverse load order, as Kamailio's list insertion does.
 */
export function buildSets(dests: readonly DsDest[], rnd: () => number = Math.random): Map<number, DsSet> {
  const sets = new Map<number, DsSet>();
  const byId = new Map<number, DsDest[]>();
  for (const d of dests) {
    const l = byId.get(d.setid);
    if (l) l.push(d);
    else byId.set(d.setid, [d]);
  }
  for (const id of [...byId.keys()].sort((a, b) => a - b)) {
    const list = byId.get(id)!;
    const ordered = list
      .map((d, i) => ({ d, i }))
      .sort((a, b) => b.d.priority - a.d.priority || b.i - a.i)
      .map((x) => x.d);
    const set: DsSet = {
      id,
      dests: ordered,
      last: 0,
      wlist: weightSlots(ordered.map((d) => d.attrs.weight), rnd),
      wlast: 0,
      rwlist: [],
      rwlast: 0,
    };
    initRelativeWeights(set, rnd);
    sets.set(id, set);
  }
  return sets;
}

/** Kamailio dispatcher.list FLAGS: state letter + P (probing) or X */
export function flagsText(flags: number): string {
  const s =
    flags & DsFlag.DISABLED ? 'D' : flags & DsFlag.INACTIVE ? 'I' : flags & DsFlag.TRYING ? 'T' : 'A';
  return s + (flags & DsFlag.PROBING ? 'P' : 'X');
}

/** "ip", "a", "dp"... → state bits; null for a bad string */
export function parseState(text: string): number | null {
  const s = text.trim().toLowerCase();
  if (!s) return null;
  let st: number;
  switch (s[0]) {
    case 'a':
      st = 0;
      break;
    case 'i':
      st = DsFlag.INACTIVE;
      break;
    case 't':
      st = DsFlag.TRYING;
      break;
    case 'd':
      st = DsFlag.DISABLED;
      break;
    default:
      return null;
  }
  const rest = s.slice(1);
  if (rest === 'p') st |= DsFlag.PROBING;
  else if (rest !== '') return null;
  return st;
}
