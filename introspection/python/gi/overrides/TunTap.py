# SPDX-License-Identifier: LGPL-2.1-or-later
"""PyGObject overrides for TunTap-1.0.

Device.send_bytes() and Device.send_many_bytes() take what a Python program
has in hand: a GLib.Bytes (what ::packet-received and ::packets-received
give) or any bytes-like object (bytes, bytearray, memoryview,
array.array...). PyGObject 3.42 does not turn bytes into a GLib.Bytes by
itself, so without this send_bytes(b"...") raised TypeError.

PyGObject finds this module through gi.overrides.__path__, which is
extended over every sys.path entry with a gi/overrides directory: from the
build tree `meson devenv` (or PYTHONPATH=<source>/introspection/python)
puts it there; installed, it lives in the interpreter's site directory.
"""

from gi.repository import GLib

from ..module import get_introspection_module
from ..overrides import override

TunTap = get_introspection_module("TunTap")

__all__ = []


def _flat(method, packets):
    """packets as bytes, for a bytes-like object; TypeError otherwise."""
    try:
        data = memoryview(packets)
    except TypeError:
        raise TypeError(f"{method}() takes a GLib.Bytes or a bytes-like object "
                        f"(bytes, bytearray, memoryview), not {type(packets).__name__}") \
            from None
    # Taken as it is (no GLib.Bytes, no second copy for bytes); other
    # buffers are flattened to bytes once.
    return packets if isinstance(packets, bytes) else data.tobytes()


class Device(TunTap.Device):
    def send_bytes(self, packet):
        """Sends one packet: a GLib.Bytes or a bytes-like object.

        Raises GLib.Error as TunTap.Device.send() does, and TypeError for
        anything that is not bytes-like (a str must be encoded first).
        """
        if packet is None or isinstance(packet, GLib.Bytes):
            return super().send_bytes(packet)
        return self.send(_flat("send_bytes", packet))

    def send_many_bytes(self, packets, lengths):
        """Sends packets stored back to back: a GLib.Bytes (such as a batch
        of ::packets-received or a slice of one, passed on without a copy)
        or a bytes-like object. Returns the number sent, as send_many()."""
        if packets is None or isinstance(packets, GLib.Bytes):
            return super().send_many_bytes(packets, lengths)
        return self.send_many(_flat("send_many_bytes", packets), lengths)


Device = override(Device)
__all__.append("Device")
