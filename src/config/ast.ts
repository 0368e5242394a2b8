// AST of a SER 0.9 / Kamailio 5.x routing script, as produced by grammar/ser.peggy.
// Plain data: a discriminated union on `kind`, every node carries `loc`. Semantic checks
// (unknown functions, params, routes) live in the passes, not in the grammar.

export interface Position {
  offset: number;
  line: number;
  column: number;
}

/** Same shape as peggy's LocationRange; `source` is the file name the text came from. */
export interface Loc {
  source: string;
  start: Position;
  end: Position;
}

export interface Node<K extends string> {
  kind: K;
  loc: Loc;
}

// ---------- top level ----------

export type TopLevel =
  | GlobalParam
  | LoadModule
  | LoadPath
  | ModParam
  | RouteBlock
  | EmptyStmt;

export interface ConfigFile extends Node<'config'> {
  items: TopLevel[];
}

/**
 * `name = value` (also `name = v1, v2` lists for listen/alias). Also carries, with the keyword as
 * `name`: Kamailio `cfgengine "native"` (one str value) and SER-2 `flags A:1, B;` /
 * `avpflags x;` declarations (id values "NAME" or "NAME:bit").
 */
export interface GlobalParam extends Node<'global_param'> {
  name: string;
  nameLoc: Loc;
  values: ParamValue[];
  /** cfg-framework description: `group.var = value desc "text"` */
  desc?: string;
}

/** `listen=... advertise host:port name "sock" virtual` */
export interface SocketOpts {
  advertise?: string;
  name?: string;
  virtual?: boolean;
}

export type ParamValue =
  | { type: 'int'; value: number; loc: Loc }
  | { type: 'str'; value: string; loc: Loc; socket?: SocketOpts }
  | { type: 'bool'; value: boolean; loc: Loc }
  /** bare identifier, IP address, host name, `proto:addr:port` socket, etc. kept as text */
  | { type: 'id'; value: string; loc: Loc; socket?: SocketOpts };

export interface LoadModule extends Node<'loadmodule'> {
  path: string;
  pathLoc: Loc;
  /** `loadmodulex`: variables in the path are expanded */
  expand?: boolean;
}

export interface LoadPath extends Node<'loadpath'> {
  path: string;
}

export interface ModParam extends Node<'modparam'> {
  module: string;
  moduleLoc: Loc;
  param: string;
  paramLoc: Loc;
  value: ParamValue;
  /** `modparamx`: variables in the value are expanded */
  expand?: boolean;
}

export type RouteKind =
  | 'request' // route, route[0], request_route
  | 'named' // route[N] / route[NAME]
  | 'reply' // reply_route / onreply_route without name
  | 'onreply'
  | 'failure'
  | 'branch'
  | 'onsend'
  | 'event';

export interface RouteBlock extends Node<'route_block'> {
  routeKind: RouteKind;
  /** the name as written inside [..]; numbers are kept as their decimal text; null when unnamed */
  name: string | null;
  /** the keyword as written: "route", "request_route", "failure_route", ... */
  keyword: string;
  body: Block;
}

export interface EmptyStmt extends Node<'empty'> {}

// ---------- statements ----------

export type Stmt =
  | Block
  | IfStmt
  | SwitchStmt
  | WhileStmt
  | BreakStmt
  | ExitStmt
  | DropStmt
  | ReturnStmt
  | RouteCall
  | AssignStmt
  | ExprStmt
  | EmptyStmt;

export interface Block extends Node<'block'> {
  body: Stmt[];
}

export interface IfStmt extends Node<'if'> {
  cond: Expr;
  then: Stmt;
  else: Stmt | null;
}

export interface SwitchCase {
  /** null for `default:` */
  value: Expr | null;
  /** `case /"regex":` form */
  isRegex: boolean;
  body: Stmt[];
  loc: Loc;
}

export interface SwitchStmt extends Node<'switch'> {
  subject: Expr;
  cases: SwitchCase[];
}

export interface WhileStmt extends Node<'while'> {
  cond: Expr;
  body: Stmt;
}

export interface BreakStmt extends Node<'break'> {}
export interface ExitStmt extends Node<'exit'> {
  value: Expr | null;
}
export interface DropStmt extends Node<'drop'> {
  value: Expr | null;
}
export interface ReturnStmt extends Node<'return'> {
  value: Expr | null;
}

