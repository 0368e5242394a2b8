// Per-branch message edits: branch_route changes apply to its own branch only (Kamailio
// runs it on a copy), so the request's lumps are saved before and restored after serializing.
import type { SipMessage } from '../../src/sip/index.js';

export interface LumpSnapshot {
  top: string[];
  bottom: string[];
  body: string | null;
  contentType: string | null;
  removed: boolean[];
  values: (string | null)[];
}

export function saveLumps(msg: SipMessage): LumpSnapshot {
  const hs = msg.headers;
  const removed = new Array<boolean>(hs.length);
  const values = new Array<string | null>(hs.length);
  for (let i = 0; i < hs.length; i++) {
    removed[i] = hs[i].removed;
    values[i] = hs[i].newValue;
  }
  return {
    top: msg.topLines.slice(),
    bottom: msg.bottomLines.slice(),
    body: msg.newBody,
    contentType: msg.newContentType,
    removed,
    values,
  };
}

export function restoreLumps(msg: SipMessage, s: LumpSnapshot): void {
  msg.topLines.length = 0;
  msg.topLines.push(...s.top);
  msg.bottomLines.length = 0;
  msg.bottomLines.push(...s.bottom);
  msg.newBody = s.body;
  msg.newContentType = s.contentType;
  const hs = msg.headers;
  for (let i = 0; i < hs.length; i++) {
    hs[i].removed = s.removed[i]!;
    hs[i].newValue = s.values[i]!;
  }
}
