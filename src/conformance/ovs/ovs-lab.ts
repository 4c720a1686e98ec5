// Open vSwitch's userspace datapath as a process pair this ctsim run owns: ovsdb-server and
// ovs-vswitchd --enable-dummy --disable-system, each with its run/log/db directory in one fresh
// temporary folder (OVS_RUNDIR, OVS_LOGDIR, OVS_DBDIR, OVS_SYSCONFDIR), a bridge with
// datapath_type=dummy and two type=dummy ports: p1 (packets are injected with
// netdev-dummy/receive; p3 is a second way in) and p2 (every packet leaves there, into a pcap file; MTU 65535 so no
// case packet is too big for it). No kernel module,
// no real interface, no system-wide OVS state is touched. stop() (on errors, at the end, and on
// SIGINT/SIGTERM or at process exit through the interrupt cleanup it registers,
// src/lifecycle/cleanup.ts, which whoever owns the process runs: the CLI, the tests) kills both
// daemons and removes the folder; a folder left by a
// process that was killed outright (SIGKILL) is reaped by the next start.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PeerError } from '../errors.js';
import { Unixctl } from './unixctl.js';
import { onInterrupt } from '../../lifecycle/cleanup.js';
import { pidAlive } from '../../lifecycle/owner-pid.js';

const DIR_PREFIX = 'ctsim-ovs-';
const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/sbin', '/bin'];
const SCHEMA_PATHS = ['/usr/share/openvswitch/vswitch.ovsschema', '/usr/local/share/openvswitch/vswitch.ovsschema'];
export const INJECT_PORT = 'p1';
export const OUTPUT_PORT = 'p2';
/** A second way in (OpenFlow port 3): the benchmark's packets that skip ct(). */
export const SIDE_PORT = 'p3';
export const BRIDGE = 'br0';

export interface OvsTools {
  ovsdbTool: string;
  ovsdbServer: string;
  vswitchd: string;
  vsctl: string;
  ofctl: string;
  schema: string;
}

function which(name: string, dirs: readonly string[]): string | null {
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** The OVS programs (searched in `dirs`: $PATH and the sbin folders), or why they cannot be used. */
export function findOvs(dirs: readonly string[] = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_PATH]): OvsTools | string {
  const names = { ovsdbTool: 'ovsdb-tool', ovsdbServer: 'ovsdb-server', vswitchd: 'ovs-vswitchd', vsctl: 'ovs-vsctl', ofctl: 'ovs-ofctl' } as const;
  const found: Partial<OvsTools> = {};
  for (const [k, n] of Object.entries(names) as Array<[keyof typeof names, string]>) {
    const p = which(n, dirs);
    if (!p) return `${n} not found: install Open vSwitch (Debian: apt-get install openvswitch-switch)`;
    found[k] = p;
  }
  const schema = SCHEMA_PATHS.find((p) => fs.existsSync(p));
  if (!schema) return `vswitch.ovsschema not found in ${SCHEMA_PATHS.join(' or ')}`;
  return { ...(found as Omit<OvsTools, 'schema'>), schema };
}

