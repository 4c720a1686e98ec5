// Test hosts in network namespaces this process creates (and always removes): an injector/sink E
// holding both endpoint sides, and a router R whose conntrack is under test, joined by two veth
// pairs; addresses only from 198.18.0.0/15. Nothing touches the root namespace's rules, sysctls or interfaces: every
// command runs with `ip netns exec <ours>`, and names carry this process's id.
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onInterrupt } from '../lifecycle/cleanup.js';
import { leftByDeadProcess, ownPrefix } from '../lifecycle/owner-pid.js';

export class LabError extends Error {
  override readonly name = 'LabError';
  readonly kind = 'lab';
}

const CMD_TIMEOUT_MS = 20_000;

/** MTU of every lab link; longer packets are not injected. */
export const LAB_MTU = 9000;

export function run(cmd: string, args: string[], o: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: o.input, timeout: o.timeoutMs ?? CMD_TIMEOUT_MS });
  if (r.error) throw new LabError(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0 && !o.allowFail) throw new LabError(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Refuses, with a message saying why, when this machine cannot host the lab. */
export function checkLabPrerequisites(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new LabError('kernel-diff needs root (it creates network namespaces); run it as root or skip it');
  for (const tool of ['ip', 'iptables', 'conntrack', 'tcpdump', 'tcpreplay-edit', 'tcpprep']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new LabError(`kernel-diff needs ${tool}: apt-get install -y iproute2 iptables conntrack tcpdump tcpreplay`);
  }
}

export interface VethEnd {
  ns: string;
  dev: string;
  mac: string;
}

/** What removeLeftovers() found of ctsim processes that are gone, and removed. */
export interface Leftovers {
  namespaces: string[];
  /** Processes still running inside those namespaces (an orphaned tcpdump), killed. */
  processes: number[];
  /** Scratch folders in the temp directory. */
  folders: string[];
}

/**
 * Removes what ctsim processes that no longer exist (SIGKILL, a crash) left behind: their
 * `ctsim-<pid>-*` network namespaces with every process still inside them, and their
 * `ctsim-<pid>-*` scratch folders. Only names ctsim creates, and only of dead pids.
 */
export function removeLeftovers(): Leftovers {
  const found: Leftovers = { namespaces: [], processes: [], folders: [] };
  let names: string[] = [];
  try {
    names = listOurNamespaces();
  } catch {
    // no `ip` (the lab's prerequisites check says so): no namespaces of ours either
  }
  for (const ns of names.filter(leftByDeadProcess)) {
    const pids = run('ip', ['netns', 'pids', ns], { allowFail: true }).split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        found.processes.push(pid);
      } catch {
        // already gone
      }
    }
    run('ip', ['netns', 'del', ns], { allowFail: true });
    found.namespaces.push(ns);
  }
  const tmp = tmpdir();
  let entries: string[] = [];
  try {
    entries = readdirSync(tmp);
  } catch {
    // no temp directory to sweep
  }
  for (const name of entries.filter(leftByDeadProcess)) {
    rmSync(join(tmp, name), { recursive: true, force: true });
    found.folders.push(join(tmp, name));
  }
  return found;
}

/**
 * Everything one lab owns: network namespaces, the programs it starts in them, scratch folders.
 * destroy() removes all of it, and is registered as the interrupt cleanup
 * (src/lifecycle/cleanup.ts: the CLI runs it on SIGINT/SIGTERM) while anything is held. Names
 * carry this process's id (`ctsim-<pid>-<tag>-...`), so removeLeftovers() can tell a dead run's.
 */
export class OwnedNamespaces {
  readonly prefix: string;
  private created: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private folders: string[] = [];
  private release: (() => void) | null = null;

  constructor(tag: string) {
    this.prefix = `${ownPrefix()}${tag}`;
  }

  ns(ns: string, cmd: string, args: string[], o?: { input?: string; allowFail?: boolean; timeoutMs?: number }): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], o);
  }

  /** Registers destroy() as the interrupt cleanup (once). */
  private hold(): void {
    this.release ??= onInterrupt(() => this.destroy());
  }

  /** Removes dead runs' leftovers, then adds each namespace with its loopback up. */
  protected addNamespaces(names: readonly string[]): void {
    removeLeftovers();
    this.hold();
    for (const n of names) {
      run('ip', ['netns', 'add', n]);
      this.created.push(n);
      this.ns(n, 'ip', ['link', 'set', 'lo', 'up']);
    }
  }

  /**
   * Starts `cmd args` inside namespace `ns` (`ip netns exec` execs the program: the child's pid
   * is the program's). destroy() kills it if it still runs.
   */
  spawnIn(ns: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return this.spawnOwned('ip', ['netns', 'exec', ns, cmd, ...args], options);
  }

  /** Starts a program this lab owns (e.g. a user-mode-linux guest): destroy() kills it if it still runs. */
  spawnOwned(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    this.hold();
    const child = spawn(cmd, args, options);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** A new scratch folder `<tmp>/ctsim-<pid>-<tag>-<what>-XXXXXX`, removed by destroy() or removeScratch(). */
  scratchFolder(what: string): string {
    this.hold();
    const dir = mkdtempSync(join(tmpdir(), `${this.prefix}-${what}-`));
    this.folders.push(dir);
    return dir;
  }

  /** Removes a scratch folder now. */
  removeScratch(dir: string): void {
    this.folders = this.folders.filter((d) => d !== dir);
    rmSync(dir, { recursive: true, force: true });
  }

  /**
   * Hands a scratch folder to the caller (kept for a look by hand): destroy() and interrupts leave
   * it; like any `ctsim-<pid>-` folder, a later run removes it once this process is gone.
   */
  keepScratch(dir: string): void {
    this.folders = this.folders.filter((d) => d !== dir);
  }

  /** Per-namespace sysctls: a bare name is net.netfilter.*, a dotted net.* name is taken as is. */
  setSysctls(ns: string, settings: readonly string[]): void {
    for (const s of settings) {
      const t = s.replace(/\s+/g, '');
      this.ns(ns, 'sysctl', ['-q', '-w', t.startsWith('net.') ? t : `net.netfilter.${t}`]);
    }
  }

  /**
   * Kills the programs still running, removes the namespaces and the scratch folders
   * (idempotent, synchronous: it also runs from the CLI's signal handler).
   */
  destroy(): void {
    for (const child of this.children) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    this.children.clear();
    for (const n of this.created.reverse()) run('ip', ['netns', 'del', n], { allowFail: true });
    this.created = [];
    for (const dir of this.folders) this.removeScratch(dir);
    this.folders = [];
    this.release?.();
    this.release = null;
  }
}

