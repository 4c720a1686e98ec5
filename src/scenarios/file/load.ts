// Loading a scenario file: read -> YAML (JSON is YAML) with source ranges -> zod schema ->
// semantic checks -> ScenarioSpec. Every problem is a ScenarioFileError naming the file, the
// line and the field; nothing is half-loaded. Rules are parsed here once (so an unsupported
// line is reported now, with its own file and line) and handed on as text.
// Length: one loader whose checks run in the order a file is validated, all reporting through the
// same locator (file, line, field); split up they would pass that state around.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../../conntrack/errors.js';
import { resolveKernel } from '../../conntrack/kernel-profile.js';
import { applySysctls, defaultSysctls } from '../../conntrack/sysctls.js';
import type { Ruleset } from '../../stack/iptables/ruleset.js';
import { presetsDirectory } from '../../stack/presets/istio.js';
import { applyTcpSysctls, defaultTcpSysctls, splitSysctls } from '../../stack/tcp/tcp-sysctls.js';
import { ScenarioFileError, type ScenarioFileErrorKind } from './errors.js';
import { parseExpectation, type Expectation, type Subject } from './expectations.js';
import { buildRuleset, RulesSourceError } from './rules.js';
import { Locator, pathText, type DocPath } from './locate.js';
import { applyOverrides, type LoadOverrides } from './overrides.js';
import { scenarioSchema, type ScenarioInput, type StepInput } from './schema.js';
import type { HostSpec, LinkSpec, ProcessSpec, RulesText, ScenarioSpec } from './spec.js';

const DEFAULT_KERNEL = '6.18';

/** Reads and loads a scenario file (YAML or JSON), with command-line overrides applied first. */
export function loadScenarioFile(file: string, overrides: LoadOverrides = {}): ScenarioSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioFileError('read', file, 0, '', `cannot read: ${(e as Error).message}`);
  }
  return loadScenarioText(text, file, overrides);
}

/** Loads scenario text; `file` names it in errors and anchors relative rules paths. */
export function loadScenarioText(text: string, file: string, overrides: LoadOverrides = {}): ScenarioSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    // A duplicate key is reported at its map; point at the second occurrence instead.
    const line = e.code === 'DUPLICATE_KEY' ? duplicateKeyLine(text, lines.linePos(e.pos[0]).line) : lines.linePos(e.pos[0]).line;
    throw new ScenarioFileError('yaml', file, line, '', `malformed YAML/JSON: ${e.message.split('\n')[0]}`);
  }
  const changed = applyOverrides(doc, overrides);
  const at = new Locator(doc, lines);
  try {
    const parsed = scenarioSchema.safeParse(doc.toJS(), { reportInput: true });
    if (!parsed.success) throw schemaError(parsed.error.issues[0], file, at);
    return new Checker(parsed.data, file, at).run();
  } catch (e) {
    // A value an override put there: say so (its line is the field's place in the file).
    // An unknown field may be the first new key of a longer override path (--set nosuch.x=1).
    const under = (inner: string, outer: string) => inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
    const by = e instanceof ScenarioFileError ? changed.filter((c) => under(e.field, c.field) || (e.kind === 'unknown-field' && under(c.field, e.field))).at(-1) : undefined;
    if (by && e instanceof ScenarioFileError) throw new ScenarioFileError(e.kind, e.file, e.line, e.field, `${e.detail} (value from ${by.arg})`);
    throw e;
  }
}

/** The line of the first key that repeats an earlier key at the same indentation, from `from` on. */
function duplicateKeyLine(text: string, from: number): number {
  const seen = new Map<string, number>();
  const rows = text.split('\n');
  for (let i = from - 1; i < rows.length; i++) {
    const m = /^(\s*)(?:- )?([^\s:#][^:#]*):(\s|$)/.exec(rows[i]);
    if (!m) continue;
    const key = `${m[1].length}:${m[2].trim()}`;
    if (seen.has(key)) return i + 1;
    seen.set(key, i + 1);
  }
  return from;
}

type Issue = z.core.$ZodIssue;

/** The branch of a union that got furthest (its deepest issue), for a message about what is wrong there. */
function deepest(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: Issue | undefined;
  for (const branch of issue.errors) {
    for (const i of branch) {
      const d = deepest({ ...i, path: [...issue.path, ...i.path] } as Issue);
      if (!best || d.path.length > best.path.length || (d.path.length === best.path.length && best.code === 'unrecognized_keys' && d.code !== 'unrecognized_keys')) best = d;
    }
  }
  return best ?? issue;
}

function schemaError(first: Issue, file: string, at: Locator): ScenarioFileError {
  const issue = deepest(first);
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    return new ScenarioFileError('unknown-field', file, at.keyLine(path, key), pathText([...path, key]), `unknown field "${key}"`);
  }
  // An absent key fails as a wrong type, or as a wrong value for a literal (the format version).
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined) {
    return new ScenarioFileError('missing-field', file, at.line(path), pathText(path), `missing required field "${String(path.at(-1))}"`);
  }
  return new ScenarioFileError('bad-value', file, at.line(path), pathText(path), issue.message);
}

