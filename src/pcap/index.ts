// Public API of the capture-file module: pcap/pcapng writers, the streaming reader, sinks.
export { CaptureError } from './capture-error.js';
export type { CaptureErrorKind } from './capture-error.js';
export type { CaptureFormat, CaptureInterface, CaptureRecord, CaptureSection, PacketDirection } from './capture-types.js';
export { FileSink, MemorySink } from './byte-sink.js';
export type { ByteSink } from './byte-sink.js';
export { PcapWriter } from './pcap-writer.js';
export type { PcapWriterOptions } from './pcap-writer.js';
export { PcapngWriter } from './pcapng-writer.js';
export type { PcapngInterfaceOptions, PcapngPacket, PcapngWriterOptions } from './pcapng-writer.js';
export { CaptureDecoder, DEFAULT_CHUNK_SIZE, readCaptureBytes, readCaptureFile, readCaptureStream } from './capture-reader.js';
export type { CaptureFileOptions, CaptureReadOptions } from './capture-reader.js';
export { MAX_BLOCK_BYTES, MAX_PACKET_BYTES } from './pcap-format.js';
export { CaptureCopier, fitOption } from './capture-copy.js';
