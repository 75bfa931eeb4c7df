"""Phones: how to reach them (a transport), who they are (properties, SoC, CPU clusters, thermal, battery).

Knows adb and Android; knows nothing of benchmarking (that is ``mobilesdk.bench``). The transport interface
(:class:`mobilesdk.device.transport.Transport`) is small — run a command, push, pull, read a file, properties —
so a device farm could be one more implementation later (docs/device-transport.md).
"""