interface Owner {
  uid: number;
  gid: number;
}

class Checker {
  private readonly dir: string;
  private readonly rulesets = new Map<string, Ruleset>();

  constructor(
    private readonly s: ScenarioInput,
    private readonly file: string,
    private readonly at: Locator,
  ) {
    this.dir = dirname(resolve(file));
  }

  private fail(kind: ScenarioFileErrorKind, path: DocPath, detail: string, line = this.at.line(path)): ScenarioFileError {
    return new ScenarioFileError(kind, this.file, line, pathText(path), detail);
  }

  run(): ScenarioSpec {
    const s = this.s;
    const hosts = Object.entries(s.hosts).map(([name, h]) => this.host(name, h));
    const byName = new Map(hosts.map((h) => [h.name, h]));
    this.addresses(hosts);
    const links = (s.links ?? []).map((l, i) => this.link(l, i, byName));
    const processes = Object.entries(s.processes ?? {}).map(([name, p]) => this.process(name, p, byName));
    this.owners(hosts, processes);
    this.routes(hosts, byName, links);
    for (const p of processes) if (p.kind === 'app') this.timeline(p, byName);
    for (const p of processes) if (p.kind === 'proxy' && p.upstream !== 'original-destination') this.reachable(p.host, p.upstream.addr, ['processes', p.name, 'upstream'], byName);
    for (const p of processes) if (p.kind === 'proxy' && p.source && !this.hostHas(byName.get(p.host)!, p.source)) throw this.fail('address-on-no-host', ['processes', p.name, 'source'], `${fmt(p.source)} is not an address of host ${p.host}`);
    for (const p of processes) if (p.kind === 'flood') this.reachable(p.host, p.to, ['processes', p.name, 'to'], byName);
    for (const p of processes) if (p.kind === 'inject') this.injectTimes(p);
    const captures = (s.captures ?? ['all']).flatMap((c, i) => this.capture(c, i, byName));
    const expectations = this.expectations(processes, byName);
    const snapshotsNs = [...(s.snapshots ?? [])];
    snapshotsNs.forEach((t, i) => {
      if (t > s.duration) throw this.fail('bad-value', ['snapshots', i], `snapshot at ${t / 1e9} s lies after the end of the run (${s.duration / 1e9} s)`);
    });
    return {
      file: this.file, name: s.name, description: s.description ?? '', seed: s.seed ?? 1, durationNs: s.duration,
      hosts, links, processes, captures, expectations, snapshotsNs: snapshotsNs.sort((a, b) => a - b),
      realSet: Object.entries(s.real?.set ?? {}).map(([path, value]) => ({ path, value })),
    };
  }

  private host(name: string, h: ScenarioInput['hosts'][string]): HostSpec {
    const base = ['hosts', name];
    const kernel = h.kernel ?? this.s.kernel ?? DEFAULT_KERNEL;
    let profile;
    try {
      profile = resolveKernel(kernel);
    } catch (e) {
      throw this.fail('bad-kernel', h.kernel !== undefined ? [...base, 'kernel'] : ['kernel'], (e as Error).message);
    }
    const sysctls = Object.entries(h.sysctls ?? {}).map(([k, v]) => `${k}=${v}`);
    try {
      const { netfilter, ipv4 } = splitSysctls(sysctls);
      applySysctls(defaultSysctls(profile.behaviour), netfilter, profile.behaviour, profile.name);
      applyTcpSysctls(defaultTcpSysctls(profile), ipv4, profile);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw this.fail('bad-sysctl', [...base, 'sysctls'], e.message);
    }
    const interfaces = Object.entries(h.interfaces).map(([n, i]) => ({ name: n, cidr: i.address.text, addr: i.address.addr, prefixLen: i.address.prefixLen }));
    if (interfaces.some((i) => i.name === 'lo')) throw this.fail('bad-value', [...base, 'interfaces', 'lo'], 'lo exists in every host (127.0.0.1/8); do not declare it');
    const routes = (h.routes ?? []).map((r, i) => {
      if (!interfaces.some((f) => f.name === r.dev)) throw this.fail('unknown-interface', [...base, 'routes', i, 'dev'], `host ${name} has no interface "${r.dev}"`);
      return { to: r.to === 'default' ? 'default' : r.to.text, dev: r.dev, via: r.via };
    });
    const rules = this.rules(name, h.rules);
    return { name, kernel, sysctls, forwarding: h.forwarding ?? false, interfaces, routes, rules };
  }

