// Script values (Kamailio rvalues): int/string/null conversions, truth, the binary
// operators, and promise plumbing for expressions that may be async.
import type * as A from '../config/ast.js';
import type { PvValue } from '../core/module-api.js';

export type Val = PvValue;

export function isPromise<T>(x: T | Promise<T>): x is Promise<T> {
  return typeof x === 'object' && x !== null && typeof (x as Promise<T>).then === 'function';
}

/** numeric truth of a value: >0 true (function-call convention) */
export function truthy(v: Val): boolean {
  if (v === null) return false;
  if (typeof v === 'number') return v > 0;
  if (v === '') return false;
  const n = Number(v);
  return Number.isNaN(n) ? true : n > 0;
}

export function toInt(v: Val): number {
  if (v === null) return 0;
  if (typeof v === 'number') return v;
  const n = Number.parseInt(v, 10);
  return Number.isNaN(n) ? 0 : n;
}

export function toStr(v: Val): string {
  return v === null ? '' : String(v);
}

export function lift(v: Val | Promise<Val>, f: (x: Val) => Val): Val | Promise<Val> {
  return isPromise(v) ? v.then(f) : f(v);
}

export function binaryFn(op: A.BinaryOp, caseless: boolean): (a: Val, b: Val) => Val {
  const eq = (a: Val, b: Val): boolean => {
    if (typeof a === 'number' || (typeof b === 'number' && a !== null && /^-?\d+$/.test(String(a)))) {
      if (typeof b === 'number' || (b !== null && /^-?\d+$/.test(String(b)))) return toInt(a) === toInt(b);
    }
    if (a === null && b === null) return true;
    const x = toStr(a);
    const y = toStr(b);
    return caseless ? x.toLowerCase() === y.toLowerCase() : x === y;
  };
  switch (op) {
    case '==':
      return (a, b) => (eq(a, b) ? 1 : 0);
    case '!=':
      return (a, b) => (eq(a, b) ? 0 : 1);
    case 'eq':
      return (a, b) => (toStr(a) === toStr(b) ? 1 : 0);
    case 'ne':
      return (a, b) => (toStr(a) !== toStr(b) ? 1 : 0);
    case 'ieq':
      return (a, b) => (toInt(a) === toInt(b) ? 1 : 0);
    case 'ine':
      return (a, b) => (toInt(a) !== toInt(b) ? 1 : 0);
    case '<':
      return (a, b) => (toInt(a) < toInt(b) ? 1 : 0);
    case '>':
      return (a, b) => (toInt(a) > toInt(b) ? 1 : 0);
    case '<=':
      return (a, b) => (toInt(a) <= toInt(b) ? 1 : 0);
    case '>=':
      return (a, b) => (toInt(a) >= toInt(b) ? 1 : 0);
    case '+':
      // Kamailio: string concatenation when the left operand is a string
      return (a, b) => (typeof a === 'string' || (a === null && typeof b === 'string') ? toStr(a) + toStr(b) : toInt(a) + toInt(b));
    case '-':
      return (a, b) => toInt(a) - toInt(b);
    case '*':
      return (a, b) => toInt(a) * toInt(b);
    case '/':
      return (a, b) => (toInt(b) === 0 ? 0 : Math.trunc(toInt(a) / toInt(b)));
    case '%':
      return (a, b) => (toInt(b) === 0 ? 0 : toInt(a) % toInt(b));
    case '&':
      return (a, b) => toInt(a) & toInt(b);
    case '|':
      return (a, b) => toInt(a) | toInt(b);
    case '^':
      return (a, b) => toInt(a) ^ toInt(b);
    case '<<':
      return (a, b) => toInt(a) << toInt(b);
    case '>>':
      return (a, b) => toInt(a) >> toInt(b);
    default:
      return () => 0;
  }
}