/** Kills the daemons of labs whose owning process is gone, and removes their folders. */
export function reapStaleLabs(tmp = os.tmpdir()): number {
  let reaped = 0;
  for (const name of fs.readdirSync(tmp)) {
    const m = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const dir = path.join(tmp, name);
    for (const f of ['ovs-vswitchd.pid', 'ovsdb-server.pid']) {
      try {
        const pid = Number(fs.readFileSync(path.join(dir, f), 'utf8').trim());
        // Only a daemon started for that very folder (its command line names it).
        if (pid > 0 && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    reaped++;
  }
  return reaped;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface OvsLabOptions {
  /** OpenFlow rules (ovs-ofctl add-flows text) installed on the bridge. */
  flows: string;
  /** Wait this long for each daemon to come up (default 20 s). */
  startTimeoutMs?: number;
  /** The programs to run (default: findOvs()). */
  tools?: OvsTools | string;
  /** Stop the datapath's clock once up (default true; time/warp then moves it). */
  stopClock?: boolean;
}

export class OvsLab {
  readonly dir: string;
  readonly outputPcap: string;
  version = '';
  rpc!: Unixctl;
  /** Set when a daemon exits on its own. */
  died: PeerError | null = null;
  private children: ChildProcess[] = [];
  private stopped = false;
  private readonly env: NodeJS.ProcessEnv;
  /** Unregisters the interrupt cleanup (the CLI's SIGINT/SIGTERM and exit handlers run stopSync()). */
  private readonly release: () => void;

  private constructor(readonly tools: OvsTools) {
    reapStaleLabs();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${DIR_PREFIX}${process.pid}-`));
    this.outputPcap = path.join(this.dir, `${OUTPUT_PORT}.pcap`);
    const d = this.dir;
    this.env = { ...process.env, OVS_RUNDIR: d, OVS_LOGDIR: d, OVS_DBDIR: d, OVS_SYSCONFDIR: d };
    this.release = onInterrupt(() => this.stopSync());
  }

  /** Starts both daemons, the bridge, the ports and the flows; the clock is then stopped (time/warp moves it). */
  static async start(o: OvsLabOptions): Promise<OvsLab> {
    const tools = o.tools ?? findOvs();
    if (typeof tools === 'string') throw new PeerError(tools);
    const lab = new OvsLab(tools);
    try {
      await lab.boot(o);
      return lab;
    } catch (e) {
      await lab.stop();
      throw e;
    }
  }

  private run(cmd: string, args: string[], input?: string): string {
    const r = spawnSync(cmd, args, { env: this.env, input, encoding: 'utf8', timeout: 30_000 });
    if (r.error) throw new PeerError(`${path.basename(cmd)}: ${r.error.message}`);
    if (r.status !== 0) throw new PeerError(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}${this.logTail()}`);
    return r.stdout;
  }

  private logTail(): string {
    const log = path.join(this.dir, 'ovs-vswitchd.log');
    if (!fs.existsSync(log)) return '';
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').filter((l) => /ERR|EMER|WARN/.test(l)).slice(-3);
    return lines.length ? `; ovs-vswitchd.log: ${lines.join(' | ')}` : '';
  }

  private daemon(cmd: string, args: string[]): ChildProcess {
    const child = spawn(cmd, args, { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    child.on('exit', (code, signal) => {
      if (!this.stopped) this.died ??= new PeerError(`${path.basename(cmd)} exited (${code ?? signal}) ${err.trim().split('\n').slice(-2).join(' | ')}${this.logTail()}`);
    });
    this.children.push(child);
    return child;
  }

  private async waitFor(file: string, what: string, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!fs.existsSync(file)) {
      if (this.died) throw this.died;
      if (Date.now() > until) throw new PeerError(`${what} did not come up within ${timeoutMs} ms${this.logTail()}`);
      await sleep(20);
    }
  }

  private async boot(o: OvsLabOptions): Promise<void> {
    const d = this.dir;
    const t = this.tools;
    const timeout = o.startTimeoutMs ?? 20_000;
    const db = path.join(d, 'conf.db');
    const dbSock = path.join(d, 'db.sock');
    this.run(t.ovsdbTool, ['create', db, t.schema]);
    this.daemon(t.ovsdbServer, [db, `--remote=punix:${dbSock}`, `--unixctl=${path.join(d, 'ovsdb-server.ctl')}`,
      `--pidfile=${path.join(d, 'ovsdb-server.pid')}`, `--log-file=${path.join(d, 'ovsdb-server.log')}`, '--no-chdir', '-vconsole:off']);
    await this.waitFor(dbSock, 'ovsdb-server', timeout);
    const vsctl = (...args: string[]) => this.run(t.vsctl, [`--db=unix:${dbSock}`, '--timeout=20', ...args]);
    vsctl('--no-wait', 'init');
    const ctl = path.join(d, 'ovs-vswitchd.ctl');
    this.daemon(t.vswitchd, [`unix:${dbSock}`, '--enable-dummy', '--disable-system', `--unixctl=${ctl}`,
      `--pidfile=${path.join(d, 'ovs-vswitchd.pid')}`, `--log-file=${path.join(d, 'ovs-vswitchd.log')}`, '--no-chdir', '-vconsole:off']);
    await this.waitFor(ctl, 'ovs-vswitchd', timeout);
    this.rpc = await Unixctl.connect(ctl);
    this.version = (await this.rpc.call('version')).trim();
    vsctl('add-br', BRIDGE, '--', 'set', 'bridge', BRIDGE, 'datapath_type=dummy', 'fail-mode=secure',
      '--', 'add-port', BRIDGE, INJECT_PORT, '--', 'set', 'interface', INJECT_PORT, 'type=dummy', 'ofport_request=1', 'mtu_request=65535',
      '--', 'add-port', BRIDGE, OUTPUT_PORT, '--', 'set', 'interface', OUTPUT_PORT, 'type=dummy', 'ofport_request=2', 'mtu_request=65535', `options:tx_pcap=${this.outputPcap}`,
      '--', 'add-port', BRIDGE, SIDE_PORT, '--', 'set', 'interface', SIDE_PORT, 'type=dummy', 'ofport_request=3', 'mtu_request=65535');
    const mgmt = path.join(d, `${BRIDGE}.mgmt`);
    await this.waitFor(mgmt, 'the bridge', timeout);
    this.run(t.ofctl, ['add-flows', `unix:${mgmt}`, '-'], o.flows);
    // From here on the datapath's clock (conntrack's time_msec()) moves only by time/warp.
    if (o.stopClock ?? true) await this.rpc.call('time/stop');
  }

  /** Replaces the bridge's OpenFlow rules (ovs-ofctl del-flows, add-flows). */
  replaceFlows(flows: string): void {
    const mgmt = `unix:${path.join(this.dir, `${BRIDGE}.mgmt`)}`;
    this.run(this.tools.ofctl, ['del-flows', mgmt]);
    this.run(this.tools.ofctl, ['add-flows', mgmt, '-'], flows);
  }

  /** Kills the daemons and removes the folder (idempotent; synchronous, usable at exit). */
  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.rpc?.close();
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null && c.pid) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.release();
  }

  /** Stops the daemons (SIGTERM, then SIGKILL after a grace period) and removes the folder. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.rpc?.close();
    const waits = this.children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    }));
    await Promise.race([Promise.all(waits), sleep(3000)]);
    this.stopSync();
  }

  /** The daemons' process ids (for tests that check nothing is left running). */
  get pids(): number[] {
    return this.children.map((c) => c.pid ?? -1).filter((p) => p > 0);
  }
}
