"""ESP32 firmware variant: the MAX30102 board as a standard BLE heart-rate strap (0x180D),
so it works with any HR app and with `ble://` on the edge unit. MicroPython + aioble
(`mip install aioble`). Copy hrs.py, beats.py, max30102.py, ble_hrs.py; run `import ble_hrs`."""

import asyncio
import time

import aioble
import bluetooth
import machine

import hrs
from beats import BeatDetector
from max30102 import MAX30102

FS_HZ = 100
CONTACT_LEVEL = 50000

hr_service = aioble.Service(bluetooth.UUID(hrs.SERVICE))
measurement = aioble.Characteristic(hr_service, bluetooth.UUID(hrs.MEASUREMENT), notify=True)
location = aioble.Characteristic(hr_service, bluetooth.UUID(hrs.BODY_LOCATION), read=True)
bat_service = aioble.Service(bluetooth.UUID(hrs.BATTERY_SERVICE))
battery = aioble.Characteristic(bat_service, bluetooth.UUID(hrs.BATTERY_LEVEL), read=True,
                                notify=True)
aioble.register_services(hr_service, bat_service)
location.write(bytes((hrs.LOCATIONS.index("finger"),)))
battery.write(bytes((100,)))


async def sense(sensor):
    det, rrs, level, last_send = BeatDetector(FS_HZ), [], 0, time.ticks_ms()
    while True:
        for x in sensor.read():
            level = x
            rr = det.add(x)
            if rr:
                rrs.append(rr * 1024 // 1000)
        if time.ticks_diff(time.ticks_ms(), last_send) >= 1000:
            last_send = time.ticks_ms()
            hr = 60 * 1024 * len(rrs) // sum(rrs) if rrs else 0
            measurement.write(hrs.measurement_encode(hr, rrs[-9:], contact=level > CONTACT_LEVEL),
                              send_update=True)
            rrs = []
        await asyncio.sleep_ms(20)


async def advertise():
    while True:
        async with await aioble.advertise(250_000, name="EE-HR", services=[
                bluetooth.UUID(hrs.SERVICE)], appearance=0x0341) as conn:  # 0x0341: HR belt
            await conn.disconnected(timeout_ms=None)


async def main():
    i2c = machine.I2C(0, sda=machine.Pin(21), scl=machine.Pin(22), freq=400000)
    await asyncio.gather(sense(MAX30102(i2c, fs_hz=FS_HZ)), advertise())


asyncio.run(main())
