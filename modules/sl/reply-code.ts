// The reply-code argument: "404" or 404, 100..699, checked once at load when constant.
import { arg, ArgError } from '../../src/core/module-api.js';

export function replyCode() {
  return arg.custom('reply code', (s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 100 || n > 699) throw new ArgError(`reply code must be 100..699, got "${s}"`);
    return n;
  });
}
