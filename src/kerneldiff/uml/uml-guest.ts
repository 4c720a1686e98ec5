// Runs ctsim itself inside a user-mode-linux guest, so the guest's kernel is the one whose
// conntrack the labs measure while the lab code stays exactly the code that runs on the host.
//
// Why ctsim-in-the-guest rather than an agent driven over the console: the guest boots with this
// machine's filesystem as a read-only hostfs root, so node, this ctsim build, tcpdump, tcpreplay,
// conntrack, iptables and python3 are all there already; running `ctsim kernel-diff` inside means
// the netns labs, the real scenario run, the comparison and the minimiser are one code path
// whether the kernel is the host's or a guest's, and no second protocol has to be kept in step.
// The guest writes its report into a host folder mounted writable with hostfs; its console only
// carries progress and kernel messages.
//
// The host side owns everything it starts: the guest runs in a process group of its own and is
// SIGKILLed on its own deadline, on a panic, and on SIGINT/SIGTERM (registered with the interrupt
// cleanup the CLI runs, src/lifecycle/cleanup.ts); its uml_dir (pid file, mconsole socket) and the
// scratch folder (`ctsim-<pid>-uml-*`, which a later run removes if this process was killed
// outright) are removed in every case.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onInterrupt } from '../../lifecycle/cleanup.js';
import { ownPrefix } from '../../lifecycle/owner-pid.js';
import { HOST_FP_REFUSED, UmlError, type UmlKernel } from './uml-kernel.js';
import { packageRoot } from '../verification.js';

/** Modules the labs need from a packaged (modular) kernel; modprobe pulls their dependencies. */
export const GUEST_MODULES = [
  'nf_conntrack', 'nf_conntrack_netlink', 'nf_nat', 'veth', 'iptable_filter', 'iptable_mangle', 'iptable_nat', 'iptable_raw',
  'xt_conntrack', 'xt_state', 'xt_DSCP', 'xt_dscp', 'xt_REDIRECT', 'xt_owner', 'xt_tcpudp', 'xt_multiport', 'xt_mark',
] as const;

/**
 * What the labs need from the guest kernel, each probed inside the guest: the probe (a shell
 * command run in a scratch namespace) and the kernel option that provides it.
 */
export const GUEST_REQUIREMENTS: ReadonlyArray<{ what: string; config: string; probe: string }> = [
  { what: 'network namespaces', config: 'CONFIG_NET_NS', probe: 'ip netns add ctsim-probe' },
  { what: 'veth pairs', config: 'CONFIG_VETH', probe: 'ip -n ctsim-probe link add p0 type veth peer name p1' },
  { what: 'packet sockets (tcpdump)', config: 'CONFIG_PACKET', probe: 'python3 -c "import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)"' },
  { what: 'connection tracking', config: 'CONFIG_NF_CONNTRACK', probe: 'ip netns exec ctsim-probe iptables -t mangle -A FORWARD -m conntrack --ctstate INVALID -j ACCEPT' },
  { what: 'conntrack netlink (conntrack -L/-E)', config: 'CONFIG_NF_CT_NETLINK', probe: 'ip netns exec ctsim-probe conntrack -L >/dev/null 2>&1' },
  { what: 'conntrack events (conntrack -E)', config: 'CONFIG_NF_CONNTRACK_EVENTS', probe: 'test -e /proc/sys/net/netfilter/nf_conntrack_events' },
  { what: 'the DSCP target', config: 'CONFIG_NETFILTER_XT_TARGET_DSCP', probe: 'ip netns exec ctsim-probe iptables -t mangle -A FORWARD -j DSCP --set-dscp 1' },
  { what: 'NAT REDIRECT', config: 'CONFIG_IP_NF_NAT + CONFIG_NETFILTER_XT_TARGET_REDIRECT', probe: 'ip netns exec ctsim-probe iptables -t nat -A OUTPUT -p tcp -j REDIRECT --to-ports 15001' },
  { what: 'the owner match', config: 'CONFIG_NETFILTER_XT_MATCH_OWNER', probe: 'ip netns exec ctsim-probe iptables -t nat -A OUTPUT -m owner --uid-owner 1337 -j RETURN' },
];

