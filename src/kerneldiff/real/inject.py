#!/usr/bin/env python3
# A scenario's injector on the real kernel, as src/scenarios/engine/inject-process.ts: it watches the
# TCP packets its namespace sends (an AF_PACKET socket, outgoing only: after NAT, like the emulator's
# tap) to learn each flow's ISN, next sequence number, last ACK and window, and at the given times
# sends crafted segments on a flow through a raw socket (they pass the OUTPUT hooks like any local
# packet). --segments: JSON list of {t, from: [addr, port], to: [addr, port|null], seq: [base, n],
# ack: [base, n]|null, flags, bytes}.
import argparse
import heapq
import json
import select
import socket
import struct
import time

from common import log, start_clock

ETH_P_IP = 0x0800
ETH_P_ALL = 0x0003  # only ETH_P_ALL sockets see outgoing packets (dev_queue_xmit_nit walks ptype_all)
PACKET_OUTGOING = 4
SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Flows:
    def __init__(self):
        self.flows = {}  # key -> dict
        self.clock = 0

    def observe(self, pkt):
        if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != 6:
            return
        hl = (pkt[0] & 15) * 4
        total = struct.unpack_from("!H", pkt, 2)[0]
        t = pkt[hl:total]
        if len(t) < 20:
            return
        src, dst = socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20])
        sport, dport, seq, ack = struct.unpack_from("!HHII", t, 0)
        doff = (t[12] >> 4) * 4
        flags = t[13]
        win = struct.unpack_from("!H", t, 14)[0]
        plen = len(t) - doff
        end = (seq + plen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)) & 0xFFFFFFFF
        key = (src, sport, dst, dport)
        f = self.flows.get(key)
        self.clock += 1
        if f is None or flags & SYN:
            f = {"src": src, "sport": sport, "dst": dst, "dport": dport, "isn": seq if flags & SYN else None, "next": end, "acked": None, "window": win, "last": self.clock}
            self.flows.pop(key, None)
            self.flows[key] = f
        if not flags & RST and ((end - f["next"]) & 0xFFFFFFFF) < 0x80000000 and end != f["next"]:
            f["next"] = end
        if flags & ACK:
            f["acked"] = ack
        f["window"] = win
        f["last"] = self.clock

    def latest(self, src, sport, dst, dport):
        best = None
        for f in self.flows.values():
            if f["src"] != src or f["sport"] != sport or f["dst"] != dst or (dport is not None and f["dport"] != dport):
                continue
            if best is None or f["last"] >= best["last"]:
                best = f
        return best


def value(expr, f):
    base, n = expr
    b = 0 if base == "abs" else f.get(base)
    return None if b is None else (b + n) & 0xFFFFFFFF


def segment(f, seq, ack, flags, nbytes):
    payload = b"\0" * nbytes
    win = 0 if flags & RST else f["window"]
    tcp = struct.pack("!HHIIBBHHH", f["sport"], f["dport"], seq, ack if flags & ACK else 0, 5 << 4, flags, win, 0, 0) + payload
    pseudo = socket.inet_aton(f["src"]) + socket.inet_aton(f["dst"]) + struct.pack("!BBH", 0, 6, len(tcp))
    c = csum(pseudo + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    # IP id 0: the kernel fills it in (raw_send_hdrinc); the checksum it always computes.
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, socket.inet_aton(f["src"]), socket.inet_aton(f["dst"]))
    return ip + tcp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--t0", required=True, help="epoch time of time 0, or 'stdin' (read there after 'ready')")
    ap.add_argument("--segments", required=True)
    a = ap.parse_args()
    segs = json.loads(a.segments)
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    flows = Flows()
    queue = [(s["t"], i) for i, s in enumerate(segs)]
    heapq.heapify(queue)
    clock = start_clock(a.t0)
    while True:
        timeout = clock.until(queue[0][0]) if queue else None
        r, _, _ = select.select([sniff], [], [], timeout)
        if r:
            while True:
                try:
                    pkt, addr = sniff.recvfrom(65535, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING and addr[1] == ETH_P_IP:
                    flows.observe(pkt)
        while queue and clock.until(queue[0][0]) <= 0:
            _, i = heapq.heappop(queue)
            s = segs[i]
            to = f"{s['to'][0]}" + (f":{s['to'][1]}" if s["to"][1] is not None else "")
            flow = f"{s['from'][0]}:{s['from'][1]} > {to}"
            f = flows.latest(s["from"][0], s["from"][1], s["to"][0], s["to"][1])
            seq = value(s["seq"], f) if f else None
            ack = (value(s["ack"], f) if s["ack"] else (f["acked"] if s["flags"] & ACK else 0)) if f else None
            if f is None or seq is None or ack is None:
                log("no-flow", index=i, flow=flow)
                continue
            log("inject", index=i, flow=flow, seq=seq, ack=ack if s["flags"] & ACK else 0)
            raw.sendto(segment(f, seq, ack, s["flags"], s["bytes"]), (f["dst"], 0))


if __name__ == "__main__":
    main()
