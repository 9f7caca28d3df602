#!/usr/bin/env python3
"""Counts the monitoring traffic crossing one interface for a number of seconds, frame
bytes as the interface counters count them (Ethernet header on), both directions.

usage: sniff.py INTERFACE SECONDS

Prints one line: "stream mcast gmond gmond_values gmond_value_bytes":
  stream        bytes of TCP segments to or from ports 7011 and 7012 (the broker's
                metric stream: the monitors' samples, their ACKs);
  mcast         bytes of UDP datagrams to port 7020 (Maekin's monitors' group);
  gmond         bytes of UDP datagrams to port 8649 (Ganglia's gmond);
  gmond_values  how many of those carried a value (XDR message ids 129-135; 128 is
                metadata, 136 a request for it);
  gmond_value_bytes  the bytes of those.
Run on the interface of the node that holds the broker: every sample and ACK of the
stream crosses it once, and every datagram sent to a group arrives there (or leaves it).
"""
import socket
import struct
import sys
import time

STREAM_PORTS = (7011, 7012)
MCAST_PORT = 7020
GMOND_PORT = 8649
ETH_P_IP = 0x0800


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    interface, seconds = sys.argv[1], float(sys.argv[2])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sock.bind((interface, 0))
    sock.settimeout(0.5)
    stream = mcast = gmond = gmond_values = gmond_value_bytes = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            frame = sock.recv(65535)
        except socket.timeout:
            continue
        ip = frame[14:]
        if len(ip) < 20:
            continue
        proto, header = ip[9], (ip[0] & 15) * 4
        l4 = ip[header:]
        if len(l4) < 8:
            continue
        sport, dport = struct.unpack("!HH", l4[:4])
        if proto == 6 and (sport in STREAM_PORTS or dport in STREAM_PORTS):
            stream += len(frame)
        elif proto == 17 and dport == MCAST_PORT:
            mcast += len(frame)
        elif proto == 17 and dport == GMOND_PORT:
            gmond += len(frame)
            if len(l4) >= 12 and 129 <= struct.unpack("!I", l4[8:12])[0] <= 135:
                gmond_values += 1
                gmond_value_bytes += len(frame)
    print(stream, mcast, gmond, gmond_values, gmond_value_bytes)


if __name__ == "__main__":
    main()