export interface GuestRunOptions {
  kernel: UmlKernel;
  /** ctsim command-line arguments run inside the guest (its standard output goes to out/stdout); host files by guestPathOf. */
  argv: string[];
  /** The guest's deadline, boot included: after it the guest is killed. */
  timeoutMs: number;
  /** Guest memory (MiB). */
  memMb?: number;
  /** Each console line (kernel messages, progress) as it arrives. */
  onConsole?: (line: string) => void;
  /** Distinguishes parallel guests of this process (umid, scratch folder). */
  tag?: string;
  /** The ctsim entry point run inside (default: this package's dist/src/cli/main.js). */
  ctsimMain?: string;
}

export interface GuestRun {
  /** The guest kernel's `uname -r`. */
  release: string;
  /** ctsim's exit status inside the guest. */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Files ctsim wrote under the guest's /run/ctsim-out (name -> bytes), read before the folder is removed. */
  files: Map<string, Buffer>;
  console: string;
  wallSeconds: number;
}

/** Where the guest sees the host folder it may write. */
export const GUEST_OUT = '/run/ctsim-out';

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Where the guest sees the host's /tmp: the init covers /tmp with a tmpfs, so a ctsim checkout or
 * node under the host's /tmp (a CI clone, an unpacked tarball) is reached through this mount. */
export const GUEST_HOST_TMP = '/run/ctsim-host-tmp';
const underHostTmp = (p: string) => p === '/tmp' || p.startsWith('/tmp/');
/** The path a host file has inside the guest (argv given to runInGuest names host files this way). */
export function guestPathOf(hostPath: string): string {
  return underHostTmp(hostPath) ? GUEST_HOST_TMP + hostPath.slice('/tmp'.length) : hostPath;
}

/** Whether the guest needs the host's /tmp: node or ctsim lives there, or an argument names a file there (guestPathOf). */
function readsHostTmp(o: { node: string; ctsim: string; argv: string[] }): boolean {
  return underHostTmp(o.node) || underHostTmp(o.ctsim) || o.argv.some((a) => a === GUEST_HOST_TMP || a.startsWith(`${GUEST_HOST_TMP}/`));
}

