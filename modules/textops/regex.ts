// POSIX extended regular expressions (what Kamailio's textops compiles with regcomp) mapped
// onto JavaScript RegExp once at load. Kamailio uses REG_EXTENDED|REG_ICASE|REG_NEWLINE for
// search/replace arguments; REG_NEWLINE is JS's 'm' flag ('.' never crosses a line end).
import { ArgError, arg, type ArgSpec } from '../../src/core/module-api.js';

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\r\\n\\v\\f',
  blank: ' \\t',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
  word: 'A-Za-z0-9_',
};

/** rewrites `[[:digit:]]`-style classes, the one POSIX ERE construct JS lacks */
export function posixToJs(src: string): string {
  if (!src.includes('[:')) return src;
  return src.replace(/\[:([a-z]+):\]/g, (m, name: string) => POSIX_CLASSES[name] ?? m);
}

/** compile a POSIX ERE; throws ArgError with the reason, for a load-time diagnostic */
export function compileRegex(src: string, flags: string): RegExp {
  try {
    return new RegExp(posixToJs(src), flags);
  } catch (e) {
    throw new ArgError(`bad regular expression "${src}": ${(e as Error).message}`);
  }
}

/**
 * A regex argument compiled like Kamailio's fixup_regexp_* (icase, newline-sensitive).
 * Its kind is 'regex', so the compiler never expands `$` in it as a pseudo-variable.
 * Compiled global once, so match loops need no copy; users reset lastIndex first.
 */
export function reArg(flags = 'im'): ArgSpec<RegExp> {
  return arg.custom<RegExp>('regex', (s) => compileRegex(s, flags + 'g'));
}

/** same regex with the global flag, for replace_all-style loops */
export function globalOf(re: RegExp): RegExp {
  return re.global ? re : new RegExp(re.source, re.flags + 'g');
}
