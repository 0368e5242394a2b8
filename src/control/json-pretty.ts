// JSON laid out as Kamailio's jsonrpcs pretty_format=1 prints it (its cJSON formatter):
// members one per line indented with tabs, `"name":<TAB>value`, array elements on one
// line separated by ", " (objects inside open their own lines). kamctl's filters and
// `kamctl online`'s grep/awk read replies in exactly this shape.

function tabs(n: number): string {
  return '\t'.repeat(n);
}

function format(v: unknown, depth: number): string {
  if (Array.isArray(v)) return `[${v.map((e) => format(e, depth + 1)).join(', ')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return `{\n${tabs(depth)}}`;
    const lines = entries.map(([k, x], i) => `${tabs(depth + 1)}${JSON.stringify(k)}:\t${format(x, depth + 1)}${i < entries.length - 1 ? ',' : ''}\n`);
    return `{\n${lines.join('')}${tabs(depth)}}`;
  }
  const s = JSON.stringify(v);
  return s === undefined ? 'null' : s;
}

/** a parsed JSON value as Kamailio's jsonrpcs pretty-prints it */
export function kamailioPrettyJson(v: unknown): string {
  return format(v, 0);
}
