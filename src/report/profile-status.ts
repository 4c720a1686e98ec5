// A profile's verification status as a report shows it: the `ctsim kernels` data, in one line.
import { loadRecords, profileStatuses } from '../kerneldiff/verification.js';
import type { ReportProfile } from './report-types.js';

/** The status of kernel profile `name` (as resolveKernel names it), labelled `label`. */
export function reportProfile(name: string, label: string = name): ReportProfile {
  let statuses;
  try {
    statuses = profileStatuses(loadRecords());
  } catch (e) {
    return { label, status: 'modelled', evidence: `verification records unreadable: ${(e as Error).message}` };
  }
  const s = statuses.find((x) => x.profile === name);
  if (!s) return { label, status: 'modelled', evidence: 'modelled from the kernel-change records (no verification run names this profile)' };
  if (s.status === 'verified') {
    const kernels = [...new Set(s.verifiedBy.map((r) => r.kernel))];
    const cases = s.verifiedBy.reduce((n, r) => n + (r.kind === 'batch' ? r.cases : 0), 0);
    return { label, status: 'verified', evidence: `agrees with real ${kernels.join(', ')} (${cases.toLocaleString('en-US')} cases${s.disagreedBy.length ? `; ${s.disagreedBy.length} run(s) disagreed` : ''})` };
  }
  return { label, status: 'modelled', evidence: `${s.evidence}${s.sameSwitchesAs.length ? `; same switches as verified ${s.sameSwitchesAs.join(', ')}` : ''}` };
}
