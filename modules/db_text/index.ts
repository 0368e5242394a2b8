// db_text (Kamailio "db_text.so", SER "dbtext.so"): the text:// driver lives in src/db;
// this module only exists so configs that load it keep working.
import { defineModule, param } from '../../src/core/module-api.js';

export default defineModule({
  name: 'db_text',
  aliases: ['dbtext'],
  doc: 'Kamailio db_text file driver for db_url text://',
  params: {
    // tser always writes changes back at once and re-reads files changed on disk
    db_mode: param.ignored('int'),
    emptystring: param.ignored('int'),
    file_buffer_size: param.ignored('int'),
    max_result_rows: param.ignored('int'),
    db_delim: param.ignored('str'),
    default_connection: param.ignored('str'),
  },
  init: () => null,
  functions: {},
});
