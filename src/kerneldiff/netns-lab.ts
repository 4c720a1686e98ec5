// Test hosts in network namespaces this process creates (and always removes): an injector/sink E
// holding both endpoint sides, and a router R whose conntrack is under test, joined by two veth
// pairs; addresses only from 198.18.0.0/15. Nothing touches the root namespace's rules, sysctls or interfaces: every
// command runs with `ip netns exec <ours>`, and names carry this process's id.
import { execFileSync, spawnSync } from 'node:child_process';

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

/** Every OwnedNamespaces of this process that still holds namespaces. */
const live = new Set<OwnedNamespaces>();

/**
 * Removes every namespace this process still owns, synchronously (so a SIGINT/SIGTERM handler can
 * call it before the process exits: the CLI does, and so do the tests that run labs).
 */
export function destroyOwnedNamespaces(): void {
  for (const lab of [...live]) lab.destroy();
}

/**
 * Network namespaces this process creates and always removes: on errors (subclasses call
 * destroy() from their catch), at the end of a run, and on SIGINT/SIGTERM through
 * destroyOwnedNamespaces(), which whoever owns the process's signals calls. Names carry this
 * process's id.
 */
export class OwnedNamespaces {
  readonly prefix: string;
  private created: string[] = [];

  constructor(tag: string) {
    this.prefix = `ctsim-${process.pid}-${tag}`;
  }

  ns(ns: string, cmd: string, args: string[], o?: { input?: string; allowFail?: boolean; timeoutMs?: number }): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], o);
  }

  /** Registers this lab for destroyOwnedNamespaces(), then adds each namespace with its loopback up. */
  protected addNamespaces(names: readonly string[]): void {
    live.add(this);
    for (const n of names) {
      run('ip', ['netns', 'add', n]);
      this.created.push(n);
      this.ns(n, 'ip', ['link', 'set', 'lo', 'up']);
    }
  }

  /** Per-namespace sysctls: a bare name is net.netfilter.*, a dotted net.* name is taken as is. */
  setSysctls(ns: string, settings: readonly string[]): void {
    for (const s of settings) {
      const t = s.replace(/\s+/g, '');
      this.ns(ns, 'sysctl', ['-q', '-w', t.startsWith('net.') ? t : `net.netfilter.${t}`]);
    }
  }

  /** Removes our namespaces (idempotent). */
  destroy(): void {
    live.delete(this);
    for (const n of this.created.reverse()) run('ip', ['netns', 'del', n], { allowFail: true });
    this.created = [];
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

/** Names of leftover namespaces of ours (for tests and cleanup). */
export function listOurNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith('ctsim-'));
}
