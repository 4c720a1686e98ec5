// The scenario file's shape (docs/scenario-format.md), as a zod schema: strict objects (an
// unknown field is an error, never ignored), durations and addresses checked and converted here,
// so the loader gets typed values and every error has a path the loader maps to a file line.
// The types the engine consumes (ScenarioSpec in spec.ts) are inferred from this schema.
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|min|h)$/;
const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, min: 60e9, h: 3600e9 };

/** "90s", "100ms", "1h", "250us", or a number of seconds; converted to integer nanoseconds. */
export const duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return Math.round(v * 1e9);
  const m = DURATION.exec(v.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `bad duration "${v}" (a number of seconds, or 90s, 100ms, 250us, 2m, 1h)` });
    return z.NEVER;
  }
  return Math.round(Number(m[1]) * UNIT_NS[m[2]]);
});

const OCTETS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4(text: string): number | null {
  const m = OCTETS.exec(text);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return null;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

/** "198.18.1.10/24" */
export const cidr = z.string().transform((v, ctx) => {
  const [a, len, extra] = v.split('/');
  const addr = ipv4(a);
  const prefixLen = len === undefined ? NaN : Number(len);
  if (addr === null || extra !== undefined || !/^\d{1,2}$/.test(len ?? '') || prefixLen > 32) {
    ctx.addIssue({ code: 'custom', message: `bad address "${v}" (a.b.c.d/len)` });
    return z.NEVER;
  }
  return { text: v, addr, prefixLen };
});

export const address = z.string().transform((v, ctx) => {
  const addr = ipv4(v);
  if (addr === null) {
    ctx.addIssue({ code: 'custom', message: `bad IPv4 address "${v}"` });
    return z.NEVER;
  }
  return addr;
});

const port = z.number().int().min(1).max(65535);

/** "198.18.1.20:8080" */
export const endpoint = z.string().transform((v, ctx) => {
  const i = v.lastIndexOf(':');
  const addr = i < 0 ? null : ipv4(v.slice(0, i));
  const p = i < 0 ? NaN : Number(v.slice(i + 1));
  if (addr === null || !/^\d+$/.test(v.slice(i + 1)) || !(p >= 1 && p <= 65535)) {
    ctx.addIssue({ code: 'custom', message: `bad endpoint "${v}" (a.b.c.d:port)` });
    return z.NEVER;
  }
  return { text: v, addr, port: p };
});

const id = z.number().int().min(0).max(0xfffffffe);
const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,30}$/, 'a name: a letter, then letters, digits, "-" or "_" (at most 31)');
const iface = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, 'an interface name (at most 15 characters)');

/** One source of iptables-save text: a file (relative to the scenario file), inline text or a ctsim preset. */
export const rulesSource = z.union([
  z.string().min(1),
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ inline: z.string() }),
  z.strictObject({ preset: z.enum(['istio-sidecar', 'istio-invalid-drop']) }),
  /** iptables commands applied on top of what is loaded so far, as `iptables ARGS` would ("-I FORWARD ...", "-t nat -A ..."). */
  z.strictObject({ iptables: z.array(z.string().min(1)).min(1) }),
]);

export const hostSchema = z.strictObject({
  kernel: z.string().optional(),
  /** name: value, as `sysctl -w` takes them (net.netfilter.*, net.ipv4.*). */
  sysctls: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  forwarding: z.boolean().optional(),
  interfaces: z.record(iface, z.strictObject({ address: cidr })),
  routes: z.array(z.strictObject({ to: z.union([z.literal('default'), cidr]), dev: iface, via: address.optional() })).optional(),
  rules: z.union([rulesSource, z.array(rulesSource)]).optional(),
});

export const linkSchema = z.strictObject({
  /** "host/iface" */
  between: z.tuple([z.string(), z.string()]),
  delay: duration.optional(),
  /** Probability that a packet is lost, 0..1. */
  loss: z.number().min(0).max(1).optional(),
  jitter: duration.optional(),
});

const socketRef = name;

/** One socket call (or sleep/repeat) in an app's timeline; `at`/`after` place it in time. */
const when = { at: duration.optional(), after: duration.optional() };

