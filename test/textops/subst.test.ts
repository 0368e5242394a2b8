// The sed-like expression parser and runner behind subst/subst_uri/subst_user, without a
// message: separators, escapes, back-references, flags, empty-match errors.
import { describe, expect, it } from 'vitest';
import { ArgError } from '../../src/core/module-api.js';
import { parseSubst, substString } from '../../modules/textops/subst.js';
import { posixToJs } from '../../modules/textops/regex.js';

const run = (expr: string, input: string) => substString(parseSubst(expr), input, null);

describe('parseSubst', () => {
  it('replaces the first match, with \\0-\\9 back-references', () => {
    expect(run('/^\\+(.*)$/00\\1/', '+441234')).toBe('00441234');
    expect(run('/^(0)(0)(.*)$/[\\3][\\0]/', '00123')).toBe('[123][00123]');
  });

  it('replaces every match only with the g flag', () => {
    expect(run('/a/b/', 'aaa')).toBe('baa');
    expect(run('/a/b/g', 'aaa')).toBe('bbb');
  });

  it('is case sensitive unless i is given', () => {
    expect(run('/abc/x/', 'ABC')).toBeNull();
    expect(run('/abc/x/i', 'ABC')).toBe('x');
  });

  it('works per line by default; s lets . cross newlines', () => {
    expect(run('/^b.*$/X/', 'a\nb1\nc')).toBe('a\nX\nc');
    expect(run('/a.c/X/', 'a\nc')).toBeNull();
    expect(run('/a.c/X/s', 'a\nc')).toBe('X');
  });

  it('accepts any separator and escaped separators', () => {
    expect(run('#^0#44#', '0207')).toBe('44207');
    expect(run('/a\\/b/c/', 'a/b')).toBe('c');
    expect(run('|x|\\||', 'x')).toBe('|');
  });

  it('decodes \\n \\r \\t \\\\ in the replacement', () => {
    expect(run('/x/1\\t2\\\\3/', 'x')).toBe('1\t2\\3');
  });

  it('returns null when nothing matches', () => {
    expect(run('/^9/0/', '12345')).toBeNull();
  });

  it('reports an empty match as an error (Kamailio refuses it too)', () => {
    expect(() => run('/^/44/', '123')).toThrow(/empty/);
  });

  it('rejects bad expressions with a reason', () => {
    expect(() => parseSubst('/a(/b/')).toThrow(ArgError);
    expect(() => parseSubst('/abc')).toThrow(/separator/);
    expect(() => parseSubst('/a/b/q')).toThrow(/unknown flag/);
    expect(() => parseSubst('\\a\\b\\')).toThrow(/separator/);
    expect(() => parseSubst('/a/$nosuchpv/')).toThrow(/cannot be used/);
  });

  it('accepts core pseudo-variables in the replacement', () => {
    expect(() => parseSubst('/^(.*)$/$avp(cc)\\1/')).not.toThrow();
    expect(() => parseSubst('/^(.*)$/$rU-\\1/')).not.toThrow();
  });

  it('maps POSIX bracket classes to JS', () => {
    expect(posixToJs('^[[:digit:]]+$')).toBe('^[0-9]+$');
    expect(run('/^[[:digit:]]{3}/X/', '12345')).toBe('X45');
  });
});
