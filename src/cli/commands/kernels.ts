// `ctsim kernels`: every kernel profile and how far to trust it: verified against which real
// kernel (cases, packets, entries, scenarios that agreed, and when), or modelled from which
// kernel-change records. The status is data (src/kerneldiff/verification-records.json) written by
// `kernel-diff --record` runs, never prose.
import type { CommandModule } from 'yargs';
import { loadRecords, profileStatuses, type ProfileStatus, type VerificationRecord } from '../../kerneldiff/verification.js';

function describeRecord(r: VerificationRecord): string {
  const day = r.recordedAt.slice(0, 10);
  if (r.kind === 'batch') {
    const src = r.source.kind === 'fuzz' ? `${r.source.mode} fuzz seed ${r.source.seed}` : r.source.kind;
    return `real ${r.kernel}: ${r.cases} cases (${src}${r.sysctls.length ? `, ${r.sysctls.join(' ')}` : ''}), packets ${r.packetAgreement}/${r.packets}, entries ${r.entryAgreement}/${r.entryChecks}, timeouts ${r.timeoutAgreement}/${r.timeoutChecks}, ${day}`;
  }
  return `real ${r.kernel}: scenario ${r.scenario}, packets ${r.packetsMatched}/${r.packetsCtsim}, conntrack events ${r.eventsMatched}/${r.eventsCtsim}, outcome ${r.outcomeAgree ? 'agrees' : 'differs'}, ${day}`;
}

export function formatStatuses(list: readonly ProfileStatus[], verbose: boolean): string[] {
  const lines: string[] = [];
  for (const s of list) {
    const head = `${s.profile.padEnd(14)} ${s.status === 'verified' ? 'VERIFIED' : 'modelled'}`;
    if (s.status === 'verified') {
      const kernels = [...new Set(s.verifiedBy.map((r) => r.kernel))];
      lines.push(`${head}  against real ${kernels.join(', ')}`);
      lines.push(`${''.padEnd(25)}carries: ${s.changes.length ? s.changes.join(', ') : 'no change records (the 4.19 baseline)'}`);
      const shown = verbose ? s.verifiedBy : s.verifiedBy.slice(0, 3);
      for (const r of shown) lines.push(`${''.padEnd(25)}${describeRecord(r)}`);
      if (!verbose && s.verifiedBy.length > shown.length) lines.push(`${''.padEnd(25)}(+${s.verifiedBy.length - shown.length} more runs; --verbose)`);
      if (verbose) for (const src of new Set(s.verifiedBy.map((r) => r.kernelSource))) lines.push(`${''.padEnd(25)}kernel from: ${src}`);
    } else {
      lines.push(`${head}  from source reading: ${s.evidence}`);
      if (s.sameSwitchesAs.length) lines.push(`${''.padEnd(25)}same behaviour switches as verified ${s.sameSwitchesAs.join(', ')}`);
    }
    for (const r of verbose ? s.disagreedBy : s.disagreedBy.slice(0, 1)) lines.push(`${''.padEnd(25)}DISAGREED: ${describeRecord(r)}`);
  }
  return lines;
}

/** One line per verified profile, for `ctsim --help`. */
export function helpEpilogue(): string {
  try {
    const list = profileStatuses(loadRecords());
    const v = list.filter((s) => s.status === 'verified').map((s) => `${s.profile} (real ${[...new Set(s.verifiedBy.map((r) => r.kernel))].join(', ')})`);
    return `Kernel profiles verified against real kernels: ${v.length ? v.join(', ') : 'none yet'}; every other profile is modelled from kernel source (ctsim kernels shows each one's status).`;
  } catch (e) {
    return `Kernel profile status unavailable: ${(e as Error).message}`;
  }
}

export const kernelsCommand: CommandModule<object, { json?: boolean; verbose?: boolean }> = {
  command: 'kernels',
  describe: 'List every kernel profile with its verification status: verified against which real kernels (from kernel-diff --record runs) or modelled from which kernel changes',
  builder: (y) => y.option('json', { type: 'boolean' }).option('verbose', { type: 'boolean', alias: 'v', describe: 'every run and where each kernel came from' })
    .example('$0 kernels', 'every profile and its verification status')
    .example('$0 kernels --verbose --json', 'every run, as JSON') as never,
  handler: (a) => {
    const list = profileStatuses(loadRecords());
    process.stdout.write(a.json ? `${JSON.stringify(list, null, 2)}\n` : `${formatStatuses(list, a.verbose === true).join('\n')}\n`);
  },
};
