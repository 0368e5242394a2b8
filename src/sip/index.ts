// Public surface of the SIP message layer: parsing, lazy accessors, lumps, serialization.

export { SipMessage, MAX_HEADERS, type Credential } from './message.js';
export { buildReply, type BuildReplyOpts } from './build-reply.js';
export { normalizeLines, type RequestOpts, type ReplyOpts } from './serialize.js';
export { lookupHeader, type HeaderDef } from './header-types.js';
export { parseUri, formatUri, getUriParam } from './parse-uri.js';
export { parseVia, formatVia, markViaText } from './parse-via.js';
export { parseNameAddr, parseNameAddrList, parseContacts, parseContact } from './parse-name-addr.js';
export { parseCSeq } from './parse-cseq.js';
export { parseDigest } from './parse-digest.js';
export { splitHeaderValues, findParam, unquote, type Params } from './parse-params.js';
export {
  HT, SipParseError,
  type SipUri, type Via, type NameAddr, type Contact, type CSeq, type DigestCredentials, type HeaderField,
} from './types.js';
