// Finds the modules shipped in modules/<name>/index (one folder per Kamailio module name)
// and runs their lifecycle. The core knows no module by name: `loadmodule "x.so"` looks
// for folder x, or a module declaring x among its aliases.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ModuleDef, ParamSpec } from './module-api.js';

export type AnyModuleDef = ModuleDef<unknown, Record<string, ParamSpec>>;

const here = dirname(fileURLToPath(import.meta.url));
/** modules/ next to src/ (works from the TS sources and from dist/) */
const modulesDir = join(here, '..', '..', 'modules');

let catalog: Promise<Map<string, AnyModuleDef>> | null = null;

/** every available module, by name and by alias (lower case) */
export function moduleCatalog(): Promise<Map<string, AnyModuleDef>> {
  catalog ??= loadCatalog();
  return catalog;
}

async function loadCatalog(): Promise<Map<string, AnyModuleDef>> {
  const out = new Map<string, AnyModuleDef>();
  if (!existsSync(modulesDir)) return out;
  const dirs = readdirSync(modulesDir, { withFileTypes: true }).filter((d) => d.isDirectory());
  const defs = await Promise.all(
    dirs.map(async (d) => {
      const js = join(modulesDir, d.name, 'index.js');
      const ts = join(modulesDir, d.name, 'index.ts');
      const file = existsSync(js) ? js : existsSync(ts) ? ts : null;
      if (!file) return null;
      const mod = (await import(pathToFileURL(file).href)) as { default?: AnyModuleDef };
      return mod.default ?? null;
    }),
  );
  for (const def of defs) {
    if (!def) continue;
    out.set(def.name.toLowerCase(), def);
  }
  for (const def of defs) {
    if (!def) continue;
    for (const a of def.aliases ?? []) if (!out.has(a.toLowerCase())) out.set(a.toLowerCase(), def);
  }
  return out;
}

/** `"/usr/local/lib/ser/modules/mysql.so"` → `"mysql"` */
export function moduleNameFromPath(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.so$/i, '').toLowerCase();
}
