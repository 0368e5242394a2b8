// Control plane entry: started by the CLI after the server is up. (FIFO, JSON-RPC socket
// and live reload are added by the control issue; this is the seam they plug into.)
import type { Server } from '../core/server.js';
import type { LoadedConfig } from '../config/load.js';
import type { Dialect } from '../core/dialect.js';

export interface ControlHandle {
  stop(): Promise<void>;
  reload(reason: string): Promise<void>;
}

export interface ControlOptions {
  defines: Map<string, string | true>;
  dialect: Dialect | null;
}

export async function startControl(server: Server, _cfg: LoadedConfig, _opts: ControlOptions): Promise<ControlHandle> {
  return {
    stop: async () => undefined,
    reload: async (reason) => {
      server.log.warn({ reason }, 'reload is not available yet');
    },
  };
}