/** The guest's init: mounts, modules, requirement probes, then ctsim; always powers off. */
export function guestInitScript(o: { hostOut: string; seedFile: string; modulesDir: string | null; node: string; ctsim: string; argv: string[] }): string {
  const probes = GUEST_REQUIREMENTS.map((r) => `probe ${shq(r.config)} ${shq(r.what)} ${shq(r.probe)}`).join('\n');
  return `#!/bin/sh
# ctsim user-mode-linux guest init (written by src/kerneldiff/uml/uml-guest.ts; removed after the run)
export PATH=/run/ctsim-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8
OUT=${GUEST_OUT}
mount -t proc proc /proc
mount -t sysfs sys /sys
grep -q ' /dev ' /proc/mounts || mount -t devtmpfs dev /dev 2>/dev/null
# Kernels before 5.18 (5.4, 5.10) have no entropy source in UML, so getrandom() (node, python)
# would block forever: credit the pool with 64 bytes the host drew from its own CSPRNG (read
# before /tmp, where the file lives, is covered by a tmpfs).
entropy=ok
python3 -c 'import fcntl, struct, sys; d = open(sys.argv[1], "rb").read(); fcntl.ioctl(open("/dev/random", "wb"), 0x40085203, struct.pack("ii", len(d) * 8, len(d)) + d)' ${shq(o.seedFile)} || entropy=failed
mount -t tmpfs -o mode=755 tmpfs /run
${readsHostTmp(o) ? `mkdir -p ${GUEST_HOST_TMP} && mount -r -t hostfs -o /tmp hostfs ${GUEST_HOST_TMP}` : '# ctsim, node and the files ctsim reads live outside /tmp'}
mount -t tmpfs tmpfs /tmp
mkdir -p $OUT /run/ctsim-bin /run/netns
if ! mount -t hostfs -o ${shq(o.hostOut)} hostfs $OUT; then echo 'ctsim-guest: cannot mount the host folder (CONFIG_HOSTFS)'; poweroff -f; fi
status() { echo "$*" >> $OUT/status; }

uname -r > $OUT/release
status booted
status "entropy-credit $entropy"
# The labs call iptables/iptables-restore: in the guest those are the legacy (x_tables) tools,
# which every UML build has; the host's nf_tables iptables needs options a lab kernel lacks.
for t in iptables iptables-save iptables-restore; do ln -s /usr/sbin/$(echo $t | sed 's/^iptables/iptables-legacy/') /run/ctsim-bin/$t; done
${o.modulesDir ? `mkdir -p /run/ctsim-mod/lib/modules && ln -s ${shq(o.modulesDir)} /run/ctsim-mod/lib/modules/$(uname -r)
for m in ${GUEST_MODULES.join(' ')}; do modprobe -d /run/ctsim-mod $m 2>>$OUT/modprobe.err || status "modprobe-failed $m"; done` : '# all built in'}
missing=0
probe() {
  if ! sh -c "$3" >/dev/null 2>&1; then status "missing $1 $2"; missing=1; fi
}
${probes}
ip netns del ctsim-probe 2>/dev/null
if [ $missing = 0 ]; then
  status running
  ${shq(guestPathOf(o.node))} ${shq(guestPathOf(o.ctsim))} ${o.argv.map(shq).join(' ')} > $OUT/stdout 2> $OUT/stderr
  echo $? > $OUT/rc
fi
sync
poweroff -f
`;
}

let guestCounter = 0;

/** The compiled CLI of this package (what the guest runs with the host's node). */
export function builtCtsimMain(): string {
  const main = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new UmlError(`${main} not found: build ctsim first (npm run build)`);
  return main;
}