export class NetnsLab extends OwnedNamespaces {
  /** Injector and sink: both endpoint sides live here, so one tcpreplay keeps packet order. */
  readonly e: string;
  /** The router whose conntrack is under test. */
  readonly r: string;
  ra!: VethEnd;
  rb!: VethEnd;
  ea!: VethEnd;
  eb!: VethEnd;

  constructor(tag = 'kd') {
    super(tag);
    this.e = `${this.prefix}-e`;
    this.r = `${this.prefix}-r`;
  }

  /** Creates E = R = E (two veth pairs). R forwards 198.18/16 <-> 198.19/16; E never answers. */
  create(): void {
    checkLabPrerequisites();
    try {
      this.addNamespaces([this.e, this.r]);
      const tag = String(process.pid % 100000);
      // Created inside E so no interface ever appears in the root namespace.
      this.ns(this.e, 'ip', ['link', 'add', `ea${tag}`, 'type', 'veth', 'peer', 'name', `ra${tag}`, 'netns', this.r]);
      this.ns(this.e, 'ip', ['link', 'add', `eb${tag}`, 'type', 'veth', 'peer', 'name', `rb${tag}`, 'netns', this.r]);
      const addr = (ns: string, dev: string, cidr: string) => {
        this.ns(ns, 'ip', ['addr', 'add', cidr, 'dev', dev]);
        // Jumbo MTU: a veth drops a frame longer than its MTU before conntrack sees it, and
        // cases may carry full-sized segments plus options (> 1500 bytes).
        this.ns(ns, 'ip', ['link', 'set', dev, 'mtu', String(LAB_MTU), 'up']);
      };
      addr(this.e, `ea${tag}`, '198.18.255.254/30');
      addr(this.r, `ra${tag}`, '198.18.255.253/30');
      addr(this.r, `rb${tag}`, '198.19.255.253/30');
      addr(this.e, `eb${tag}`, '198.19.255.254/30');
      this.ns(this.r, 'ip', ['route', 'add', '198.18.0.0/16', 'via', '198.18.255.254', 'dev', `ra${tag}`]);
      this.ns(this.r, 'ip', ['route', 'add', '198.19.0.0/16', 'via', '198.19.255.254', 'dev', `rb${tag}`]);
      this.ns(this.r, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
      for (const k of ['all', 'default', `ra${tag}`, `rb${tag}`]) this.ns(this.r, 'sysctl', ['-q', '-w', `net.ipv4.conf.${k}.rp_filter=0`]);
      // E: no forwarding (default), and nothing delivered to it gets an answer.
      this.ns(this.e, 'iptables', ['-A', 'INPUT', '-p', 'tcp', '-j', 'DROP']);
      const mac = (ns: string, dev: string) => JSON.parse(this.ns(ns, 'ip', ['-j', 'link', 'show', dev]))[0].address as string;
      this.ra = { ns: this.r, dev: `ra${tag}`, mac: mac(this.r, `ra${tag}`) };
      this.rb = { ns: this.r, dev: `rb${tag}`, mac: mac(this.r, `rb${tag}`) };
      this.ea = { ns: this.e, dev: `ea${tag}`, mac: mac(this.e, `ea${tag}`) };
      this.eb = { ns: this.e, dev: `eb${tag}`, mac: mac(this.e, `eb${tag}`) };
      // Static neighbours: nothing answers ARP for the whole /16s.
      this.ns(this.r, 'ip', ['neigh', 'replace', '198.18.255.254', 'lladdr', this.ea.mac, 'dev', this.ra.dev]);
      this.ns(this.r, 'ip', ['neigh', 'replace', '198.19.255.254', 'lladdr', this.eb.mac, 'dev', this.rb.dev]);
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** Sets per-namespace conntrack sysctls in R (net.netfilter.*). */
  sysctl(settings: readonly string[]): void {
    this.setSysctls(this.r, settings);
  }
}

/** Names of ctsim's namespaces on this machine, of any run (for tests and cleanup). */
export function listOurNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith('ctsim-'));
}
