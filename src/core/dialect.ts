// Which script dialect a config is written in. Where SER 0.9 and Kamailio 5.x disagree
// (break, single & and |, empty auth realm, tm timer units, return codes) tser follows it.
export type Dialect = 'ser' | 'kamailio';

export interface DialectChoice {
  dialect: Dialect;
  /** plain-words reason, printed by `tser -c` */
  reason: string;
}