/** Boots the kernel, runs `ctsim ARGV` inside, returns what it wrote; the guest never outlives the call. */
export async function runInGuest(o: GuestRunOptions): Promise<GuestRun> {
  const dir = mkdtempSync(join(tmpdir(), `${ownPrefix()}uml-${o.tag ?? guestCounter++}-`));
  const out = join(dir, 'out');
  mkdirSync(out);
  const init = join(dir, 'init.sh');
  const ctsim = o.ctsimMain ?? builtCtsimMain();
  const seedFile = join(dir, 'entropy-seed');
  writeFileSync(seedFile, randomBytes(64), { mode: 0o600 });
  writeFileSync(init, guestInitScript({ hostOut: out, seedFile, modulesDir: o.kernel.modulesDir, node: process.execPath, ctsim, argv: o.argv }));
  chmodSync(init, 0o755);
  const umid = `ctsim-${process.pid}-${o.tag ?? guestCounter}`;
  const args = [
    `mem=${o.memMb ?? 1024}M`, 'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'ro', `init=${init}`,
    'con=null', 'con0=fd:0,fd:1', `umid=${umid}`, `uml_dir=${dir}`, 'loglevel=4',
  ];
  const t0 = performance.now();
  let consoleText = '';
  let child: ChildProcess | null = null;
  // Interrupted (the CLI's SIGINT/SIGTERM handler): the guest dies and its folder goes.
  const release = onInterrupt(() => {
    if (child) killGroup(child);
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    child = spawn(o.kernel.path, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: existsSync('/dev/shm') ? '/dev/shm' : dir } });
    const c = child;
    let partial = '';
    let panic = '';
    let hostFpSize = false;
    const onData = (d: Buffer) => {
      const text = d.toString('utf8').replace(/\r/g, '');
      consoleText += text;
      if (consoleText.length > 200_000) consoleText = consoleText.slice(-100_000);
      partial += text;
      let i: number;
      while ((i = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, i);
        partial = partial.slice(i + 1);
        // UML's own report that the host refused the guest program's FP registers (see UmlFailure).
        if (line.includes(HOST_FP_REFUSED)) hostFpSize = true;
        if (/Kernel panic|Oops:|BUG:/.test(line)) {
          panic ||= line.trim();
          killGroup(c);
        }
        o.onConsole?.(line);
      }
    };
    c.stdout!.on('data', onData);
    c.stderr!.on('data', onData);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(c);
      }, o.timeoutMs);
      c.on('error', (e) => {
        clearTimeout(timer);
        reject(new UmlError(`cannot start ${o.kernel.path}: ${e.message}`));
      });
      c.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, timedOut });
      });
    });
    killGroup(c); // the guest's helper processes, should any have outlived it
    const wallSeconds = (performance.now() - t0) / 1000;
    const tail = () => consoleText.trim().split('\n').slice(-15).join('\n');
    const read = (f: string) => (existsSync(join(out, f)) ? readFileSync(join(out, f), 'utf8') : '');
    const status = read('status').split('\n').filter(Boolean);
    if (hostFpSize) {
      throw new UmlError(`the guest kernel (${o.kernel.provenance}) cannot run programs on this CPU: it keeps the host's FP/XSAVE registers in a fixed buffer smaller than this CPU's (AMX), so the host refuses them (\"${HOST_FP_REFUSED}\") and every guest program dies; build a kernel whose build probes the size with scripts/build-uml-kernel.sh 6.1 (or 6.12, or your source folder) and pass --uml PATH`, 'host-fp-size');
    }
    if (panic) throw new UmlError(`the guest kernel (${o.kernel.provenance}) panicked: ${panic}; console:\n${tail()}`);
    if (exit.timedOut) throw new UmlError(`the guest (${o.kernel.provenance}) did not finish within ${Math.round(o.timeoutMs / 1000)} s and was killed (last step: ${status.at(-1) ?? 'not booted'}); console:\n${tail()}`);
    if (!status.includes('booted')) throw new UmlError(`the guest (${o.kernel.provenance}) stopped before its init ran (exit ${exit.code ?? exit.signal}); is it a UML kernel with hostfs (CONFIG_HOSTFS)? console:\n${tail()}`);
    const missing = status.filter((l) => l.startsWith('missing ')).map((l) => l.slice('missing '.length));
    if (missing.length) {
      const failedModules = status.filter((l) => l.startsWith('modprobe-failed ')).map((l) => l.slice('modprobe-failed '.length));
      const how = o.kernel.packaged
        ? `the packaged modules did not load${failedModules.length ? ` (${failedModules.join(', ')}: ${read('modprobe.err').trim().split('\n').slice(-3).join('; ')})` : ''}; reinstall with apt-get install --reinstall -y user-mode-linux`
        : 'rebuild it with scripts/build-uml-kernel.sh (which builds these in)';
      throw new UmlError(`the guest kernel ${read('release').trim()} (${o.kernel.provenance}) lacks what the labs need: ${missing.join('; ')}; ${how}`);
    }
    const rc = read('rc').trim();
    if (rc === '') throw new UmlError(`the guest (${o.kernel.provenance}) stopped while ctsim ran (exit ${exit.code ?? exit.signal}); its stderr: ${read('stderr').trim().slice(-600)}; console:\n${tail()}`);
    const files = new Map<string, Buffer>();
    const walk = (rel: string) => {
      for (const e of readdirSync(join(out, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(p);
        else files.set(p, readFileSync(join(out, p)));
      }
    };
    walk('');
    return { release: read('release').trim(), exitCode: Number(rc), stdout: read('stdout'), stderr: read('stderr'), files, console: consoleText, wallSeconds };
  } finally {
    if (child) killGroup(child);
    release();
    rmSync(dir, { recursive: true, force: true });
  }
}
