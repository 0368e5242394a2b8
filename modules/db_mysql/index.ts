// db_mysql (SER 0.9 "mysql.so", Kamailio "db_mysql.so"): the mysql:// driver lives in
// src/db; this module only exists so configs that load it keep working, and to take its
// connection parameters (Kamailio db_mysql timeout_interval).
import { defineModule, param } from '../../src/core/module-api.js';
import { setMysqlOptions } from '../../src/db/open.js';

export default defineModule({
  name: 'db_mysql',
  aliases: ['mysql'],
  doc: 'MySQL/MariaDB driver for db_url mysql://',
  params: {
    /** seconds to wait for a connection (and a query answer, x2.5) before failing */
    timeout_interval: param.int(2, { min: 1, max: 120 }),
    ping_interval: param.ignored('int'),
    auto_reconnect: param.ignored('int'),
    retries: param.ignored('int'),
    server_timezone: param.ignored('int'),
    insert_delayed: param.ignored('int'),
    update_affected_found: param.ignored('int'),
    opt_ssl_mode: param.ignored('int'),
  },
  init: (env) => {
    const t = env.params.timeout_interval * 1000;
    setMysqlOptions({ connectTimeout: t, queryTimeout: Math.round(t * 2.5) });
    return null;
  },
  functions: {},
});