  private rules(host: string, given: ScenarioInput['hosts'][string]['rules']): RulesText[] {
    if (given === undefined) return [];
    const list = Array.isArray(given) ? given : [given];
    const out: RulesText[] = [];
    list.forEach((src, i) => {
      const path: DocPath = Array.isArray(given) ? ['hosts', host, 'rules', i] : ['hosts', host, 'rules'];
      const line = this.at.line(path);
      if (typeof src === 'string' || 'file' in src) {
        const rel = typeof src === 'string' ? src : src.file;
        const full = resolve(this.dir, rel);
        let text: string;
        try {
          text = readFileSync(full, 'utf8');
        } catch (e) {
          throw this.fail('read', path, `cannot read rules file ${rel}: ${(e as Error).message}`);
        }
        out.push({ format: 'restore', origin: full, text, line, lineOffset: 0 });
      } else if ('inline' in src) {
        out.push({ format: 'restore', origin: this.file, text: src.inline, line, lineOffset: this.at.contentLine([...path, 'inline']) - 1 });
      } else if ('iptables' in src) {
        const lines = src.iptables.map((_, k) => this.at.line([...path, 'iptables', k]));
        src.iptables.forEach((c, k) => {
          if (c.includes('\n')) throw this.fail('bad-value', [...path, 'iptables', k], 'one iptables command per item');
        });
        out.push({ format: 'commands', origin: this.file, text: src.iptables.join('\n'), line, lineOffset: 0, lines });
      } else {
        const full = resolve(presetsDirectory(), `${src.preset}.rules`);
        out.push({ format: 'restore', origin: full, text: readFileSync(full, 'utf8'), line, lineOffset: 0 });
      }
    });
    let rs: Ruleset | undefined;
    try {
      rs = buildRuleset(out);
    } catch (e) {
      if (!(e instanceof RulesSourceError)) throw e;
      throw new ScenarioFileError('unsupported-rule', e.origin, e.line, `hosts.${host}.rules`, e.detail);
    }
    if (rs) this.rulesets.set(host, rs);
    return out;
  }

  private addresses(hosts: HostSpec[]): void {
    const seen = new Map<number, string>();
    for (const h of hosts) {
      for (const i of h.interfaces) {
        const other = seen.get(i.addr);
        if (other) throw this.fail('duplicate-address', ['hosts', h.name, 'interfaces', i.name, 'address'], `${i.cidr} is also on ${other}`);
        seen.set(i.addr, `${h.name}/${i.name}`);
      }
    }
  }

  private endpoint(text: string, path: DocPath, hosts: Map<string, HostSpec>): { host: string; iface: string } {
    const [host, iface] = text.split('/');
    const h = hosts.get(host);
    if (!h) throw this.fail('unknown-host', path, `no host "${host}"`);
    if (iface === undefined || !h.interfaces.some((i) => i.name === iface)) throw this.fail('unknown-interface', path, `host ${host} has no interface "${iface ?? ''}" (write host/iface)`);
    return { host, iface };
  }

  private linked = new Set<string>();

  private link(l: NonNullable<ScenarioInput['links']>[number], i: number, hosts: Map<string, HostSpec>): LinkSpec {
    const ends = l.between.map((t, k) => {
      const e = this.endpoint(t, ['links', i, 'between', k], hosts);
      const key = `${e.host}/${e.iface}`;
      if (this.linked.has(key)) throw this.fail('bad-value', ['links', i, 'between', k], `${key} is already linked`);
      this.linked.add(key);
      return e;
    });
    return { a: ends[0], b: ends[1], delayNs: l.delay ?? 0, jitterNs: l.jitter ?? 0, loss: l.loss ?? 0 };
  }