export type StepInput =
  | { at?: number; after?: number; bind: { socket: string; port: number; address?: number; reuseaddr?: boolean } }
  | { at?: number; after?: number; connect: { socket: string; to: { text: string; addr: number; port: number }; from_port?: number; reuseaddr?: boolean; isn?: number; retry?: { attempts: number; every: number } } }
  | { at?: number; after?: number; send: { socket: string; bytes: number } }
  | { at?: number; after?: number; shutdown: { socket: string; how: 'wr' | 'rd' | 'rdwr' } }
  | { at?: number; after?: number; close: string }
  | { at?: number; after?: number; sleep: number }
  | { at?: number; after?: number; repeat: { times: number; every?: number; steps: StepInput[] } };

export const stepSchema: z.ZodType<StepInput, unknown> = z.lazy(() =>
  z.union([
    z.strictObject({ ...when, bind: z.strictObject({ socket: socketRef, port, address: address.optional(), reuseaddr: z.boolean().optional() }) }),
    z.strictObject({ ...when, connect: z.strictObject({
      socket: socketRef, to: endpoint, from_port: port.optional(), reuseaddr: z.boolean().optional(), isn: z.number().int().min(0).max(0xffffffff).optional(),
      /** Tries (in all) while bind()/connect() fail at once (EADDRINUSE, EADDRNOTAVAIL), each with a new socket, `every` apart. */
      retry: z.strictObject({ attempts: z.number().int().min(1).max(10000), every: duration }).optional(),
    }) }),
    z.strictObject({ ...when, send: z.strictObject({ socket: socketRef, bytes: z.number().int().min(1) }) }),
    z.strictObject({ ...when, shutdown: z.strictObject({ socket: socketRef, how: z.enum(['wr', 'rd', 'rdwr']) }) }),
    z.strictObject({ ...when, close: socketRef }),
    z.strictObject({ ...when, sleep: duration }),
    z.strictObject({ ...when, repeat: z.strictObject({ times: z.number().int().min(1).max(100000), every: duration.optional(), steps: z.array(stepSchema).min(1) }) }),
  ]),
) as z.ZodType<StepInput, unknown>;

const common = { host: name, uid: id.optional(), gid: id.optional() };

/** "80" or "10000-10009" */
export const portRange = z.union([port, z.string()]).transform((v, ctx) => {
  const m = typeof v === 'number' ? [String(v), String(v), undefined] : /^(\d+)(?:-(\d+))?$/.exec(v.trim());
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(lo >= 1 && hi <= 65535 && lo <= hi)) {
    ctx.addIssue({ code: 'custom', message: `bad port range "${v}" (a port, or low-high within 1-65535)` });
    return z.NEVER;
  }
  return { low: lo, high: hi };
});

/** seq: isn|next [+-N] or a number; ack: acked|isn|next [+-N] or a number (see docs/scenario-format.md). */
const seqExpr = z.union([z.number().int().min(0).max(0xffffffff), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return { base: 'abs' as const, offset: v };
  const m = /^(isn|next|acked)\s*(?:([+-])\s*(\d+))?$/.exec(v.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `bad sequence expression "${v}" (isn, next or acked, optionally +N or -N, or a number)` });
    return z.NEVER;
  }
  const n = m[3] ? Number(m[3]) * (m[2] === '-' ? -1 : 1) : 0;
  return { base: m[1] as 'isn' | 'next' | 'acked', offset: n };
});

/** tcpdump's flag letters: S F R P U E W and "." for ACK ("P.", "R", "F."). */
const tcpFlags = z.string().regex(/^[SFRPUEW.]+$/, 'TCP flags as tcpdump prints them: letters S F R P U E W and "." for ACK, e.g. "P." or "R"');

export const injectSchema = z.strictObject({
  at: duration.optional(),
  after: duration.optional(),
  segment: z.strictObject({
    /** The flow: the host's own side as its packets carry it when they leave ("a.b.c.d:port") ... */
    from: endpoint,
    /** ... and the other side ("a.b.c.d" or "a.b.c.d:port"); the most recent connection between them. */
    to: z.string().transform((v, ctx) => {
      const [a, p, extra] = v.split(':');
      const e = endpointParts(a, p);
      if (!e || extra !== undefined) {
        ctx.addIssue({ code: 'custom', message: `bad address "${v}" (a.b.c.d or a.b.c.d:port)` });
        return z.NEVER;
      }
      return e;
    }),
    seq: seqExpr,
    ack: seqExpr.optional(),
    flags: tcpFlags,
    /** Payload bytes (zeros). */
    bytes: z.number().int().min(0).max(1400).optional(),
  }),
});