/** `route(1)`, `route(NAME)`, `route("NAME")`, `route($var(x))` */
export interface RouteCall extends Node<'route_call'> {
  /** static name when known at parse time */
  name: string | null;
  /** dynamic target (PV expression) */
  dynamic: Expr | null;
}

export type AssignOp = '=' | '+=' | ':=';

export interface AssignStmt extends Node<'assign'> {
  target: PvRef;
  op: AssignOp;
  value: Expr;
}

/** a function call (or any expression) used as a statement */
export interface ExprStmt extends Node<'expr_stmt'> {
  expr: Expr;
}

// ---------- expressions ----------

export type Expr =
  | IntLit
  | StrLit
  | NullLit
  | IpLit
  | PvRef
  | CallExpr
  | BinaryExpr
  | UnaryExpr
  | LegacyOperand
  | MyselfLit
  | CastExpr;

export interface IntLit extends Node<'int'> {
  value: number;
}
export interface StrLit extends Node<'str'> {
  value: string;
  /** true when written with single quotes (no escape processing) */
  raw: boolean;
  /** true for a bare identifier used as a value (`method==INVITE`) */
  bare?: boolean;
}
export interface NullLit extends Node<'null'> {}

/** `1.2.3.4`, `1.2.3.0/24`, `1.2.3.0/255.255.255.0`, `[::1]`, `::1/64` */
export interface IpLit extends Node<'ip'> {
  text: string;
}

export interface MyselfLit extends Node<'myself'> {}

/**
 * `$name`, `$name(inner)`, `$(name(inner)[index]{tr1}{tr2})`.
 * `inner` is the text between the parentheses (e.g. header name, variable name).
 * SER-2 forms: `@to.tag` is name "sel" with the select path as inner (same as `$sel(to.tag)`),
 * `%name` is name "avp", and `$t.did`-style attributes keep the dotted name.
 */
export interface PvRef extends Node<'pv'> {
  name: string;
  inner: string | null;
  /** `[n]`, `[-1]`, `[*]` — null when absent */
  index: number | '*' | null;
  /** `$(avp(x)[$var(i)])`: index given by a variable (then `index` is null) */
  indexVar?: PvRef;
  /** transformations, raw text of each `{...}` without braces, e.g. "s.len", "s.substr,0,3" */
  transforms: string[];
}

/** function call: `name()`, `name("a", 1)`. Also used for `defined`, `strlen` etc. */
export interface CallExpr extends Node<'call'> {
  name: string;
  nameLoc: Loc;
  args: Expr[];
}

export type BinaryOp =
  | '||'
  | '&&'
  | '|' // bitwise in Kamailio, logical in SER (dialect decides at compile)
  | '&'
  | '^'
  | '<<'
  | '>>'
  | '=='
  | '!='
  | '=~'
  | '!~'
  | 'eq'
  | 'ne'
  | 'ieq'
  | 'ine'
  | '<'
  | '>'
  | '<='
  | '>='
  | '+'
  | '-'
  | '*'
  | '/'
  | '%';

export interface BinaryExpr extends Node<'binary'> {
  op: BinaryOp;
  left: Expr;
  right: Expr;
}

export interface UnaryExpr extends Node<'unary'> {
  op: '!' | '-' | '~' | 'defined';
  operand: Expr;
}

export interface CastExpr extends Node<'cast'> {
  to: 'int' | 'str';
  operand: Expr;
}

/**
 * SER-style keyword operands usable in conditions: `method`, `uri`, `from_uri`, `to_uri`,
 * `src_ip`, `dst_ip`, `src_port`, `dst_port`, `proto`, `af`, `msg:len`, `max_len`, `status`,
 * `snd_ip`, `snd_port`, `snd_proto`, `snd_af`, `to_ip`, `to_port`, `retcode`; also `uri:host` and
 * `uri:port` (SER `forward(uri:host, uri:port)`).
 * A bare identifier that is none of these (`method==INVITE`, `proto==udp`) is a StrLit
 * with `bare: true`.
 */
export interface LegacyOperand extends Node<'operand'> {
  name: string;
}