  private process(name: string, p: NonNullable<ScenarioInput['processes']>[string], hosts: Map<string, HostSpec>): ProcessSpec {
    if (!hosts.has(p.host)) throw this.fail('unknown-host', ['processes', name, 'host'], `no host "${p.host}"`);
    const uid = p.uid ?? 0;
    const gid = p.gid ?? uid;
    switch (p.kind) {
      case 'listener':
        return { kind: 'listener', name, host: p.host, uid, gid, port: p.port, respondBytes: p.respond ?? 0, then: p.then ? { action: p.then.action, afterNs: p.then.after } : undefined };
      case 'proxy':
        return {
          kind: 'proxy', name, host: p.host, uid, gid, listenPort: p.listen,
          upstream: p.upstream === 'original-destination' ? p.upstream : { addr: p.upstream.addr, port: p.upstream.port },
          idleTimeoutNs: p.idle_timeout ?? 3600e9, connectTimeoutNs: p.connect_timeout ?? 10e9, halfClose: p.half_close ?? 'shutdown-wr', source: p.source ?? 0,
        };
      case 'app':
        return { kind: 'app', name, host: p.host, uid, gid, timeline: p.timeline };
      case 'inject':
        return { kind: 'inject', name, host: p.host, uid, gid, segments: p.segments };
      case 'flood':
        return {
          kind: 'flood', name, host: p.host, uid, gid, to: p.to, ports: p.ports, fromPorts: p.from_ports ?? { low: 1024, high: 65535 },
          count: p.count, atNs: p.at ?? 0, rate: p.rate ?? null,
        };
    }
  }

  /** Every --uid-owner/--gid-owner in a host's rules must be a uid/gid some process on that host runs as. */
  private owners(hosts: HostSpec[], processes: ProcessSpec[]): void {
    for (const h of hosts) {
      const rs = this.rulesets.get(h.name);
      if (!rs) continue;
      const owners: Owner[] = processes.filter((p) => p.host === h.name);
      for (const t of rs.tableNames()) {
        for (const c of rs.table(t)!.chains.values()) {
          for (const r of c.rules) {
            for (const m of r.matches) {
              if (m.kind !== 'owner') continue;
              for (const [which, spec] of [['uid', m.uid], ['gid', m.gid]] as const) {
                if (spec && !owners.some((o) => o[which] === spec.id)) {
                  const src = this.originOfRule(h, r.line);
                  throw new ScenarioFileError('uid-owns-nothing', src.origin, src.line, `hosts.${h.name}.rules`, `--${which}-owner ${spec.id} (table ${t}, chain ${c.name}): no process on host ${h.name} runs as ${which} ${spec.id}`);
                }
              }
            }
          }
        }
      }
    }
  }

  /** Rules of several sources are parsed into one ruleset; a rule's line is relative to its own source. */
  private originOfRule(h: HostSpec, line: number): { origin: string; line: number } {
    // Ruleset lines restart at 1 in each source; find the last source that has such a line with an -A/-I.
    for (let i = h.rules.length - 1; i >= 0; i--) {
      const r = h.rules[i];
      const text = r.text.split('\n')[line - 1];
      if (r.format === 'commands') {
        if (text !== undefined && /(^|\s)-[AI]\b/.test(text)) return { origin: r.origin, line: r.lines?.[line - 1] ?? r.line };
        continue;
      }
      if (text !== undefined && /^\s*(\[\d+:\d+\]\s*)?-[AI]\b/.test(text)) return { origin: r.origin, line: line + r.lineOffset };
    }
    return { origin: this.file, line: h.rules[0]?.line ?? 1 };
  }

  /**
   * Whether `addr` can be reached from host `from`: some host has it, or some host's nat rules may
   * rewrite it (a ClusterIP DNATed on the node, a REDIRECT in the pod).
   */
  private reachable(from: string, addr: number, path: DocPath, hosts: Map<string, HostSpec>): void {
    for (const h of hosts.values()) if (h.interfaces.some((i) => i.addr === addr)) return;
    if ((addr >>> 24) === 127) return;
    for (const rs of this.rulesets.values()) {
      const nat = rs.table('nat');
      if (nat && [...nat.chains.values()].some((c) => c.rules.some((r) => r.target.kind === 'dnat' || r.target.kind === 'redirect'))) return;
    }
    throw this.fail('address-on-no-host', path, `${fmt(addr)} is on no host, and no host (${from} or another) has a DNAT/REDIRECT rule that could rewrite it`);
  }

