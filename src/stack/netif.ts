// A network interface of an emulated host: a name, an IPv4 address and prefix, and where its
// transmitted packets go (a link provided by the simulator, or the host's own loopback).

export interface NetIf {
  name: string;
  addr: number;
  prefixLen: number;
  loopback: boolean;
  /** Set by whoever connects the interface (src/sim links); unset = cable unplugged (drop). */
  transmit?: (bytes: Uint8Array, notes: string[]) => void;
}

export interface Route {
  prefix: number;
  prefixLen: number;
  dev: string;
  /** Next hop; undefined for a connected route. */
  via?: number;
}
