// Public face of the wire layer: bytes <-> headers.
export * from './wire-error.js';
export * from './bytes.js';
export * from './checksum.js';
export * from './seq.js';
export * from './ipv4-address.js';
export * from './ipv4.js';
export * from './tcp-options.js';
export * from './tcp.js';
export * from './ipv4-tcp.js';
export * from './ethernet.js';
export * from './linux-sll.js';
export * from './link-type.js';
export * from './link-layer.js';
export * from './ipv4-endpoints.js';
export * from './tuple-rewrite.js';
export * from './packet-view.js';
export * from './header-layout.js';