  private timeline(p: Extract<ProcessSpec, { kind: 'app' }>, hosts: Map<string, HostSpec>): void {
    const sockets = new Set<string>();
    const walk = (steps: StepInput[], base: DocPath, start: number): number => {
      let cursor = start;
      steps.forEach((st, i) => {
        const path = [...base, i];
        if (st.at !== undefined && st.after !== undefined) throw this.fail('bad-value', path, 'give "at" or "after", not both');
        if (st.at !== undefined) {
          if (st.at < cursor) throw this.fail('timeline-backwards', [...path, 'at'], `at ${st.at / 1e9} s lies before ${cursor / 1e9} s, where the steps before it already are`);
          cursor = st.at;
        }
        if (st.after !== undefined) cursor += st.after;
        const need = (socket: string, field: string) => {
          if (!sockets.has(socket)) throw this.fail('unknown-socket', [...path, field], `socket "${socket}" was not created by an earlier connect or bind`);
        };
        if ('bind' in st) sockets.add(st.bind.socket);
        else if ('connect' in st) {
          sockets.add(st.connect.socket);
          this.reachable(p.host, st.connect.to.addr, [...path, 'connect', 'to'], hosts);
        } else if ('send' in st) need(st.send.socket, 'send');
        else if ('shutdown' in st) need(st.shutdown.socket, 'shutdown');
        else if ('close' in st) need(st.close, 'close');
        else if ('sleep' in st) cursor += st.sleep;
        else if ('repeat' in st) {
          for (let k = 0; k < Math.min(st.repeat.times, 2); k++) {
            const end = walk(st.repeat.steps, [...path, 'repeat', 'steps'], cursor);
            cursor = st.repeat.every !== undefined ? cursor + st.repeat.every : end;
          }
          if (st.repeat.times > 2) cursor += (st.repeat.times - 2) * (st.repeat.every ?? 0);
        }
      });
      return cursor;
    };
    walk(p.timeline, ['processes', p.name, 'timeline'], 0);
  }

  /**
   * No forwarding loop: from every host towards every interface address, following each hop's
   * longest-prefix route to the link peer (or the gateway's host) must end at the address's host
   * or at a host that drops it (no route, or ip_forward off) without visiting a host twice.
   */
  private routes(hosts: HostSpec[], byName: Map<string, HostSpec>, links: LinkSpec[]): void {
    const peer = new Map<string, string>();
    for (const l of links) {
      peer.set(`${l.a.host}/${l.a.iface}`, l.b.host);
      peer.set(`${l.b.host}/${l.b.iface}`, l.a.host);
    }
    const owner = new Map<number, string>();
    for (const h of hosts) for (const i of h.interfaces) owner.set(i.addr, h.name);
    for (const h of hosts) {
      h.routes.forEach((r, i) => {
        if (r.via === undefined) return;
        const dev = h.interfaces.find((f) => f.name === r.dev)!;
        if (!inPrefix(r.via, dev.addr, dev.prefixLen)) throw this.fail('bad-value', ['hosts', h.name, 'routes', i, 'via'], `gateway ${fmt(r.via)} is not on ${r.dev}'s subnet ${dev.cidr}`);
        if (!owner.has(r.via)) throw this.fail('address-on-no-host', ['hosts', h.name, 'routes', i, 'via'], `gateway ${fmt(r.via)} is on no host`);
      });
    }
    for (const dst of owner.keys()) {
      for (const start of hosts) {
        const seen: string[] = [];
        let cur: HostSpec | undefined = start;
        let lastRoute: DocPath | null = null;
        while (cur && owner.get(dst) !== cur.name) {
          if (seen.includes(cur.name)) {
            throw this.fail('route-loop', lastRoute ?? ['hosts', cur.name, 'routes'], `packets to ${fmt(dst)} loop: ${[...seen, cur.name].join(' -> ')}`);
          }
          if (seen.length > 0 && !cur.forwarding) break;
          seen.push(cur.name);
          const hop = lookup(cur, dst);
          if (!hop) break;
          lastRoute = hop.index >= 0 ? ['hosts', cur.name, 'routes', hop.index] : ['hosts', cur.name, 'interfaces', hop.dev];
          const next: string | undefined = hop.via !== undefined ? owner.get(hop.via) : peer.get(`${cur.name}/${hop.dev}`);
          cur = next === undefined ? undefined : byName.get(next);
        }
      }
    }
  }

