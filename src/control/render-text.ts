// Plain-text rendering of an RPC result, for SER FIFO replies and tserctl's readable output:
// strings as they are, lists one item per line, objects as "key: value" lines (nested
// values indented with a tab, as SER's FIFO replies nest).

export function renderText(v: unknown, indent = ''): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return indent ? v.split('\n').map((l) => indent + l).join('\n') : v;
  if (typeof v === 'number' || typeof v === 'boolean') return `${indent}${String(v)}`;
  if (Array.isArray(v)) {
    return v
      .map((item) => (isScalar(item) ? `${indent}${scalar(item)}` : renderText(item, indent)))
      .filter((s) => s !== '')
      .join(v.some((x) => !isScalar(x)) ? '\n\n' : '\n');
  }
  if (typeof v === 'object') {
    const lines: string[] = [];
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (isScalar(val)) lines.push(`${indent}${k}: ${scalar(val)}`);
      else if (Array.isArray(val) && val.every(isScalar)) lines.push(`${indent}${k}: ${val.map(scalar).join(', ')}`);
      else {
        lines.push(`${indent}${k}:`);
        const inner = renderText(val, `${indent}\t`);
        if (inner) lines.push(inner);
      }
    }
    return lines.join('\n');
  }
  return `${indent}${String(v)}`;
}

function isScalar(v: unknown): v is string | number | boolean | null | undefined {
  return v === null || v === undefined || typeof v !== 'object';
}

function scalar(v: string | number | boolean | null | undefined): string {
  return v === null || v === undefined ? '' : String(v);
}

interface ReloadLike {
  file?: unknown;
  script_id?: unknown;
  previous_script_id?: unknown;
  routes?: { added?: unknown[]; removed?: unknown[]; modified?: unknown[]; unchanged?: unknown };
  params?: { applied?: ChangeLike[]; restart_required?: ChangeLike[] };
  modules?: { added?: unknown[]; removed_still_loaded?: unknown[] };
  warnings?: unknown[];
  load_ms?: unknown;
  swap_ms?: unknown;
}

interface ChangeLike {
  scope?: unknown;
  name?: unknown;
  running?: unknown;
  configured?: unknown;
  why?: unknown;
}

const list = (a: unknown[] | undefined) => (a && a.length ? a.join(', ') : '-');
const val = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v ?? null));

/** a reload report (cfg.reload result) as a few readable lines */
export function describeReload(r: ReloadLike): string {
  const lines = [
    `reloaded ${String(r.file)}: script ${String(r.script_id)} (was ${String(r.previous_script_id)}), compiled in ${String(r.load_ms)} ms, swapped in ${String(r.swap_ms)} ms`,
    `routes: modified ${list(r.routes?.modified)}; added ${list(r.routes?.added)}; removed ${list(r.routes?.removed)}; unchanged ${String(r.routes?.unchanged ?? 0)}`,
  ];
  for (const c of r.params?.applied ?? []) lines.push(`applied: ${String(c.scope)}.${String(c.name)} ${val(c.running)} -> ${val(c.configured)}`);
  for (const c of r.params?.restart_required ?? [])
    lines.push(`restart required: ${String(c.scope)}.${String(c.name)} ${val(c.configured)} (running value ${val(c.running)} kept)`);
  if (r.modules?.added?.length) lines.push(`modules started: ${list(r.modules.added)}`);
  if (r.modules?.removed_still_loaded?.length) lines.push(`modules no longer in the config (still loaded until restart): ${list(r.modules.removed_still_loaded)}`);
  for (const w of r.warnings ?? []) lines.push(`warning: ${String(w)}`);
  return lines.join('\n');
}
