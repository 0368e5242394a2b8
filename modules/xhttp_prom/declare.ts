// xhttp_prom's metric declarations: "name=NAME; label=a:b:c; buckets=0.1:1:10" (Kamailio's
// prom_counter / prom_gauge / prom_histogram parameter syntax).

export interface MetricDecl {
  kind: 'counter' | 'gauge' | 'histogram';
  name: string;
  labels: string[];
  buckets?: number[];
}

export function parseDeclaration(kind: MetricDecl['kind'], text: string): { decl: MetricDecl | null; error: string | null } {
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const t = part.trim();
    if (!t) continue;
    const i = t.indexOf('=');
    if (i < 0) return { decl: null, error: `"${t}": expected attribute=value` };
    const k = t.slice(0, i).trim();
    if (k !== 'name' && k !== 'label' && !(k === 'buckets' && kind === 'histogram')) return { decl: null, error: `unknown attribute "${k}"` };
    fields.set(k, t.slice(i + 1).trim());
  }
  const name = fields.get('name');
  if (!name || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) return { decl: null, error: 'name= is missing or not a valid metric name' };
  const labels = fields.get('label') ? fields.get('label')!.split(':') : [];
  if (labels.length > 3 || labels.some((l) => !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l))) return { decl: null, error: 'label= takes up to three names separated by ":"' };
  const decl: MetricDecl = { kind, name, labels };
  const b = fields.get('buckets');
  if (b !== undefined) {
    const buckets = b.split(':').map(Number);
    if (buckets.length === 0 || buckets.some((x) => !Number.isFinite(x)) || buckets.some((x, i) => i > 0 && x <= buckets[i - 1]))
      return { decl: null, error: 'buckets= takes increasing numbers separated by ":"' };
    decl.buckets = buckets;
  }
  return { decl, error: null };
}