  private capture(c: string, i: number, hosts: Map<string, HostSpec>): Array<{ host: string; iface: string }> {
    if (c === 'all') return [...hosts.values()].map((h) => ({ host: h.name, iface: '*' }));
    const [host, iface] = c.split('/');
    if (!hosts.has(host)) throw this.fail('unknown-host', ['captures', i], `no host "${host}"`);
    if (iface !== '*' && iface !== 'lo') this.endpoint(c, ['captures', i], hosts);
    return [{ host, iface }];
  }

  private hostHas(h: HostSpec, addr: number): boolean {
    return (addr >>> 24) === 127 || h.interfaces.some((i) => i.addr === addr);
  }

  /** An injector's `at`/`after` times must not go backwards either. */
  private injectTimes(p: Extract<ProcessSpec, { kind: 'inject' }>): void {
    let cursor = 0;
    p.segments.forEach((st, i) => {
      const path = ['processes', p.name, 'segments', i];
      if (st.at !== undefined && st.after !== undefined) throw this.fail('bad-value', path, 'give "at" or "after", not both');
      if (st.at !== undefined) {
        if (st.at < cursor) throw this.fail('timeline-backwards', [...path, 'at'], `at ${st.at / 1e9} s lies before ${cursor / 1e9} s, where the segments before it already are`);
        cursor = st.at;
      }
      if (st.after !== undefined) cursor += st.after;
    });
  }

  /** The key of an expectation: a process, else a host, else "host/iface". */
  private subject(key: string, path: DocPath, line: number, processes: ProcessSpec[], hosts: Map<string, HostSpec>): Subject {
    if (processes.some((p) => p.name === key)) return { kind: 'process', name: key };
    if (hosts.has(key)) return { kind: 'host', name: key };
    const [host, iface, extra] = key.split('/');
    if (iface !== undefined && extra === undefined) {
      const h = hosts.get(host);
      if (!h) throw this.fail('unknown-host', path, `no host "${host}"`, line);
      if (iface !== 'lo' && !h.interfaces.some((i) => i.name === iface)) throw this.fail('unknown-interface', path, `host ${host} has no interface "${iface}"`, line);
      return { kind: 'point', host, iface };
    }
    throw this.fail('unknown-process', path, `no process or host "${key}"`, line);
  }

  private expectations(processes: ProcessSpec[], hosts: Map<string, HostSpec>): Expectation[] {
    const out: Expectation[] = [];
    (this.s.expect ?? []).forEach((item, i) => {
      for (const [key, text] of Object.entries(item)) {
        const path = ['expect', i, key];
        const subject = this.subject(key, path, this.at.keyLine(['expect', i], key), processes, hosts);
        const e = parseExpectation(subject, text);
        if (typeof e === 'string') throw this.fail('bad-expectation', path, e);
        if (e.kind === 'fin' && e.reaches !== null && !processes.some((p) => p.name === e.reaches)) throw this.fail('unknown-process', path, `no process "${e.reaches}"`);
        const proc = processes.find((p) => 'process' in e && p.name === e.process);
        if (proc && (e.kind === 'connect' || e.kind === 'syns' || e.kind === 'fin' || e.kind === 'received') && proc.kind !== 'app') {
          throw this.fail('bad-expectation', path, `"${text}" is about an app's socket calls, and ${proc.name} is a ${proc.kind}`);
        }
        out.push(e);
      }
    });
    return out;
  }
}

function inPrefix(a: number, net: number, len: number): boolean {
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((a & mask) >>> 0) === ((net & mask) >>> 0);
}

/** The route a host takes towards dst: connected subnets and static routes, longest prefix first. */
function lookup(h: HostSpec, dst: number): { dev: string; via?: number; index: number } | null {
  let best: { dev: string; via?: number; index: number; len: number } | null = null;
  for (const i of h.interfaces) if (inPrefix(dst, i.addr, i.prefixLen) && (!best || i.prefixLen > best.len)) best = { dev: i.name, index: -1, len: i.prefixLen };
  h.routes.forEach((r, index) => {
    const [a, l] = r.to === 'default' ? ['0.0.0.0', '0'] : r.to.split('/');
    const len = Number(l);
    const net = a.split('.').reduce((x, o) => ((x << 8) | Number(o)) >>> 0, 0);
    if (inPrefix(dst, net, len) && (!best || len > best.len)) best = { dev: r.dev, via: r.via, index, len };
  });
  return best;
}

function fmt(a: number): string {
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}
