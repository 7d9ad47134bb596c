"""Sensor-board firmware (MicroPython, RP2040 e.g. Raspberry Pi Pico, or ESP32-S3 USB):
a MAX30102 on I2C and/or an AD8232 ECG front end (OUTPUT on an ADC pin, LO+/LO- on two
inputs) and, optionally, a GSR front end on an ADC pin and a LIS3DH accelerometer on the
same I2C bus; protocol frames on USB serial. Flashing and wiring: docs/sensors.md.
Copy protocol.py, max30102.py, ad8232.py, gsr.py, lis3dh.py, board.py, main.py to the
board's filesystem."""

import select
import sys
import time

import machine

import protocol
from ad8232 import AD8232
from board import Board
from gsr import GSR
from lis3dh import LIS3DH, AccelError
from max30102 import MAX30102, SensorError

I2C_ID, SDA, SCL = 0, 4, 5  # Pico: GP4/GP5; ESP32: change to your wiring
FS_HZ = 100
GSR_ADC_PIN = 26  # Pico: GP26/ADC0; None if no GSR front end is fitted
GSR_FS_HZ = 16
ACC_FS_HZ = 50  # None if no accelerometer is fitted (a missing one is skipped, not fatal)
# An AD8232: OUTPUT to ECG_ADC_PIN (Pico GP27/ADC1), LO+ and LO- to two inputs. None if not
# fitted (floating pins would read as an ECG with random leads off).
ECG_ADC_PIN, ECG_LO_PLUS, ECG_LO_MINUS = None, 14, 15
ECG_FS_HZ = 250
ECG_TIMER_ID = -1  # Pico: a virtual timer; ESP32: a hardware one, 0


def ecg_front_end():
    if ECG_ADC_PIN is None:
        return None
    return AD8232(machine.ADC(machine.Pin(ECG_ADC_PIN)),
                  machine.Pin(ECG_LO_PLUS, machine.Pin.IN),
                  machine.Pin(ECG_LO_MINUS, machine.Pin.IN),
                  machine.Timer(ECG_TIMER_ID), fs_hz=ECG_FS_HZ)


class Clock:
    """Board microseconds that wrap at 2**32 like the protocol, not at ticks_us's 2**30."""

    def __init__(self):
        self.last, self.us = time.ticks_us(), 0

    def __call__(self):
        t = time.ticks_us()
        self.us = (self.us + time.ticks_diff(t, self.last)) & 0xFFFFFFFF
        self.last = t
        return self.us


def from_host(poll, into):
    """What the host wrote since the last turn (a HELLO request), never waiting for it."""
    data = b""
    while len(data) < 64 and poll.poll(0):
        data += into.read(1)
    return data


def run():
    out = sys.stdout.buffer
    host = select.poll()
    host.register(sys.stdin, select.POLLIN)
    clock = Clock()
    board_id = int.from_bytes(machine.unique_id()[-4:], "little")
    i2c = machine.I2C(I2C_ID, sda=machine.Pin(SDA), scl=machine.Pin(SCL), freq=400000)
    ecg = ecg_front_end()
    try:
        sensor = MAX30102(i2c, fs_hz=FS_HZ)
    except SensorError as e:
        sensor = None  # an ECG board needs no PPG
        while ecg is None:  # tell the host why, once a second, rather than go silent
            out.write(protocol.status(0, clock(), 0, protocol.BATTERY_UNKNOWN, 1, str(e)))
            time.sleep(1)
    gsr = GSR(machine.ADC(machine.Pin(GSR_ADC_PIN)), GSR_FS_HZ) if GSR_ADC_PIN is not None \
        else None
    acc = None
    if ACC_FS_HZ is not None:
        try:
            acc = LIS3DH(i2c, fs_hz=ACC_FS_HZ)
        except AccelError:  # the pulse still works without it; the edge sees no motion
            acc = None
    board = Board(sensor, out.write, clock, board_id, gsr=gsr, acc=acc, ecg=ecg)
    board.boot()
    while True:
        board.heard(from_host(host, sys.stdin.buffer))
        board.step()
        time.sleep_ms(20)


run()
