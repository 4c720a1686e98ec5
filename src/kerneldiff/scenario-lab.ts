// A scenario file's topology for real: one network namespace per host (ctsim-<pid>-<tag>-<host>),
// a veth pair per link named as the file names the interfaces (an interface on no link is a dummy),
// the file's addresses (all within 198.18.0.0/15), routes, forwarding and sysctls, rp_filter off (the
// emulator has none), nfacct objects the rules name, and each host's rules through the real
// iptables-restore (iptables-save text: each table in it replaced) and iptables (command lists),
// in order. Like NetnsLab it only touches namespaces it creates: every command and program runs
// under `ip netns exec <ours>`, every program has a hard time limit, and destroy() (also on
// SIGINT/SIGTERM and on errors) kills the programs, deletes the namespaces and removes the scratch
// directory.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScenarioSpec } from '../scenarios/file/spec.js';
import { buildRuleset } from '../scenarios/file/rules.js';
import { tokenizeLine } from '../stack/iptables/tokenizer.js';
import { inPrefix, parseIpv4Address, formatIpv4Address } from '../wire/index.js';
import { LabError, OwnedNamespaces } from './netns-lab.js';

/** Real runs use only these addresses (the benchmarking range, RFC 2544). */
const LAB_NET = parseIpv4Address('198.18.0.0');
const LAB_PREFIX = 15;

const TOOLS = 'apt-get install -y iproute2 iptables conntrack tcpdump util-linux python3 nfacct ethtool';

function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8', timeout: 10_000 }).status === 0;
}

/** Refuses, with a message saying why, when this machine cannot run the scenario lab. */
export function checkScenarioPrerequisites(extra: readonly string[] = []): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new LabError('kernel-diff --scenario needs root (it creates network namespaces); run it as root or skip it');
  for (const tool of ['ip', 'iptables-restore', 'iptables', 'conntrack', 'tcpdump', 'setpriv', 'python3', 'sysctl', 'ethtool', ...extra]) {
    if (!hasTool(tool)) throw new LabError(`kernel-diff --scenario needs ${tool}: ${TOOLS}`);
  }
}

const pythons = new Map<number, string>();

/**
 * A python3 the lab's programs can execute as `uid`: the one on root's PATH may live under /root
 * (pyenv), which an unprivileged uid cannot enter.
 */
export function labPython(uid = 1337): string {
  const known = pythons.get(uid);
  if (known) return known;
  const onPath = (spawnSync('sh', ['-c', 'which -a python3'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '').split('\n').filter(Boolean);
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3', ...onPath]) {
    if (!existsSync(p)) continue;
    const r = uid === 0 ? spawnSync(p, ['-B', '-c', 'pass'], { timeout: 10_000 }) : spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', p, '-B', '-c', 'pass'], { timeout: 10_000 });
    if (r.status === 0) {
      pythons.set(uid, p);
      return p;
    }
  }
  throw new LabError(`no python3 that uid ${uid} can run (tried /usr/bin/python3 and ${onPath.join(', ') || 'nothing on PATH'})`);
}

/** Why this spec cannot run on the real kernel (addresses outside the lab range, random links, a global sysctl), or null. */
export function realRunProblem(spec: ScenarioSpec, readGlobal: (name: string) => string | null = readRootSysctl): string | null {
  const inLab = (a: number) => inPrefix(a, LAB_NET, LAB_PREFIX) || inPrefix(a, parseIpv4Address('127.0.0.0'), 8);
  for (const h of spec.hosts) {
    for (const i of h.interfaces) if (!inLab(i.addr)) return `host ${h.name}: ${i.cidr} lies outside 198.18.0.0/15, the only addresses real runs use (renumber the scenario)`;
    for (const r of h.routes) if (r.via !== undefined && !inLab(r.via)) return `host ${h.name}: gateway ${formatIpv4Address(r.via)} lies outside 198.18.0.0/15`;
    for (const s of h.sysctls) {
      const [name, value] = s.split('=');
      // Read-only outside the initial namespace (nf_conntrack_standalone.c): only the machine's own value can be had.
      if (name === 'net.netfilter.nf_conntrack_max' || name === 'net.netfilter.nf_conntrack_buckets') {
        const global = readGlobal(name);
        if (global !== null && global.trim() !== value.trim()) return `host ${h.name}: ${name}=${value}, but a network namespace cannot set it (read-only outside the initial namespace) and this machine's is ${global.trim()}`;
      }
    }
  }
  for (const l of spec.links) {
    if (l.loss > 0 || l.jitterNs > 0) return `link ${l.a.host}/${l.a.iface} - ${l.b.host}/${l.b.iface} has random loss or jitter: the kernel's run cannot draw the same packets`;
  }
  for (const p of spec.processes) {
    if (p.kind === 'app') {
      const walk = (steps: typeof p.timeline): string | null => {
        for (const st of steps) {
          if ('connect' in st && !inLab(st.connect.to.addr)) return `${p.name} connects to ${st.connect.to.text}, outside 198.18.0.0/15`;
          if ('connect' in st && st.connect.isn !== undefined) return `${p.name} fixes its ISN (connect.isn): the kernel picks its own`;
          if ('repeat' in st) {
            const inner = walk(st.repeat.steps);
            if (inner) return inner;
          }
        }
        return null;
      };
      const bad = walk(p.timeline);
      if (bad) return bad;
    }
    if (p.kind === 'proxy' && p.upstream !== 'original-destination' && !inLab(p.upstream.addr)) return `${p.name}'s upstream lies outside 198.18.0.0/15`;
    if (p.kind === 'flood' && !inLab(p.to)) return `${p.name} floods ${formatIpv4Address(p.to)}, outside 198.18.0.0/15`;
    if (p.kind === 'flood' && buildRuleset(spec.hosts.find((h) => h.name === p.host)!.rules)?.usesConntrack()) {
      return `${p.name} floods from ${p.host}, whose rules track connections: a real flood is played onto the interface (tcpreplay), past that host's own hooks`;
    }
  }
  return null;
}

/** A sysctl of the initial namespace, read (never written): null when there is none. */
export function readRootSysctl(name: string): string | null {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8');
  } catch {
    return null;
  }
}

