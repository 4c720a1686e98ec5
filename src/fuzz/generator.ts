// Case n of a run: its own PRNG (from run seed and n), then a structured conversation with
// mutations, or (blind mode) that conversation's bytes mutated blindly. `mixed` draws the mode
// per case. The kernel's timeouts shape the time gaps, nf_conntrack_max the number of flows.
import { resolveKernel } from '../conntrack/kernel-profile.js';
import { applySysctls, defaultSysctls, timeoutTableNs } from '../conntrack/sysctls.js';
import { blindMutate } from './blind.js';
import { caseSeed, type FuzzCase, type FuzzMode } from './case.js';
import { encodeDrafts } from './draft.js';
import { FuzzRng } from './rng.js';
import { structuredDrafts } from './structured.js';

export interface GeneratorOptions {
  kernel: string;
  sysctls: readonly string[];
  seed: number;
  mode: FuzzMode;
  /** Default 64. */
  maxPackets?: number;
  /** Default 1460. */
  maxPayload?: number;
}

export class CaseGenerator {
  readonly kernelName: string;
  private readonly timeouts: Float64Array;
  private readonly conntrackMax: number;

  /** Resolves kernel and sysctls once (a ConfigError here means bad options). */
  constructor(readonly opts: GeneratorOptions) {
    const profile = resolveKernel(opts.kernel);
    const values = applySysctls(defaultSysctls(profile.behaviour), opts.sysctls, profile.behaviour, profile.name);
    this.kernelName = profile.name;
    this.timeouts = timeoutTableNs(values);
    this.conntrackMax = values.nf_conntrack_max;
  }

  generate(index: number): FuzzCase {
    const o = this.opts;
    const rng = new FuzzRng(caseSeed(o.seed, index));
    const mode = o.mode === 'mixed' ? (rng.chance(0.5) ? 'structured' : 'blind') : o.mode;
    const maxPackets = o.maxPackets ?? 64;
    const { drafts, tags } = structuredDrafts(rng, {
      timeouts: this.timeouts, maxPayload: o.maxPayload ?? 1460, maxPackets, conntrackMax: this.conntrackMax,
    });
    let packets = encodeDrafts(drafts);
    if (mode === 'blind') {
      const r = blindMutate(rng, packets, rng.small(1, 12));
      packets = r.packets.slice(0, maxPackets);
      tags.push(...r.tags);
    }
    return { kernel: this.kernelName, sysctls: o.sysctls.slice(), seed: o.seed, index, mode, packets, tags };
  }
}
