// textops string helpers that take no message: in_list, in_list_prefix, cmp_str, cmp_istr,
// starts_with, ends_with, str_find, str_ifind (Kamailio textops 4.46-4.53).
import { Ret } from '../../src/core/module-api.js';

export function inList(subject: string, list: string, sep: string, prefix: boolean): number {
  if (sep.length !== 1) return Ret.FALSE;
  for (const item of list.split(sep)) {
    if (prefix ? item.length > 0 && subject.startsWith(item) : item === subject) return Ret.OK;
  }
  return Ret.FALSE;
}

/** Kamailio cmp_str: 1 equal, -1 first sorts before, -2 first sorts after */
export function cmpStr(a: string, b: string, icase: boolean): number {
  const x = icase ? a.toLowerCase() : a;
  const y = icase ? b.toLowerCase() : b;
  if (x === y) return Ret.OK;
  return x < y ? -1 : -2;
}

/** position + 1 of b in a (so 0 stays "false"), -1 when absent */
export function strFind(a: string, b: string, icase: boolean): number {
  const i = icase ? a.toLowerCase().indexOf(b.toLowerCase()) : a.indexOf(b);
  return i < 0 ? Ret.FALSE : i + 1;
}
