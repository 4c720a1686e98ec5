// The seed incidents' topology for real: a pod namespace (Istio's capture rules loaded from ctsim's
// own preset with iptables-restore, the run's per-namespace sysctls) and an upstream namespace,
// joined by one veth pair named eth0 on both sides and addressed as src/scenarios/istio-pod.ts
// does. Like NetnsLab it only touches namespaces it creates (ctsim-<pid>-<tag>-pod / -up): every
// command and program runs under `ip netns exec <ours>`, every program has a hard time limit, and
// destroy() (on errors, at the end, and on SIGINT/SIGTERM through the interrupt cleanup it
// registers, src/lifecycle/cleanup.ts, which the CLI runs) kills the programs, deletes the
// namespaces and removes the scratch folders.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { POD_IP, UPSTREAM_IP } from '../scenarios/istio-pod.js';
import { ISTIO_DEFAULTS, ISTIO_SIDECAR_RULES, readPreset } from '../stack/presets/istio.js';
import { LabError, OwnedNamespaces } from './netns-lab.js';

/** The application's uid (Istio's rules capture everything not owned by 1337). */
export const APP_UID = 1000;

/** Refuses, with a message saying why, when this machine cannot run the scenario lab. */
export function checkScenarioPrerequisites(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new LabError('kernel-diff --scenario needs root (it creates network namespaces); run it as root or skip it');
  for (const tool of ['ip', 'iptables-restore', 'conntrack', 'tcpdump', 'setpriv', 'python3']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new LabError(`kernel-diff --scenario needs ${tool}: apt-get install -y iproute2 iptables conntrack tcpdump util-linux python3`);
  }
}

let python: string | undefined;

/**
 * A python3 the lab's unprivileged programs can execute: the one on root's PATH may live under
 * /root (pyenv), which uid 1337 cannot enter.
 */
export function labPython(): string {
  if (python) return python;
  const onPath = (spawnSync('sh', ['-c', 'which -a python3'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '').split('\n').filter(Boolean);
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3', ...onPath]) {
    if (!existsSync(p)) continue;
    const r = spawnSync('setpriv', ['--reuid', String(ISTIO_DEFAULTS.proxyUid), '--regid', String(ISTIO_DEFAULTS.proxyGid), '--clear-groups', p, '-B', '-c', 'pass'], { timeout: 10_000 });
    if (r.status === 0) return (python = p);
  }
  throw new LabError(`no python3 that uid ${ISTIO_DEFAULTS.proxyUid} can run (tried /usr/bin/python3 and ${onPath.join(', ') || 'nothing on PATH'})`);
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

/** The NFLOG group the pod's INVALID packets are logged to (`tcpdump -i nflog:16`). */
export const INVALID_NFLOG_GROUP = 16;

export class ScenarioLab extends OwnedNamespaces {
  /** create() set up the NFLOG logging of INVALID packets (false when the kernel lacks NFLOG). */
  invalidLogged = false;
  readonly pod: string;
  readonly upstream: string;
  /** Scratch directory for captures (created with the namespaces, removed with them). */
  dir = '';

  constructor(tag = 'sc') {
    super(tag);
    this.pod = `${this.prefix}-pod`;
    this.upstream = `${this.prefix}-up`;
  }

  /**
   * Creates pod = upstream; `sysctls` (net.netfilter.* / net.ipv4.*) are set in the pod only, as
   * ctsim's pod host gets them; `extraRules` (iptables-save text, e.g. an INVALID-drop placement)
   * are added to the pod's rules with iptables-restore --noflush.
   */
  create(sysctls: readonly string[], extraRules: string | null = null, o: { logInvalid?: boolean } = {}): void {
    this.invalidLogged = false;
    checkScenarioPrerequisites();
    try {
      this.dir = this.scratchFolder('captures');
      this.addNamespaces([this.pod, this.upstream]);
      // Created inside the pod (peer straight into the upstream namespace, renamed there) so no
      // interface ever appears in the root namespace; both ends are eth0 as in ctsim's topology.
      const peer = `ctu${process.pid % 100000}`;
      this.ns(this.pod, 'ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', peer, 'netns', this.upstream]);
      this.ns(this.upstream, 'ip', ['link', 'set', peer, 'name', 'eth0']);
      this.ns(this.pod, 'ip', ['addr', 'add', `${POD_IP}/24`, 'dev', 'eth0']);
      this.ns(this.upstream, 'ip', ['addr', 'add', `${UPSTREAM_IP}/24`, 'dev', 'eth0']);
      for (const n of [this.pod, this.upstream]) this.ns(n, 'ip', ['link', 'set', 'eth0', 'up']);
      // The same rules ctsim's pod evaluates (iptables-save text), loaded by the real iptables.
      this.ns(this.pod, 'iptables-restore', [], { input: readPreset(ISTIO_SIDECAR_RULES) });
      if (extraRules) this.ns(this.pod, 'iptables-restore', ['--noflush'], { input: extraRules });
      // `logInvalid`: every packet conntrack marks INVALID goes to NFLOG group INVALID_NFLOG_GROUP,
      // first in mangle PREROUTING and OUTPUT (the first hooks after conntrack), so a capture of
      // nflog:16 is the kernel's own per-packet INVALID list (NFLOG neither drops nor changes it).
      if (o.logInvalid) {
        const rule = (op: string, chain: string) => ['-t', 'mangle', op, chain, ...(op === '-I' ? ['1'] : []), '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'NFLOG', '--nflog-group', String(INVALID_NFLOG_GROUP)];
        try {
          for (const chain of ['PREROUTING', 'OUTPUT']) this.ns(this.pod, 'iptables', rule('-I', chain));
          this.invalidLogged = true;
        } catch {
          // A kernel without xt_NFLOG (a small UML build): the run goes on without the list.
          for (const chain of ['PREROUTING', 'OUTPUT']) this.ns(this.pod, 'iptables', rule('-D', chain), { allowFail: true });
        }
      }
      this.setSysctls(this.pod, sysctls);
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /**
   * The lab programs (src/kerneldiff/real/*.py) copied into a scratch folder every user can read:
   * they run as uid 1337 and 1000, which may not enter the checkout (a clone under /root).
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

  /** Interface index -> name inside a namespace (an SLL2 capture carries only the index). */
  interfaces(ns: string): Map<number, string> {
    const links = JSON.parse(this.ns(ns, 'ip', ['-j', 'link', 'show'])) as Array<{ ifindex: number; ifname: string }>;
    return new Map(links.map((l) => [l.ifindex, l.ifname]));
  }

  /** Starts `cmd args` in a namespace (as `uid` when given) with a hard time limit. */
  start(ns: string, name: string, cmd: string, args: string[], o: { uid?: number; limitMs: number }): LabProcess {
    const asUser = o.uid !== undefined ? ['setpriv', '--reuid', String(o.uid), '--regid', String(o.uid), '--clear-groups'] : [];
    const [program, ...rest] = [...asUser, cmd, ...args];
    return new LabProcess(name, this.spawnIn(ns, program, rest, { stdio: ['ignore', 'pipe', 'pipe'] }), o.limitMs);
  }
}
