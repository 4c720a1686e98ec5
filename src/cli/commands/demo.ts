import type { CommandModule } from 'yargs';
import { FileSink, PcapngWriter } from '../../pcap/index.js';
import { LinkType } from '../../wire/index.js';
import { demoHandshake, type DemoPacket } from '../../scenarios/demo-handshake.js';
import { challengeAckReuseCapture } from '../../scenarios/reuse-capture.js';

interface DemoArgs {
  out: string;
  reuseOut: string;
}

function write(path: string, app: string, ifaceName: string, description: string, packets: DemoPacket[]): void {
  const w = new PcapngWriter(new FileSink(path), { application: app });
  try {
    const iface = w.addInterface({ linkType: LinkType.RAW, name: ifaceName, description });
    for (const p of packets) w.writePacket({ interfaceId: iface, timestampNs: p.timeNs, data: p.bytes, comment: p.comment, direction: p.direction });
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
  process.stdout.write(`wrote ${packets.length} packets to ${path}\n`);
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Write two annotated example captures: a clean TCP conversation, and the port-collision challenge-ACK/RST sequence for `ctsim replay`',
  builder: (y) => y
    .option('out', { type: 'string', default: 'pcaps/demo.pcapng', describe: 'clean conversation (pcapng)' })
    .option('reuse-out', { type: 'string', default: 'pcaps/challenge-ack-reuse.pcapng', describe: 'connection-reuse capture (pcapng)' })
    .example('$0 demo', 'pcaps/demo.pcapng and pcaps/challenge-ack-reuse.pcapng')
    .example('$0 demo --reuse-out /tmp/reuse.pcapng', 'the reuse capture elsewhere') as never,
  handler: (args) => {
    write(args.out, 'ctsim demo', 'demo/eth0', 'client side of a demo TCP conversation', demoHandshake());
    write(args.reuseOut, 'ctsim demo', 'app/eth0', 'app host: port reuse meets a leaked FIN_WAIT2 socket', challengeAckReuseCapture());
  },
};
