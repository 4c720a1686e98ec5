// A topology: hosts on one simulator, cables between them, capture taps and one event timeline.
import { Host, type HostEvent, type HostOptions } from '../stack/host.js';
import { DEFAULT_HZ, bootKernel, type KernelBoot } from '../stack/kernel-clock.js';
import type { ByteSink } from '../pcap/index.js';
import { CaptureRecorder } from './capture.js';
import { Link, type LinkOptions } from './link.js';
import { Simulator } from './simulator.js';

export class Network {
  readonly sim: Simulator;
  readonly hosts = new Map<string, Host>();
  readonly links: Link[] = [];
  readonly timeline: HostEvent[] = [];
  recorder: CaptureRecorder | null = null;

  constructor(seed = 1) {
    this.sim = new Simulator(seed);
  }

  /**
   * Hosts are network namespaces of one kernel per HZ: they share its clocks (jiffies, so timers
   * armed alike fire on the same tick) and its boot secrets (ISN and timestamp-offset keys).
   */
  private readonly kernels = new Map<number, KernelBoot>();

  addHost(o: Omit<HostOptions, 'sched' | 'onEvent' | 'onTap'>): Host {
    const hz = o.hz ?? DEFAULT_HZ;
    let boot = o.boot ?? this.kernels.get(hz);
    if (!boot) this.kernels.set(hz, (boot = bootKernel(this.sim, hz)));
    const h = new Host({
      ...o,
      boot,
      sched: this.sim,
      onEvent: (e) => this.timeline.push(e),
      onTap: (t) => this.recorder?.tap(t),
    });
    this.hosts.set(h.name, h);
    return h;
  }

  connect(a: Host, aIf: string, b: Host, bIf: string, opts?: LinkOptions): Link {
    const l = new Link(this.sim, { host: a, iface: aIf }, { host: b, iface: bIf }, opts);
    this.links.push(l);
    return l;
  }

  /** Starts recording every interface of every host into one pcapng. */
  capture(sink: ByteSink | string, application = 'ctsim'): CaptureRecorder {
    this.recorder = new CaptureRecorder(this.sim, sink, application);
    for (const h of this.hosts.values()) {
      for (const i of h.interfaces.values()) this.recorder.declare(h.name, i.name, `${h.name} ${i.name}${i.loopback ? ' (loopback)' : ''}`);
    }
    return this.recorder;
  }

  /** Adds an application-level event to the timeline. */
  note(host: string, text: string): void {
    this.timeline.push({ timeNs: this.sim.now, host, kind: 'app', text });
  }

  runUntil(tNs: number): void {
    this.sim.runUntil(tNs);
  }

  close(): void {
    this.recorder?.close();
  }
}
