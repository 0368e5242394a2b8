// Per-test-file databases on the shared MariaDB (127.0.0.1:3306, root, no password):
// each test file uses its own database name, created fresh and dropped at the end.
import mysql from 'mysql2/promise';

export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

export async function recreateDatabase(name: string): Promise<void> {
  const c = await mysql.createConnection(MARIADB);
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await c.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await c.end();
  }
}

export async function dropDatabase(name: string): Promise<void> {
  const c = await mysql.createConnection(MARIADB);
  try {
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await c.end();
  }
}

export function mysqlUrl(db: string, port = 3306): string {
  return `mysql://root@127.0.0.1:${port}/${db}`;
}
