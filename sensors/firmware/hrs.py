"""Bluetooth Heart Rate Service (0x180D) values, shared by the ESP32 firmware (encode) and
the host's BLE driver (parse). Runs under MicroPython and CPython.

Heart Rate Measurement (0x2A37), little-endian:
    flags u8: bit0 HR is u16 (else u8), bit1 contact detected, bit2 contact supported,
              bit3 energy expended present, bit4 RR intervals present
    heart rate u8 | u16 (bpm), [energy expended u16 (kJ)], [RR u16 x n (1/1024 s)]
"""

import struct

SERVICE = 0x180D
MEASUREMENT = 0x2A37
BODY_LOCATION = 0x2A38
BATTERY_SERVICE = 0x180F
BATTERY_LEVEL = 0x2A19
HR_U16 = 0x01
CONTACT_DETECTED = 0x02
CONTACT_SUPPORTED = 0x04
ENERGY = 0x08
RR = 0x10
LOCATIONS = ("other", "chest", "wrist", "finger", "hand", "ear lobe", "foot")


def measurement_encode(hr_bpm, rr_1024=(), contact=None, energy_kj=None, wide=None):
    """contact: None = not supported, True/False = detected. wide: force the u16 HR field."""
    flags = 0
    if wide or (wide is None and hr_bpm > 255):
        flags |= HR_U16
    if contact is not None:
        flags |= CONTACT_SUPPORTED | (CONTACT_DETECTED if contact else 0)
    if energy_kj is not None:
        flags |= ENERGY
    if rr_1024:
        flags |= RR
    out = bytearray((flags,))
    out += struct.pack("<H" if flags & HR_U16 else "<B", hr_bpm)
    if energy_kj is not None:
        out += struct.pack("<H", energy_kj)
    for rr in rr_1024:
        out += struct.pack("<H", rr)
    return bytes(out)


def measurement_parse(data):
    """dict(hr_bpm, contact (None = not supported), energy_kj (None), rr_1024 list).
    Raises ValueError on a value too short for its own flags."""
    if len(data) < 2:
        raise ValueError("heart rate measurement shorter than 2 bytes")
    flags, i = data[0], 1
    if flags & HR_U16:
        if len(data) < 3:
            raise ValueError("flags say 16-bit heart rate but only 1 byte follows")
        hr = struct.unpack_from("<H", data, 1)[0]
        i = 3
    else:
        hr, i = data[1], 2
    energy = None
    if flags & ENERGY:
        if len(data) < i + 2:
            raise ValueError("flags say energy expended but it is missing")
        energy = struct.unpack_from("<H", data, i)[0]
        i += 2
    rr = []
    if flags & RR:
        if (len(data) - i) % 2:
            raise ValueError("odd number of bytes in the RR intervals")
        rr = [struct.unpack_from("<H", data, j)[0] for j in range(i, len(data), 2)]
    contact = bool(flags & CONTACT_DETECTED) if flags & CONTACT_SUPPORTED else None
    return {"hr_bpm": hr, "contact": contact, "energy_kj": energy, "rr_1024": rr}
