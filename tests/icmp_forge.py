"""A forged ICMP "port unreachable" quoting a UDP datagram between two ports on 127.0.0.1,
as anyone on the LAN can send one (a raw socket: root). Connected UDP sockets take such
errors as the refusal of their next send (tests/redteam/test_edge_lan_red.py,
tests/test_cue_socket.py)."""

from __future__ import annotations

import socket
import struct


def port_unreachable(src_port: int, dst_port: int) -> bytes:
    """The ICMP message a machine sends back when a datagram src_port -> dst_port (both on
    127.0.0.1) found no socket: what the kernel matches to the sending socket."""
    udp = struct.pack(">HHHH", src_port, dst_port, 12, 0) + b"\0" * 4
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))
    body = struct.pack(">BBHI", 3, 3, 0, 0) + ip + udp
    total = sum(struct.unpack(f">{len(body) // 2}H", body))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return body[:2] + struct.pack(">H", ~total & 0xFFFF) + body[4:]
