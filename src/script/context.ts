// Per-message script state (Kamailio's sip_msg + run flags). Every field is set in the
// constructor so all contexts share one shape; nothing here is allocated per statement.
import type { Logger } from 'pino';
import type { SipMessage } from '../sip/message.js';
import { parseUri } from '../sip/parse-uri.js';
import type { SipUri } from '../sip/types.js';
import type { ReceiveInfo } from '../transport/types.js';
import type { CoreApi } from '../core/core-api.js';
import type { PvValue } from '../core/module-api.js';
import type { Script } from './script.js';

/** run flags, as Kamailio's EXIT_R_F / RETURN_R_F / BREAK_R_F / DROP_R_F */
export const RunFlag = {
  EXIT: 1,
  RETURN: 2,
  BREAK: 4,
  DROP: 8,
} as const;

/** an extra destination for forking (append_branch, lookup) */
export interface Branch {
  uri: string;
  dstUri: string | null;
  q: number | null;
  path: string | null;
  flags: number;
  /** extra per-branch data (registrar: instance, received...) */
  attrs?: Record<string, string>;
}

export class MsgContext {
  /** route type being run (Route.* bit) */
  routeType: number;
  /** R-URI as rewritten by the script; null = unchanged */
  newUri: string | null = null;
  /** $du: next hop overriding the R-URI */
  dstUri: string | null = null;
  branches: Branch[] = [];
  /** message flags (setflag/isflagset, $mf) */
  flags = 0;
  /** branch flags of the main branch ($bf) */
  bflags = 0;
  /** q of the main branch (lookup) */
  ruriQ: number | null = null;
  /** Path of the main branch (registrar lookup) */
  ruriPath: string | null = null;
  /** $avp store, created on first use; bound to the transaction by tm */
  avps: Map<string, PvValue[]> | null = null;
  /** $rc / $retcode */
  rc = 1;
  runFlags = 0;
  /** set by modules that sent a reply (sl, tm), so the core does not send another */
  replied = false;
  /** the reply being processed (onreply/failure routes) */
  reply: SipMessage | null = null;
  /** per-module per-message data (auth: authorized credentials, tm: transaction) */
  ext: Record<string, unknown> | null = null;
  /** last internal error for sl_reply_error(): code and reason */
  lastError: { code: number; reason: string } | null = null;
  /** while-loop guard */
  loopGuard = 0;
  /** ruriUri() cache: the R-URI text it was parsed from, and the parse */
  private parsedFor: string | null = null;
  private parsedRuri: Readonly<SipUri> | null = null;

  constructor(
    readonly msg: SipMessage,
    readonly rcv: ReceiveInfo,
    readonly script: Script,
    readonly core: CoreApi,
    routeType: number,
  ) {
    this.routeType = routeType;
  }

  get log(): Logger {
    return this.core.log;
  }

  /** the current R-URI ($ru) */
  get ruri(): string {
    return this.newUri ?? this.msg.ruri;
  }

  /**
   * The current R-URI parsed (null unless sip/sips/tel), cached until the R-URI changes:
   * uri==myself, lookup() and loose_route() all read it. Read-only: edit a copy.
   */
  ruriUri(): Readonly<SipUri> | null {
    const text = this.ruri;
    if (text !== this.parsedFor) {
      this.parsedFor = text;
      this.parsedRuri = parseUri(text);
    }
    return this.parsedRuri;
  }

  getExt<T>(key: string): T | undefined {
    return this.ext?.[key] as T | undefined;
  }

  setExt(key: string, v: unknown): void {
    (this.ext ??= {})[key] = v;
  }

  /** remember why a function failed, for sl_reply_error() */
  setError(code: number, reason: string): void {
    this.lastError = { code, reason };
  }
}