/** src/kerneldiff/real of this module's tree (`npm run build` copies the .py files into dist/ too). */
export function realScriptsDirectory(): string {
  const dir = fileURLToPath(new URL('./real/', import.meta.url));
  if (!existsSync(join(dir, 'proxy.py'))) throw new LabError(`the lab programs are missing from ${dir} (a build without scripts/copy-assets.mjs?)`);
  return dir;
}

/** One output line of a lab program, stamped when it arrived. */
export interface LabLine {
  atMs: number;
  text: string;
}

/** A program running in one of the lab's namespaces. */
export class LabProcess {
  readonly lines: LabLine[] = [];
  stderr = '';
  private buf = '';
  private waiters: Array<() => void> = [];
  private readonly killer: NodeJS.Timeout;
  exitCode: number | null = null;
  exited = false;

  constructor(readonly name: string, readonly child: ChildProcess, limitMs: number) {
    child.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push({ atMs: Date.now(), text: this.buf.slice(0, i) });
        this.buf = this.buf.slice(i + 1);
      }
      this.wake();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      this.wake();
    });
    child.on('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
      clearTimeout(this.killer);
      this.wake();
    });
    child.on('error', () => {
      this.exited = true;
      this.wake();
    });
    // A line sent to a program that has just died fails with EPIPE: its exit is what the run checks.
    child.stdin?.on('error', () => {});
    // The hard limit: nothing the lab starts outlives it.
    this.killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    this.killer.unref();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `ready` holds for the output so far; LabError on exit or after timeoutMs. */
  async waitFor(ready: (p: LabProcess) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready(this)) {
      if (this.exited) throw new LabError(`${this.name} exited (${this.exitCode}) before ${what}: ${this.stderr.trim().slice(-400)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new LabError(`${this.name}: no ${what} within ${timeoutMs} ms: ${this.stderr.trim().slice(-400)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves when the program has exited by itself (false after timeoutMs). */
  async waitExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.exited && Date.now() < deadline) await new Promise<void>((r) => setTimeout(r, 20));
    return this.exited;
  }

  /** Writes one line to the program's standard input (started with `stdin: true`). */
  send(line: string): void {
    if (!this.child.stdin) throw new LabError(`${this.name} was started without a standard input`);
    this.child.stdin.write(`${line}\n`);
  }

  /** Sends `signal` (SIGINT lets tcpdump and conntrack flush), then SIGKILL after graceMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
    if (this.exited) return;
    this.child.kill(signal);
    if (!(await this.waitExit(graceMs))) {
      this.child.kill('SIGKILL');
      await this.waitExit(2000);
    }
  }
}

/** The NFLOG group a tracking host's INVALID packets are logged to (`tcpdump -i nflog:16`). */
export const INVALID_NFLOG_GROUP = 16;

export class ScenarioLab extends OwnedNamespaces {
  /** Hosts whose INVALID packets create() logs to NFLOG (none when the kernel lacks NFLOG). */
  readonly invalidLogged = new Set<string>();
  /** Host name -> its namespace. */
  readonly nsOf = new Map<string, string>();
  /** Scratch directory for captures (created with the namespaces, removed with them). */
  dir = '';
  private readonly procs: LabProcess[] = [];

  constructor(readonly spec: ScenarioSpec, tag = 'sc') {
    super(tag);
    for (const h of spec.hosts) this.nsOf.set(h.name, `${this.prefix}-${h.name}`);
  }

  namespaceOf(host: string): string {
    const n = this.nsOf.get(host);
    if (!n) throw new LabError(`no host ${host}`);
    return n;
  }

  /**
   * Creates every host, link, address, route, sysctl and rule of the spec. `logInvalid`: in each
   * host whose rules track, every packet conntrack marks INVALID also goes to NFLOG group
   * INVALID_NFLOG_GROUP (first in mangle PREROUTING and OUTPUT, the first hooks after conntrack), so
   * a capture of nflog:16 is the kernel's own per-packet INVALID list (NFLOG neither drops nor
   * changes a packet).
   */
  create(o: { logInvalid?: boolean } = {}): void {
    const spec = this.spec;
    this.invalidLogged.clear();
    const extra = spec.hosts.some((h) => buildRuleset(h.rules)?.save().includes('-m nfacct')) ? ['nfacct'] : [];
    const slow = spec.links.filter((l) => l.delayNs >= 1_000_000);
    const flood = spec.processes.some((p) => p.kind === 'flood');
    checkScenarioPrerequisites([...extra, ...(slow.length ? ['tc'] : []), ...(flood ? ['tcpreplay'] : [])]);
    const problem = realRunProblem(spec);
    if (problem) throw new LabError(`${spec.name}: cannot run for real: ${problem}`);
    try {
      this.dir = this.scratchFolder('captures');
      this.addNamespaces([...this.nsOf.values()]);
      const linked = new Set<string>();
      spec.links.forEach((l, k) => {
        // Created inside the first namespace (peer straight into the second, renamed there), so no
        // interface ever appears in the root namespace.
        const tmp = `ctl${process.pid % 100000}x${k}`.slice(0, 15);
        const a = this.namespaceOf(l.a.host);
        const b = this.namespaceOf(l.b.host);
        this.ns(a, 'ip', ['link', 'add', l.a.iface, 'type', 'veth', 'peer', 'name', tmp, 'netns', b]);
        this.ns(b, 'ip', ['link', 'set', tmp, 'name', l.b.iface]);
        linked.add(`${l.a.host}/${l.a.iface}`);
        linked.add(`${l.b.host}/${l.b.iface}`);
        if (l.delayNs >= 1_000_000) {
          for (const [h, i] of [[a, l.a.iface], [b, l.b.iface]]) {
            try {
              this.ns(h, 'tc', ['qdisc', 'add', 'dev', i, 'root', 'netem', 'delay', `${Math.round(l.delayNs / 1000)}us`]);
            } catch (e) {
              if (!/qdisc kind is unknown/.test((e as Error).message)) throw e;
              throw new LabError(`the link ${l.a.host}/${l.a.iface} - ${l.b.host}/${l.b.iface} has a ${l.delayNs / 1e6} ms delay, which needs the netem qdisc, and this kernel has none (modprobe sch_netem, or CONFIG_NET_SCH_NETEM); delays under 1 ms are not emulated in a real run`);
            }
          }
        }
      });
      for (const h of spec.hosts) {
        const n = this.namespaceOf(h.name);
        for (const i of h.interfaces) {
          if (!linked.has(`${h.name}/${i.name}`)) this.ns(n, 'ip', ['link', 'add', i.name, 'type', 'dummy']);
          this.ns(n, 'ip', ['addr', 'add', i.cidr, 'dev', i.name]);
          // Segments on the wire as ctsim sends them: no TSO/GSO super-packets for tcpdump to see,
          // no GRO merging on the way in.
          this.ns(n, 'ethtool', ['-K', i.name, 'tso', 'off', 'gso', 'off', 'gro', 'off'], { allowFail: true });
          this.ns(n, 'ip', ['link', 'set', i.name, 'up']);
        }
        for (const r of h.routes) this.ns(n, 'ip', ['route', 'add', r.to, 'dev', r.dev, ...(r.via !== undefined ? ['via', formatIpv4Address(r.via)] : [])]);
        // ctsim has no reverse-path filter; the lab's namespaces must not have one either.
        for (const k of ['all', 'default', ...h.interfaces.map((i) => i.name)]) this.ns(n, 'sysctl', ['-q', '-w', `net.ipv4.conf.${k}.rp_filter=0`]);
        if (h.forwarding) this.ns(n, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
        const rs = buildRuleset(h.rules);
        for (const name of new Set([...(rs?.save() ?? '').matchAll(/--nfacct-name\s+(\S+)/g)].map((m) => m[1]))) this.ns(n, 'nfacct', ['add', name]);
        for (const src of h.rules) {
          if (src.format === 'restore') this.ns(n, 'iptables-restore', [], { input: src.text });
          else for (const cmd of src.text.split('\n')) this.ns(n, 'iptables', tokenizeLine(cmd, 1));
        }
        // After the rules: a kernel with netfilter as modules (a UML guest) loads nf_conntrack, and
        // with it the namespace's net.netfilter.* sysctls, only when a rule needs it.
        const settable = h.sysctls.filter((x) => !/^net\.netfilter\.nf_conntrack_(max|buckets)=/.test(x));
        this.setSysctls(n, settable);
        if (o.logInvalid && rs?.usesConntrack()) this.logInvalid(h.name, n);
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** The NFLOG rules of create()'s `logInvalid`; a kernel without xt_NFLOG (a small UML build) goes on without them. */
  private logInvalid(host: string, n: string): void {
    const rule = (op: string, chain: string) => ['-t', 'mangle', op, chain, ...(op === '-I' ? ['1'] : []), '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'NFLOG', '--nflog-group', String(INVALID_NFLOG_GROUP)];
    try {
      for (const chain of ['PREROUTING', 'OUTPUT']) this.ns(n, 'iptables', rule('-I', chain));
      this.invalidLogged.add(host);
    } catch {
      for (const chain of ['PREROUTING', 'OUTPUT']) this.ns(n, 'iptables', rule('-D', chain), { allowFail: true });
    }
  }

  /** Interface index -> name inside a namespace (an SLL2 capture carries only the index). */
  interfaces(ns: string): Map<number, string> {
    const links = JSON.parse(this.ns(ns, 'ip', ['-j', 'link', 'show'])) as Array<{ ifindex: number; ifname: string }>;
    return new Map(links.map((l) => [l.ifindex, l.ifname]));
  }

  /**
   * The lab programs (src/kerneldiff/real/*.py) copied into a scratch folder every user can read:
   * they run as the scenario's uids, which may not enter the checkout (a clone under /root).
   */
  programs(): string {
    const dir = this.scratchFolder('programs');
    const from = realScriptsDirectory();
    for (const f of readdirSync(from).filter((n) => n.endsWith('.py'))) {
      copyFileSync(join(from, f), join(dir, f));
      chmodSync(join(dir, f), 0o644);
    }
    chmodSync(dir, 0o755);
    return dir;
  }

  /** Starts `cmd args` in a namespace (as `uid`/`gid` when given) with a hard time limit; destroy() kills it if it still runs. `stdin`: a pipe for send(). */
  start(ns: string, name: string, cmd: string, args: string[], o: { uid?: number; gid?: number; limitMs: number; cwd?: string; stdin?: boolean }): LabProcess {
    const asUser = o.uid ? ['setpriv', '--reuid', String(o.uid), '--regid', String(o.gid ?? o.uid), '--clear-groups'] : [];
    const [program, ...rest] = [...asUser, cmd, ...args];
    return new LabProcess(name, this.spawnIn(ns, program, rest, { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], cwd: o.cwd }), o.limitMs);
  }
}