function endpointParts(a: string, p: string | undefined): { addr: number; port: number | null } | null {
  const addr = ipv4(a);
  if (addr === null) return null;
  if (p === undefined) return { addr, port: null };
  const n = Number(p);
  return /^\d+$/.test(p) && n >= 1 && n <= 65535 ? { addr, port: n } : null;
}

export const processSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('listener'),
    ...common,
    port,
    /** Bytes written back for each request received. */
    respond: z.number().int().min(0).optional(),
    /** After answering: half-close (shutdown WR) or close, this long after the response. */
    then: z.strictObject({ action: z.enum(['shutdown-wr', 'close']), after: duration }).optional(),
  }),
  z.strictObject({
    kind: z.literal('proxy'),
    ...common,
    listen: port,
    /** original-destination (SO_ORIGINAL_DST, Envoy's ORIGINAL_DST cluster) or a fixed a.b.c.d:port. */
    upstream: z.union([z.literal('original-destination'), endpoint]),
    idle_timeout: duration.optional(),
    /** The upstream cluster's connect_timeout (Istio: 10 s; 0 disables): an upstream connect not done by then closes both sides. */
    connect_timeout: duration.optional(),
    /** What a read EOF on one side does to the other: shutdown-wr (Envoy tcp_proxy) or close. */
    half_close: z.enum(['shutdown-wr', 'close']).optional(),
    /** Local address the upstream connections are bound to (Istio's inbound passthrough uses 127.0.0.6). */
    source: address.optional(),
  }),
  z.strictObject({
    kind: z.literal('app'),
    ...common,
    timeline: z.array(stepSchema).min(1),
  }),
  z.strictObject({
    kind: z.literal('inject'),
    ...common,
    /** Crafted TCP segments sent from a raw socket on the host, on a flow the host has sent packets on. */
    segments: z.array(injectSchema).min(1),
  }),
  z.strictObject({
    kind: z.literal('flood'),
    ...common,
    /** Destination address of the SYNs. */
    to: address,
    /** Destination ports, cycled after the source ports ("80" or "10000-10009"). */
    ports: portRange,
    /** Source ports, cycled first (default 1024-65535). */
    from_ports: portRange.optional(),
    /** How many SYNs. */
    count: z.number().int().min(1).max(2_000_000),
    /** When the first one leaves. */
    at: duration.optional(),
    /** SYNs per second (the simulated spacing; a real run sends as fast as it can up to this rate). */
    rate: z.number().positive().optional(),
  }),
]);

export const captureSchema = z.union([z.literal('all'), z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*\/([A-Za-z0-9][A-Za-z0-9_.-]*|\*)$/, 'a capture point "host/iface", "host/*" or "all"')]);

export const scenarioSchema = z.strictObject({
  /** Format version. */
  ctsim: z.literal(1, { error: (i) => (i.input === undefined ? undefined : `format version ${JSON.stringify(i.input)}: this ctsim reads version 1 (ctsim: 1)`) }),
  name: name,
  description: z.string().optional(),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  /** Default kernel profile of every host. */
  kernel: z.string().optional(),
  /** How long to run (virtual time). */
  duration,
  hosts: z.record(name, hostSchema),
  links: z.array(linkSchema).optional(),
  processes: z.record(name, processSchema).optional(),
  captures: z.array(captureSchema).optional(),
  /** Times (virtual) at which `ss` and `conntrack -L` of every host are recorded. */
  snapshots: z.array(duration).optional(),
  /** Overrides `kernel-diff --scenario` applies before a real run (path: value, as --set takes them), to keep it short. */
  real: z.strictObject({ set: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) }).optional(),
  /** Each item: { subject: "assertion" }, subject a process, a host or "host/iface" (see expectations.ts). */
  expect: z.array(z.record(z.string(), z.string())).optional(),
});

export type ScenarioInput = z.output<typeof scenarioSchema>;
export type HostInput = z.output<typeof hostSchema>;
export type ProcessInput = z.output<typeof processSchema>;
export type RulesSourceInput = z.output<typeof rulesSource>;
export type InjectInput = z.output<typeof injectSchema>;
export type SeqExpr = z.output<typeof seqExpr>;
