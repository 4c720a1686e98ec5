// kernel-diff inside user-mode-linux guests. Without root the guest tests skip and say why; as
// root scripts/ensure-uml.sh (pretest) installs Debian's user-mode-linux. The bounded batch and
// both seed scenarios must agree in full with ctsim's profile for the guest's 6.1.y kernel.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_FP_REFUSED, UmlError, resolveUmlKernel, PACKAGED_UML } from '../../src/kerneldiff/uml/uml-kernel.js';
import { guestInitScript, guestPathOf, runInGuest, GUEST_REQUIREMENTS, GUEST_HOST_TMP } from '../../src/kerneldiff/uml/uml-guest.js';
// Labs this test runs go on Ctrl-C or at the worker's exit, as in the CLI (the library owns no signals).
import { cleanUpOnInterrupt } from '../../src/cli/process-guard.js';

cleanUpOnInterrupt();

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const MAIN = path.join(ROOT, 'dist/src/cli/main.js');
const isRoot = process.getuid?.() === 0;
const haveUml = existsSync(PACKAGED_UML);
const baseSkip = !isRoot ? 'not root (UML guests build network namespaces inside)' : !haveUml ? `${PACKAGED_UML} missing (apt-get install -y user-mode-linux)` : process.env.CTSIM_NO_NETNS === '1' ? 'CTSIM_NO_NETNS=1' : null;

/**
 * Whether Debian's packaged kernel can run a program on this CPU: before 6.13 UML keeps the host's
 * XSAVE registers in a fixed buffer, too small on AMX hosts (every guest program dies at once).
 */
function packagedRunsHere(): boolean {
  const dir = mkdtempSync(path.join(tmpdir(), `ctsim-${process.pid}-uml-probe-`));
  try {
    const r = spawnSync(PACKAGED_UML, ['mem=128M', 'rootfstype=hostfs', 'rootflags=/', 'ro', 'init=/bin/true', 'con=null', 'con0=fd:0,fd:1', `umid=ctsim-${process.pid}-probe`, `uml_dir=${dir}`], { encoding: 'utf8', input: '', timeout: 60_000 });
    return !`${r.stdout}${r.stderr}`.includes(HOST_FP_REFUSED);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where scripts/build-uml-kernel.sh (and ensure-uml.sh) put kernels. */
const UML_CACHE = process.env.CTSIM_UML_CACHE ?? '/var/cache/ctsim-uml';

/** A 6.1 kernel scripts/ensure-uml.sh built (with the host XSAVE size probed) when the packaged one cannot run here. */
function builtKernel61(): string | null {
  const cache = UML_CACHE;
  if (!existsSync(cache)) return null;
  const dir = readdirSync(cache).filter((d) => /^uml-6\.1[.-]/.test(d) && existsSync(path.join(cache, d, 'linux'))).sort().at(-1);
  return dir ? path.join(cache, dir) : null;
}

const packagedOk = baseSkip === null ? packagedRunsHere() : true;
/** The 6.1 guest kernel the runs below use: Debian's package (`--uml`), or the built one (`--uml=PATH`). */
const guestKernel = packagedOk ? null : builtKernel61();
const skipReason = baseSkip ?? (!packagedOk && !guestKernel ? `Debian's packaged UML kernel cannot run programs on this CPU (its XSAVE buffer is smaller than the host's: AMX) and no 6.1 kernel built by scripts/build-uml-kernel.sh 6.1 is in ${UML_CACHE} (scripts/ensure-uml.sh builds one as root with apt)` : null);
if (skipReason) process.stderr.write(`test/kerneldiff/uml.test.ts: skipping the UML guest runs: ${skipReason}\n`);
else if (guestKernel) process.stderr.write(`test/kerneldiff/uml.test.ts: Debian's packaged UML kernel cannot run programs on this CPU (AMX XSAVE size); the guest runs use ${guestKernel}\n`);
const umlArg = guestKernel ? `--uml=${guestKernel}` : '--uml';
const guest = () => resolveUmlKernel(guestKernel ?? undefined);

/** Scratch folders and UML processes of this test process (there must be none after each run). */
function leftovers(): string[] {
  const dirs = readdirSync(tmpdir()).filter((d) => d.startsWith(`ctsim-${process.pid}-uml-`));
  const procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return spawnSync('cat', [`/proc/${p}/cmdline`], { encoding: 'utf8' }).stdout.includes(`umid=ctsim-${process.pid}-`);
    } catch {
      return false;
    }
  });
  return [...dirs, ...procs.map((p) => `pid ${p}`)];
}

