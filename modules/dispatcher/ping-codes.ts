// ds_ping_reply_codes: "class=2;code=403;code=488" — which keepalive replies count as "up"
// besides 2xx. Beware accepting 408/class=4: tm answers 408 itself when nothing comes back.

export interface ReplyCodes {
  codes: Set<number>;
  classes: Set<number>;
}

export function parseReplyCodes(text: string): ReplyCodes {
  const out: ReplyCodes = { codes: new Set(), classes: new Set() };
  for (const part of text.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const m = /^(code|class)\s*=\s*(\d+)$/i.exec(p);
    if (!m) throw new Error(`expected "code=NNN" or "class=N", got "${p}"`);
    const n = Number(m[2]);
    if (m[1].toLowerCase() === 'code') {
      if (n < 100 || n > 699) throw new Error(`reply code ${n} out of range 100..699`);
      out.codes.add(n);
    } else {
      // Kamailio accepts "class=2" and "class=200"
      const c = n >= 100 ? Math.floor(n / 100) : n;
      if (c < 1 || c > 6) throw new Error(`reply class ${n} out of range 1..6`);
      out.classes.add(c);
    }
  }
  return out;
}

/** 2xx always counts as up, then the configured codes and classes */
export function isUpCode(code: number, rc: ReplyCodes): boolean {
  return (code >= 200 && code <= 299) || rc.codes.has(code) || rc.classes.has(Math.floor(code / 100));
}
