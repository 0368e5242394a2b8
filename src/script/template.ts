// Strings with embedded pseudo-variables ("sip:$rU@$fd") are split once at load into
// literal and PV parts, so per message only the PV getters run.
import type { PvRefSpec } from './pv.js';

export type TemplatePart = string | PvRefSpec;

const NAME_START = /[A-Za-z_?]/;

/** read a balanced (...) group starting at s[i] === '(' ; returns end index after ')' */
function readParens(s: string, i: number, open = '(', close = ')'): number {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    if (s[j] === open) depth++;
    else if (s[j] === close) {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

/**
 * Parse a PV reference starting at s[i] === '$'. Returns the spec and the end index, or
 * null when the text at i is not a PV (a literal '$', e.g. the end of a regex).
 */
export function readPv(s: string, i: number): { spec: PvRefSpec; end: number } | null {
  let j = i + 1;
  if (s[j] === '(') {
    // $(name(inner)[idx]{tr}...)
    const end = readParens(s, j);
    if (end < 0) return null;
    const body = s.slice(j + 1, end - 1);
    const m = /^([A-Za-z_][A-Za-z0-9_]*|\?)(\(([^)]*)\))?(\[(-?\d+|\*)\])?((\{[^}]*\})*)$/.exec(body);
    if (!m) return null;
    const transforms = m[6] ? [...m[6].matchAll(/\{([^}]*)\}/g)].map((t) => t[1]) : [];
    const idx = m[5] === undefined ? null : m[5] === '*' ? '*' : Number(m[5]);
    return {
      spec: { name: m[1], inner: m[3] ?? null, index: idx, transforms, text: s.slice(i, end) },
      end,
    };
  }
  if (j >= s.length || !NAME_START.test(s[j])) return null;
  if (s[j] === '?') return { spec: { name: '?', inner: null, index: null, transforms: [], text: '$?' }, end: j + 1 };
  const start = j;
  while (j < s.length && /[A-Za-z0-9_]/.test(s[j])) j++;
  const name = s.slice(start, j);
  let inner: string | null = null;
  if (s[j] === '(') {
    const end = readParens(s, j);
    if (end < 0) return null;
    inner = s.slice(j + 1, end - 1);
    j = end;
  }
  return { spec: { name, inner, index: null, transforms: [], text: s.slice(i, j) }, end: j };
}

/** split a string into literal and PV parts; `$$` is a literal '$' */
export function parseTemplate(s: string): TemplatePart[] {
  if (!s.includes('$')) return [s];
  const parts: TemplatePart[] = [];
  let lit = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c !== '$') {
      lit += c;
      i++;
      continue;
    }
    if (s[i + 1] === '$') {
      lit += '$';
      i += 2;
      continue;
    }
    const pv = readPv(s, i);
    if (!pv) {
      lit += c;
      i++;
      continue;
    }
    if (lit) parts.push(lit);
    lit = '';
    parts.push(pv.spec);
    i = pv.end;
  }
  if (lit) parts.push(lit);
  return parts;
}
