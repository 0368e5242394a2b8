// Why a REGISTER failed (Kamailio rerrno): the reply code and the P-Registrar-Error text,
// from Kamailio 5.6 registrar reply.c (codes[], error_info[]).
import type { ErrorCode } from '../../src/core/errors.js';

export interface RegErrorInfo {
  code: number;
  text: string;
}

export const R = {
  UL_DEL_R: { code: 500, text: 'usrloc_record_delete failed' },
  UL_GET_R: { code: 500, text: 'usrloc_record_get failed' },
  UL_INS_C: { code: 500, text: 'usrloc_contact_insert failed' },
  UL_DEL_C: { code: 500, text: 'usrloc_contact_delete failed' },
  UL_UPD_C: { code: 500, text: 'usrloc_contact_update failed' },
  INV_CSEQ: { code: 400, text: 'Invalid CSeq number' },
  TO_USER: { code: 400, text: 'No username in To URI' },
  AOR_LEN: { code: 500, text: 'Address Of Record too long' },
  AOR_PARSE: { code: 400, text: 'Error while parsing AOR' },
  INV_EXP: { code: 400, text: 'Invalid expires param in contact' },
  INV_Q: { code: 400, text: 'Invalid q param in contact' },
  PARSE: { code: 400, text: 'Message parse error' },
  PARSE_EXP: { code: 400, text: 'Expires parse error' },
  PARSE_CONT: { code: 400, text: 'Contact parse error' },
  STAR_EXP: { code: 400, text: '* used in contact and expires is not zero' },
  STAR_CONT: { code: 400, text: '* used in contact and more than 1 contact' },
  UNESCAPE: { code: 400, text: 'Error while unescaping username' },
  TOO_MANY: { code: 503, text: 'Too many registered contacts' },
  /** tser: more contacts in one REGISTER than max_contacts_per_request */
  TOO_MANY_IN_REQ: { code: 400, text: 'Too many contacts in request' },
  CONTACT_LEN: { code: 400, text: 'Contact/received too long' },
  CALLID_LEN: { code: 400, text: 'Callid too long' },
  PARSE_PATH: { code: 400, text: 'Path parse error' },
  PATH_UNSUP: { code: 420, text: 'No support for found Path indicated' },
  INV_REGID: { code: 400, text: 'Invalid Reg-Id number' },
  LOW_EXP: { code: 423, text: 'Interval too brief' },
} as const satisfies Record<string, RegErrorInfo>;

/** a failed registrar step; carries the reply to send */
export class RegError extends Error {
  readonly code: ErrorCode = 'TSER_E_REGISTRAR';
  constructor(readonly info: RegErrorInfo) {
    super(info.text);
    this.name = 'RegError';
  }
}

/** reason phrases of the replies save() sends (Kamailio reply.c MSG_*) */
export function reasonOf(code: number): string {
  switch (code) {
    case 200:
      return 'OK';
    case 400:
      return 'Bad Request';
    case 420:
      return 'Bad Extension';
    case 421:
      return 'Extension Required';
    case 423:
      return 'Interval Too Brief';
    case 503:
      return 'Service Unavailable';
    default:
      return 'Server Internal Error';
  }
}
