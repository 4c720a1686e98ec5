// An Envoy-like proxy process of a scenario: src/proxy/tcp-proxy.ts with the file's options, its
// typed events recorded as program facts and its sockets as the process's own.
import { TcpProxy } from '../../proxy/tcp-proxy.js';
import type { ProcessSpec } from '../file/spec.js';
import type { TcpSocket } from '../../stack/tcp/tcp-socket.js';
import type { EngineContext } from './context.js';

type ProxySpec = Extract<ProcessSpec, { kind: 'proxy' }>;

export class ProxyProcess {
  readonly proxy: TcpProxy;

  constructor(ctx: EngineContext, readonly spec: ProxySpec) {
    const host = ctx.host(spec.host);
    const owned = new Set<TcpSocket>();
    /** When each connection was accepted (its upstream socket is as old). */
    const opened = new Map<number, number>();
    this.proxy = new TcpProxy(host, {
      listenPort: spec.listenPort, uid: spec.uid, gid: spec.gid, idleTimeoutNs: spec.idleTimeoutNs, connectTimeoutNs: spec.connectTimeoutNs,
      upstream: spec.upstream === 'original-destination' ? undefined : spec.upstream, halfClose: spec.halfClose, source: spec.source || undefined,
      onEvent: (e) => {
        ctx.events.push({ ...e, t: ctx.now, process: spec.name });
        // The connection's sockets are the process's from the moment it reports them.
        const c = this.proxy.connections.find((x) => x.id === e.conn);
        if (!opened.has(e.conn)) opened.set(e.conn, ctx.now);
        for (const [s, label] of [[c?.downstream, 'downstream'], [c?.upstream, 'upstream']] as const) {
          if (!s || owned.has(s)) continue;
          owned.add(s);
          ctx.own(spec.name, spec.host, s, `C${e.conn} ${label}`, opened.get(e.conn));
        }
      },
    });
    ctx.own(spec.name, spec.host, this.proxy.listener, 'listen');
  }
}
