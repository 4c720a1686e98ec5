// What the scenario's emulated programs share while a run goes on: the network, the clock, the
// record of every program fact and of every socket a program holds (for outcomes, leaks and the
// ladder's lanes).
import type { Network } from '../../sim/network.js';
import type { Host } from '../../stack/host.js';
import type { TcpSocket } from '../../stack/tcp/tcp-socket.js';
import { formatProgramFact, type ProgramEvent, type ProgramFact } from './program-events.js';

/** A socket some process of the scenario holds (its own, accepted, or proxied). */
export interface OwnedSocket {
  process: string;
  host: string;
  socket: TcpSocket;
  /** When the process got it (ns). */
  since: number;
  /** The app's name for it ("s1"), the listener's/proxy's connection number, or "listen". */
  label: string;
}

export class EngineContext {
  readonly events: ProgramEvent[] = [];
  readonly sockets: OwnedSocket[] = [];

  constructor(readonly net: Network) {}

  get now(): number {
    return this.net.sim.now;
  }

  host(name: string): Host {
    const h = this.net.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Records a program fact and puts its text on the timeline. */
  emit(process: string, host: string, fact: ProgramFact): void {
    this.events.push({ ...fact, t: this.now, process });
    this.net.note(host, `${process}: ${formatProgramFact(fact)}`);
  }

  own(process: string, host: string, socket: TcpSocket, label: string, since = this.now): void {
    this.sockets.push({ process, host, socket, since, label });
  }
}