describe('UML kernels: bad input gets a clear error', () => {
  it('a missing kernel binary names how to build one or install the package', () => {
    expect(() => resolveUmlKernel('/nonexistent/linux')).toThrow(UmlError);
    expect(() => resolveUmlKernel('/nonexistent/linux')).toThrow(/scripts\/build-uml-kernel\.sh .*apt-get install -y user-mode-linux/);
  });

  it('a file that is not an ELF program is refused before anything boots', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ctsim-umlk-'));
    try {
      const f = path.join(dir, 'linux');
      writeFileSync(f, '#!/bin/sh\necho not a kernel\n');
      chmodSync(f, 0o755);
      expect(() => resolveUmlKernel(dir)).toThrow(/not a UML kernel binary/);
      writeFileSync(path.join(dir, 'build.json'), '{broken');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a ctsim checkout under the host\'s /tmp (a CI clone) stays reachable after the guest covers /tmp with a tmpfs', () => {
    const text = guestInitScript({ hostOut: '/tmp/o', seedFile: '/tmp/s', modulesDir: null, node: '/usr/bin/node', ctsim: '/tmp/clone/dist/src/cli/main.js', argv: ['kernel-diff'] });
    const hostTmp = text.indexOf(`mount -r -t hostfs -o /tmp hostfs ${GUEST_HOST_TMP}`);
    expect(hostTmp).toBeGreaterThan(0);
    expect(hostTmp).toBeLessThan(text.indexOf('mount -t tmpfs tmpfs /tmp'));
    expect(text).toContain(`'/usr/bin/node' '${GUEST_HOST_TMP}/clone/dist/src/cli/main.js' 'kernel-diff'`);
    const outside = guestInitScript({ hostOut: '/tmp/o', seedFile: '/tmp/s', modulesDir: null, node: '/usr/bin/node', ctsim: '/work/ctsim/dist/src/cli/main.js', argv: [] });
    expect(outside).not.toContain(GUEST_HOST_TMP);
    // A file ctsim reads under the host's /tmp (a user's case folder or scenario file) is named by
    // guestPathOf and mounts the host's /tmp too.
    expect(guestPathOf('/tmp/my-cases')).toBe(`${GUEST_HOST_TMP}/my-cases`);
    expect(guestPathOf('/work/my-cases')).toBe('/work/my-cases');
    const cases = guestInitScript({ hostOut: '/tmp/o', seedFile: '/tmp/s', modulesDir: null, node: '/usr/bin/node', ctsim: '/work/ctsim/dist/src/cli/main.js', argv: ['kernel-diff', '--cases', guestPathOf('/tmp/my-cases')] });
    expect(cases).toContain(`mount -r -t hostfs -o /tmp hostfs ${GUEST_HOST_TMP}`);
  });

  it('the guest init probes every facility the labs need and always powers off', () => {
    const text = guestInitScript({ hostOut: '/tmp/x y', seedFile: '/tmp/s', modulesDir: '/usr/lib/uml/modules/6.1.1', node: '/usr/bin/node', ctsim: '/opt/ctsim/main.js', argv: ['kernel-diff', "it's"] });
    for (const r of GUEST_REQUIREMENTS) expect(text).toContain(r.config);
    expect(text).toContain("'it'\\''s'");
    expect(text).toContain("-o '/tmp/x y' hostfs");
    expect(text.trim().endsWith('poweroff -f')).toBe(true);
  });
});

describe.skipIf(skipReason !== null)('kernel-diff inside user-mode-linux 6.1.y (Debian\'s package, or built from Debian\'s source where the package cannot run)', () => {
  it('a bounded batch (520 generated cases, mixed): every packet and final entry agrees', () => {
    const r = spawnSync(process.execPath, [MAIN, 'kernel-diff', umlArg, '--fuzz-count', '520', '--mode', 'mixed', '--seed', '4242', '--minimise', '0', '--json'], { encoding: 'utf8', timeout: 900_000 });
    const rep = JSON.parse(r.stdout) as { kernel: string; profile: string; cases: number; packets: number; packetAgreement: number; entryChecks: number; entryAgreement: number; packetDiffs: unknown[]; entryDiffs: unknown[] };
    expect(rep.kernel).toMatch(/^6\.1\./);
    expect(rep.profile).toBe(rep.kernel);
    expect([...rep.packetDiffs, ...rep.entryDiffs]).toEqual([]);
    expect(rep.cases).toBe(520);
    expect(rep.packets).toBeGreaterThan(6000);
    expect(rep.packetAgreement).toBe(rep.packets);
    expect(rep.entryAgreement).toBe(rep.entryChecks);
    expect(r.status).toBe(0);
    expect(leftovers()).toEqual([]);
  }, 900_000);

  it('a case folder under the host\'s /tmp is read inside the guest (whose own /tmp is a tmpfs)', () => {
    const dir = mkdtempSync('/tmp/ctsim-uml-cases-');
    try {
      copyFileSync(path.join(ROOT, 'test/kerneldiff/cases/rst-after-ignored-synack.pcap'), path.join(dir, 'one.pcap'));
      const r = spawnSync(process.execPath, [MAIN, 'kernel-diff', umlArg, '--cases', dir, '--minimise', '0', '--json'], { encoding: 'utf8', timeout: 600_000 });
      expect(r.stderr).not.toMatch(/not a readable folder/);
      const rep = JSON.parse(r.stdout) as { cases: number; packets: number; packetAgreement: number };
      expect(rep.cases).toBe(1);
      expect(rep.packets).toBe(4);
      expect(rep.packetAgreement).toBe(4);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(leftovers()).toEqual([]);
  }, 600_000);

  it("both seed scenarios and Istio's INVALID drop run for real inside the guest: the same packets, conntrack events and outcome (clock ISN half, EADDRNOTAVAIL) as ctsim", () => {
    const run = () => spawnSync(process.execPath, [MAIN, 'kernel-diff', umlArg, '--scenario', 'half-close-leak,port-collision,invalid-drop-mangle-prerouting', '--json'], { encoding: 'utf8', timeout: 900_000 });
    // A disagreeing guest run is run once more (a slow guest's programs can answer seconds late on
    // a loaded machine); the second is asserted, and a disagreement that is ctsim's repeats.
    let r = run();
    if (r.status !== 0) {
      process.stderr.write(`uml.test: the guest's scenarios disagreed once (exit ${r.status}: ${r.stderr.trim().split('\n').at(-1)}), running them again\n`);
      r = run();
    }
    if (r.stdout.trim() === '') {
      // No comparison at all: the guest or its lab failed (its typed error is on stderr). A guest
      // that the loaded machine starves is not a verdict on ctsim; anything else fails here.
      const last = r.stderr.trim().split('\n').at(-1) ?? '';
      expect(last, `kernel-diff printed no comparison (exit ${r.status}): ${r.stderr}`).toMatch(/^ctsim: (UmlError|LabError) /);
      console.log(`uml.test: seed scenarios not compared, the guest failed twice on this machine: ${last}`);
      return;
    }
    type Row = { status: string; packet?: string; kernel?: string | null; ctsim?: string | null; note?: string };
    const out = JSON.parse(r.stdout) as { agree: boolean; scenarios: Array<{ name: string; variant?: string; kernel: string; tooSlow: string | null; packets: Row[]; events: Row[]; outcome: Array<{ field: string; ctsim: string; kernel: string; agree: boolean }>; summary: { agree: boolean } }> };
    expect(out.scenarios.map((s) => s.variant)).toEqual(['half-close-leak', 'port-collision', 'invalid-drop-mangle-prerouting']);
    // A guest too slow to start the programs on time ran another scenario: not comparable, said so.
    const slow = out.scenarios.filter((s) => s.tooSlow);
    for (const s of slow) console.log(`uml.test: ${s.variant} not compared: ${s.tooSlow}`);
    if (slow.length) return;
    const results = (variant: string) => out.scenarios.find((s) => s.variant === variant)!.outcome.filter((o) => /^app: connect #\d+ .*result$/.test(o.field));
    // The reconnect 8 s after the first connect: the clock puts its ISN after the old sequence space,
    // so the RST lies before it and passes (another half would show as other packets: seq/ack are
    // relative to the nearest ISN below), and the reconnect connects on both sides.
    expect(results('port-collision').map((o) => [o.ctsim, o.kernel])).toEqual([['connected', 'connected'], ['connected', 'connected']]);
    // The LAST_ACK socket owns the 4-tuple: every connect() fails at once on the real 6.1 too.
    const dropped = results('invalid-drop-mangle-prerouting').slice(1);
    expect(dropped).toHaveLength(10);
    for (const o of dropped) expect(o).toMatchObject({ ctsim: 'EADDRNOTAVAIL', kernel: 'EADDRNOTAVAIL' });
    for (const s of out.scenarios) {
      expect(s.kernel).toMatch(/^6\.1\./);
      // Every packet and every conntrack event on both sides, in the same order per flow/entry.
      expect(s.packets.filter((p) => p.status === 'only-ctsim' || p.status === 'only-kernel').map((p) => `${s.name}: ${p.status} ${p.packet}`)).toEqual([]);
      expect(s.events.filter((e) => e.status === 'only-ctsim' || e.status === 'only-kernel').map((e) => `${s.name}: ${e.status} ${e.kernel ?? e.ctsim}`)).toEqual([]);
      // Outcome: the FIN's fate, the reconnect, SYN count, the invalid counter.
      expect(s.outcome.filter((o) => !o.agree && !o.field.endsWith('(s)')).map((o) => `${s.name}: ${o.field}: ctsim ${o.ctsim}, kernel ${o.kernel}`)).toEqual([]);
      // Timing agrees within the UML tolerance unless the machine is overloaded (a UML guest's
      // programs then answer late); the figures stay in the report, they are not asserted here.
      const late = [...s.packets, ...s.events].filter((x) => x.status === 'timing');
      if (late.length) process.stderr.write(`uml.test: ${s.name}: ${late.length} rows outside the timing tolerance on this (loaded?) machine\n`);
    }
  }, 1_800_000);

  it.runIf(!packagedOk)('Debian\'s packaged kernel on this CPU: a typed refusal that names the cause and the fix', async () => {
    const err = await runInGuest({ kernel: resolveUmlKernel(), argv: ['--version'], timeoutMs: 180_000, tag: 'fpsize' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(UmlError);
    expect((err as UmlError).failure).toBe('host-fp-size');
    expect((err as Error).message).toMatch(/cannot run programs on this CPU.*scripts\/build-uml-kernel\.sh 6\.1/);
    expect(leftovers()).toEqual([]);
  }, 200_000);

  it.runIf(packagedOk)('a guest kernel without netfilter support is refused with what it lacks and how to fix it', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'ctsim-nomods-'));
    try {
      const k = { ...resolveUmlKernel(), modulesDir: empty };
      const err = await runInGuest({ kernel: k, argv: ['--version'], timeoutMs: 180_000, tag: 'nomods' }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(UmlError);
      expect((err as Error).message).toMatch(/lacks what the labs need: .*CONFIG_NF_CONNTRACK/);
      expect((err as Error).message).toMatch(/apt-get install --reinstall -y user-mode-linux/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(leftovers()).toEqual([]);
  }, 200_000);

  it('a guest that does not finish in time is killed and leaves nothing behind', async () => {
    const err = await runInGuest({ kernel: guest(), argv: ['kernel-diff', '--fuzz-count', '5000'], timeoutMs: 8_000, tag: 'hang' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(UmlError);
    expect((err as Error).message).toMatch(/did not finish within 8 s and was killed/);
    expect(leftovers()).toEqual([]);
  }, 60_000);
});
