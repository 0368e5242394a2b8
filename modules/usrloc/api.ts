// The usrloc API other modules (registrar) and the control plane bind to with
// bindApi<UsrlocApi>('usrloc') — Kamailio's usrloc_api_t, typed. A "domain" is one usrloc
// table ("location", "aliases"); an AOR is the record key inside it.
import { RpcError } from '../../src/core/module-api.js';

/** Kamailio qvalue_t: q × 1000 (0..1000), Q_UNSPECIFIED = -1 when the Contact had no q */
export const Q_UNSPECIFIED = -1;
/** Kamailio ALL_METHODS: the contact accepts every method */
export const ALL_METHODS = 0xffffffff;
/** SER 0.9 usrloc contact flags kept in the `flags` column */
export const FL_NAT = 1;
export const FL_PERMANENT = 128;

/** one binding (Kamailio ucontact_t), as the location table stores it */
export interface UlContact {
  readonly aor: string;
  /** record unique id: `uloc-<hex>-<hex>-<n>`, the DB key of the row */
  readonly ruid: string;
  readonly uri: string;
  /** absolute expiry in unix seconds; 0 = permanent */
  readonly expires: number;
  /** 0..1000, or Q_UNSPECIFIED */
  readonly q: number;
  readonly callid: string;
  readonly cseq: number;
  readonly flags: number;
  /** branch flags saved with the contact (nathelper's NAT bflag...) */
  readonly cflags: number;
  readonly userAgent: string;
  /** source address of the REGISTER as `sip:ip:port` when behind NAT */
  readonly received: string | null;
  /** Path header vector */
  readonly path: string | null;
  /** local socket the REGISTER arrived on, `udp:1.2.3.4:5060` */
  readonly socket: string | null;
  /** Allow methods bitmask (Kamailio METHOD_* bits); ALL_METHODS when unknown */
  readonly methods: number;
  readonly instance: string | null;
  readonly regId: number;
  readonly serverId: number;
  readonly connectionId: number;
  readonly keepalive: number;
  readonly partition: number;
  /** unix seconds */
  readonly lastModified: number;
  /** memory only (save flag 0x01 / save_memory): never written to the DB */
  readonly memOnly: boolean;
}

/** what insert/update take: the contact's data except its identity (aor, ruid) */
export interface ContactInfo {
  uri: string;
  expires: number;
  q?: number;
  callid?: string;
  cseq?: number;
  flags?: number;
  cflags?: number;
  userAgent?: string;
  received?: string | null;
  path?: string | null;
  socket?: string | null;
  methods?: number;
  instance?: string | null;
  regId?: number;
  connectionId?: number;
  lastModified?: number;
  memOnly?: boolean;
}

/** one usrloc table (Kamailio udomain_t) */
export interface UlDomain {
  readonly name: string;
  /**
   * Every contact of an AOR (expired ones not yet swept included), best first: highest q,
   * then most recently modified ([] when the AOR is unknown). Synchronous when the domain
   * is held in memory (the lookup hot path takes no promise); rejects only in db_mode 3.
   */
  get(aor: string): readonly UlContact[] | Promise<readonly UlContact[]>;
  /** run fn with the AOR locked, so two REGISTERs for one AOR never interleave */
  lock<T>(aor: string, fn: () => Promise<T>): Promise<T>;
  insert(aor: string, ci: ContactInfo): Promise<UlContact>;
  /** replace the data of an existing contact (keeps its ruid) */
  update(c: UlContact, ci: ContactInfo): Promise<UlContact>;
  delete(c: UlContact): Promise<void>;
  /** remove every contact of an AOR; returns how many were removed */
  remove(aor: string): Promise<number>;
  /** every AOR with its contacts (db_mode 3 reads the DB) */
  dump(): Promise<Map<string, readonly UlContact[]>>;
  /**
   * Wait until the changes made so far are written as db_mode asks: write-through (1) waits
   * for the DB write (a DB that is down is not an error: the change stays in memory and is
   * retried); other modes return at once.
   */
  sync(): Promise<void>;
  /** number of AORs and contacts in memory (0/0 in db_mode 3) */
  counts(): { users: number; contacts: number };
}

export interface UsrlocApi {
  readonly dbMode: number;
  readonly useDomain: boolean;
  /** how a REGISTER Contact matches a binding: 0 URI, 1 URI + Call-ID, 2 URI + Path */
  readonly matchingMode: number;
  /** seconds within which the same Call-ID and CSeq is a retransmission */
  readonly cseqDelay: number;
  /** the usrloc table with this name, created (and loaded from the DB) on first use */
  getDomain(name: string): UlDomain;
  domains(): readonly UlDomain[];
  /** write every dirty contact now (ul.flush); false when the DB refused */
  flush(): Promise<boolean>;
  /** current time in unix seconds, as usrloc sees it (tests use a fake clock) */
  now(): number;
}

/** error thrown by RPC handlers: rpcCode is the SER FIFO / JSON-RPC error code (400, 404, 500) */
export class UlRpcError extends RpcError {
  constructor(code: number, message: string) {
    super(code, message);
    this.name = 'UlRpcError';
  }
}

/** `sip:alice@example.com` / `alice@example.com` / `alice` → AOR key as usrloc stores it */
export function aorFromText(text: string, useDomain: boolean): string {
  let s = text.trim().replace(/^<|>$/g, '').replace(/^sips?:/i, '');
  const semi = s.search(/[;?]/);
  if (semi >= 0) s = s.slice(0, semi);
  if (!useDomain) {
    const at = s.indexOf('@');
    if (at >= 0) s = s.slice(0, at);
  } else {
    // drop a port from the domain part
    s = s.replace(/(@[^:]+):\d+$/, '$1');
  }
  return s;
}
