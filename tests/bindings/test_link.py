#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Link configuration from Python: every call on TunTap.Device checked
# against what the kernel says (`ip -j link/addr/route show`), IPv4 and
# IPv6, TUN and TAP; the properties and signals that follow changes made by
# another program (`ip`); and the G_IO_ERROR code of every bad input.
# Only documentation addresses: 192.0.2.0/24, 198.51.100.0/24,
# 203.0.113.0/24 and 2001:db8::/32. Runs under `unshare -n`.

import json
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tuntaptest  # noqa: E402
from tuntaptest import GLib, Gio, GObject, TunTap, assert_io_error, ip  # noqa: E402

IOError = Gio.IOErrorEnum


def ip_json(*args):
    """`ip -j ARGS`, parsed."""
    return json.loads(ip("-j", *args) or "[]")


def kernel_link(name):
    """The kernel's view of link @name, from `ip -j link show`."""
    (link,) = ip_json("link", "show", "dev", name)
    return link


def kernel_addresses(name):
    """The addresses of @name as {(local, prefixlen, peer or None)}."""
    (link,) = ip_json("addr", "show", "dev", name)
    return {(a["local"], a["prefixlen"], a.get("address"))
            for a in link["addr_info"]}


def kernel_routes(name, family):
    """The main-table routes through @name, as {(dst, gateway or None)}."""
    return {(r["dst"], r.get("gateway"))
            for r in ip_json("-4" if family == 4 else "-6", "route", "show", "dev", name)}


def inet(text):
    return Gio.InetAddress.new_from_string(text)


def addr(text):
    """A TunTap.Address from its string form: "192.0.2.1/24",
    "192.0.2.1/32 peer 192.0.2.2"."""
    return TunTap.Address.new_from_string(text)


def as_tuple(address):
    """A TunTap.Address as kernel_addresses() writes one."""
    peer = address.get_peer()
    return (address.get_address().to_string(), address.get_prefix_length(),
            peer.to_string() if peer else None)


def device_addresses(device):
    """get_addresses() as {(local, prefixlen, peer or None)}, comparable
    with kernel_addresses()."""
    return {as_tuple(a) for a in device.get_addresses()}


def global_addresses(addresses):
    """The addresses that are not IPv6 link-local (those the kernel adds
    when the link comes up)."""
    return {a for a in addresses if not a[0].startswith("fe80:")}


def iterate(seconds=0):
    """Dispatches what is pending in the default main context, then keeps
    iterating it for @seconds more."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + seconds
    while True:
        while context.iteration(False):
            pass
        if time.monotonic() >= deadline:
            return
        time.sleep(0.01)


def wait_for(predicate, seconds=5):
    """Iterates the default main context until @predicate() is true;
    returns False if @seconds pass first."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + seconds
    # Wakes iteration(True) up regularly so the deadline is seen.
    ticker = GLib.timeout_source_new(20)
    ticker.set_callback(lambda *_: GLib.SOURCE_CONTINUE)
    ticker.attach(context)
    try:
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            context.iteration(True)
        return True
    finally:
        ticker.destroy()


class Recorder:
    """Records a device's notify::PROP emissions (with the value read in the
    handler), ::addresses-changed and ::closed.

    ::addresses-changed carries no detail; the library emits it once per
    real change of what get_addresses() returns (changes the kernel reports
    in one batch give one emission), never for a lifetime refresh."""

    PROPERTIES = ("up", "mtu", "carrier", "name", "ifindex", "hardware-address", "closed")

    def __init__(self, device):
        self.notified = []
        self.addresses_changed = 0
        self.closed = []
        for prop in self.PROPERTIES:
            device.connect(f"notify::{prop}", self._on_notify)
        device.connect("addresses-changed", self._on_addresses_changed)
        device.connect("closed", self._on_closed)

    def _on_notify(self, device, pspec):
        self.notified.append((pspec.name, device.get_property(pspec.name)))

    def _on_addresses_changed(self, device):
        self.addresses_changed += 1

    def _on_closed(self, device, error):
        self.closed.append(error)

    def values(self, prop):
        return [v for p, v in self.notified if p == prop]


class LinkTestCase(unittest.TestCase):
    """Each test gets a fresh device of mode MODE, deleted afterwards, and
    fails if GLib or the library logged a warning or a critical (a
    g_return_if_fail() hit, say) meanwhile."""

    MODE = None
    MAX_MTU = None
    LOG_DOMAINS = ("GLib", "GLib-GObject", "GLib-GIO", "TunTap")

    def setUp(self):
        self.logged = []
        levels = GLib.LogLevelFlags.LEVEL_WARNING | GLib.LogLevelFlags.LEVEL_CRITICAL
        self.log_handlers = [
            (domain, GLib.log_set_handler(domain, levels, self._on_log))
            for domain in self.LOG_DOMAINS]
        self.device = TunTap.Device.new(None, self.MODE)
        self.name = self.device.get_name()
        iterate()

    def _on_log(self, domain, level, message, *user_data):
        self.logged.append(f"{domain}: {message}")

    def tearDown(self):
        self.device.close()
        iterate()
        for domain, handler in self.log_handlers:
            GLib.log_remove_handler(domain, handler)
        self.assertEqual(self.logged, [], "warnings or criticals were logged")

    def assertError(self, code, fn, *args):
        with self.assertRaises(GLib.Error) as caught:
            fn(*args)
        assert_io_error(self, caught.exception, code)
        return caught.exception


class Calls:
    """Each call's effect, as the kernel sees it. Mixed into a TUN and a TAP
    TestCase."""

    def test_ifindex(self):
        ifindex = self.device.props.ifindex
        self.assertGreater(ifindex, 0)
        self.assertEqual(self.device.get_ifindex(), ifindex)
        self.assertEqual(kernel_link(self.name)["ifindex"], ifindex)

    def test_set_up(self):
        rec = Recorder(self.device)
        self.assertFalse(self.device.props.up)
        self.assertNotIn("UP", kernel_link(self.name)["flags"])

        self.assertTrue(self.device.set_up(True))
        self.assertIn("UP", kernel_link(self.name)["flags"])
        self.assertTrue(wait_for(lambda: rec.values("up") == [True]), rec.notified)
        self.assertTrue(self.device.props.up)
        self.assertTrue(self.device.get_up())
        iterate(0.1)
        self.assertEqual(rec.values("up"), [True], "one notify::up per change")

        self.assertTrue(self.device.set_up(False))
        self.assertNotIn("UP", kernel_link(self.name)["flags"])
        self.assertTrue(wait_for(lambda: rec.values("up") == [True, False]), rec.notified)
        self.assertFalse(self.device.props.up)

        # Asking for the state it is in already changes nothing.
        self.assertTrue(self.device.set_up(False))
        iterate(0.1)
        self.assertEqual(rec.values("up"), [True, False])

    def test_carrier(self):
        # The device's file descriptor is open: the kernel sees a carrier.
        self.assertTrue(self.device.props.carrier)
        self.assertTrue(self.device.get_carrier())
        self.device.set_up(True)
        link = kernel_link(self.name)
        self.assertNotIn("NO-CARRIER", link["flags"])
        self.assertIn("LOWER_UP", link["flags"])

        rec = Recorder(self.device)
        self.assertTrue(self.device.set_carrier(False))
        self.assertIn("NO-CARRIER", kernel_link(self.name)["flags"])
        self.assertTrue(wait_for(lambda: rec.values("carrier") == [False]), rec.notified)
        self.assertFalse(self.device.props.carrier)
        self.assertTrue(self.device.set_carrier(True))
        self.assertNotIn("NO-CARRIER", kernel_link(self.name)["flags"])
        self.assertTrue(wait_for(lambda: rec.values("carrier") == [False, True]), rec.notified)
        self.assertTrue(self.device.props.carrier)

    def test_set_mtu(self):
        rec = Recorder(self.device)
        self.assertEqual(self.device.props.mtu, kernel_link(self.name)["mtu"])

        for mtu in (1400, 68, self.MAX_MTU, 1500):
            self.assertTrue(self.device.set_mtu(mtu))
            self.assertEqual(kernel_link(self.name)["mtu"], mtu)
            self.assertTrue(wait_for(lambda: self.device.props.mtu == mtu), rec.notified)
            self.assertEqual(self.device.get_mtu(), mtu)
        iterate(0.1)
        self.assertEqual(rec.values("mtu"), [1400, 68, self.MAX_MTU, 1500])

    def test_set_mtu_out_of_range(self):
        self.device.set_mtu(1400)
        rec = Recorder(self.device)
        for mtu in (0, 67, self.MAX_MTU + 1, 70000):
            error = self.assertError(IOError.INVALID_ARGUMENT, self.device.set_mtu, mtu)
            self.assertIn(self.name, error.message)
            self.assertEqual(kernel_link(self.name)["mtu"], 1400)
        iterate(0.1)
        self.assertEqual(self.device.props.mtu, 1400)
        self.assertEqual(rec.values("mtu"), [])

    def test_mtu_below_1280_removes_ipv6(self):
        # As documented: IPv6 needs 1280, and the kernel drops its addresses.
        self.device.add_address_from_string("2001:db8::1/64", None)
        self.device.add_address_from_string("192.0.2.1/24", None)
        rec = Recorder(self.device)
        self.device.set_mtu(1279)
        self.assertTrue(wait_for(lambda: rec.addresses_changed > 0))
        self.assertEqual(kernel_addresses(self.name), {("192.0.2.1", 24, None)})
        self.assertEqual(device_addresses(self.device), {("192.0.2.1", 24, None)})
        self.device.set_mtu(1500)
        self.assertEqual(device_addresses(self.device), {("192.0.2.1", 24, None)})

    def test_add_address_ipv4(self):
        rec = Recorder(self.device)
        self.assertTrue(self.device.add_address(addr("192.0.2.1/24")))
        self.assertIn(("192.0.2.1", 24, None), kernel_addresses(self.name))
        self.assertIn(("192.0.2.1", 24, None), device_addresses(self.device))
        # Emitted once, before the call returned.
        self.assertEqual(rec.addresses_changed, 1)
        iterate(0.1)
        self.assertEqual(rec.addresses_changed, 1)
        # The kernel adds the prefix route.
        self.device.set_up(True)
        self.assertIn(("192.0.2.0/24", None), kernel_routes(self.name, 4))

    def test_add_address_ipv6(self):
        rec = Recorder(self.device)
        self.assertTrue(self.device.add_address(addr("2001:db8::1/64")))
        self.assertIn(("2001:db8::1", 64, None), kernel_addresses(self.name))
        self.assertIn(("2001:db8::1", 64, None), device_addresses(self.device))
        # The kernel announces it after the call returned: no second emission.
        self.assertEqual(rec.addresses_changed, 1)
        iterate(0.2)
        self.assertEqual(rec.addresses_changed, 1)
        # No duplicate address detection on a virtual link.
        (link,) = ip_json("-6", "addr", "show", "dev", self.name)
        (info,) = [a for a in link["addr_info"] if a["local"] == "2001:db8::1"]
        self.assertFalse(info.get("tentative", False), info)
        (mine,) = [a for a in self.device.get_addresses()
                   if a.get_address().to_string() == "2001:db8::1"]
        self.assertEqual(mine.get_flags(), TunTap.AddressFlags.NONE)

    def test_add_address_with_peer(self):
        self.assertTrue(self.device.add_address(addr("192.0.2.1/32 peer 192.0.2.2")))
        self.assertTrue(self.device.add_address(
            TunTap.Address.new(inet("2001:db8::1"), 128, inet("2001:db8::2"))))
        expected = {("192.0.2.1", 32, "192.0.2.2"), ("2001:db8::1", 128, "2001:db8::2")}
        self.assertTrue(expected <= kernel_addresses(self.name))
        # Read back with the peers.
        self.assertTrue(expected <= device_addresses(self.device))
        # The peer is reachable through the link.
        self.device.set_up(True)
        self.assertIn(("192.0.2.2", None), kernel_routes(self.name, 4))

    def test_add_address_from_string(self):
        for address, peer, expected in (
            ("198.51.100.7/24", None, ("198.51.100.7", 24, None)),
            ("203.0.113.9", None, ("203.0.113.9", 32, None)),   # a host address
            ("192.0.2.1", "192.0.2.2", ("192.0.2.1", 32, "192.0.2.2")),
            ("192.0.2.5/32 peer 192.0.2.6", None, ("192.0.2.5", 32, "192.0.2.6")),
            ("2001:db8:1::7/64", None, ("2001:db8:1::7", 64, None)),
            ("2001:db8:2::9", None, ("2001:db8:2::9", 128, None)),
            ("2001:db8:3::1/128", "2001:db8:3::2", ("2001:db8:3::1", 128, "2001:db8:3::2")),
        ):
            with self.subTest(address=address, peer=peer):
                self.assertTrue(self.device.add_address_from_string(address, peer))
                self.assertIn(expected, kernel_addresses(self.name))
                self.assertIn(expected, device_addresses(self.device))

    def test_add_address_from_string_malformed(self):
        for address, peer, says in (
                ("192.0.2.1/33", None, "0 to 32"), ("2001:db8::1/129", None, "0 to 128"),
                ("192.0.2.300/24", None, "not an IPv4 or IPv6 address"),
                ("192.0.2.1/", None, "0 to 32"), ("/24", None, "not an IPv4"),
                ("192.0.2.1/24/8", None, "0 to 32"),
                ("192.0.2.1/24", "not-an-address", "not-an-address"),
                ("192.0.2.1/24", "192.0.2.2/32", "no prefix length"),
                ("192.0.2.1/24 peer", None, "only an address"),
                ("192.0.2.1 peer 192.0.2.2", "192.0.2.2", "give the peer once")):
            with self.subTest(address=address, peer=peer):
                error = self.assertError(IOError.INVALID_ARGUMENT,
                                         self.device.add_address_from_string, address, peer)
                self.assertIn(self.name, error.message)
                self.assertIn(says, error.message)
                self.assertIn("192.0.2.1/32 peer 192.0.2.2", error.message)  # the form
        self.assertEqual(global_addresses(kernel_addresses(self.name)), set())

    def test_add_address_from_empty_string(self):
        # Once logged a critical (g_strsplit("") gives no parts) besides the
        # right error.
        try:
            self.assertError(IOError.INVALID_ARGUMENT,
                             self.device.add_address_from_string, "", None)
            self.assertEqual(self.logged, [], "criticals were logged")
        finally:
            self.logged.clear()

    def test_address_type(self):
        for text in ("192.0.2.1/24", "192.0.2.1/32 peer 192.0.2.2", "2001:db8::1/64",
                     "2001:db8:1::1/128 peer 2001:db8:1::2"):
            with self.subTest(text=text):
                a = addr(text)
                self.assertIsInstance(a, TunTap.Address)
                self.assertEqual(a.to_string(), text)
                self.assertTrue(a.equal(addr(a.to_string())))
                self.assertEqual(a.hash(), addr(text).hash())
                self.assertEqual(a.get_flags(), TunTap.AddressFlags.NONE)
        a = addr("192.0.2.1 peer 192.0.2.2")
        self.assertEqual(a.get_address().to_string(), "192.0.2.1")
        self.assertEqual(a.get_prefix_length(), 32)
        self.assertEqual(a.get_peer().to_string(), "192.0.2.2")
        self.assertEqual(a.get_family(), Gio.SocketFamily.IPV4)
        self.assertEqual(addr("2001:db8::1").get_family(), Gio.SocketFamily.IPV6)
        self.assertIsNone(addr("2001:db8::1").get_peer())
        self.assertFalse(addr("192.0.2.1/24").equal(addr("192.0.2.1/25")))
        self.assertFalse(a.equal(addr("192.0.2.1/32 peer 192.0.2.3")))
        self.assertEqual(TunTap.Address.new(inet("192.0.2.1"), 24, None).to_string(),
                         "192.0.2.1/24")
        for text in ("", "192.0.2.1/33", "bogus", "192.0.2.1/32 peer 2001:db8::2"):
            with self.subTest(text=text):
                with self.assertRaises(GLib.Error) as caught:
                    TunTap.Address.new_from_string(text)
                assert_io_error(self, caught.exception, IOError.INVALID_ARGUMENT)
                self.assertIn("192.0.2.1/24", caught.exception.message)

    def test_get_addresses(self):
        self.assertEqual(global_addresses(device_addresses(self.device)), set())
        self.device.add_address_from_string("192.0.2.1/24", None)
        self.device.add_address(addr("198.51.100.1/32 peer 198.51.100.2"))
        self.device.add_address(addr("2001:db8::1/64"))
        self.device.add_address(addr("2001:db8:1::1/128 peer 2001:db8:1::2"))
        self.device.set_up(True)
        self.assertTrue(wait_for(
            lambda: device_addresses(self.device) == kernel_addresses(self.name)))
        addresses = self.device.get_addresses()
        for a in addresses:
            self.assertIsInstance(a, TunTap.Address)
        got = device_addresses(self.device)
        self.assertTrue({("192.0.2.1", 24, None), ("198.51.100.1", 32, "198.51.100.2"),
                         ("2001:db8::1", 64, None),
                         ("2001:db8:1::1", 128, "2001:db8:1::2")} <= got)
        families = {a.get_family() for a in addresses}
        self.assertEqual(families, {Gio.SocketFamily.IPV4, Gio.SocketFamily.IPV6})

    def test_remove_address(self):
        self.device.add_address(addr("192.0.2.1/24"))
        self.device.add_address(addr("2001:db8::1/64"))
        self.device.add_address(addr("198.51.100.1/32 peer 198.51.100.2"))
        self.device.add_address(addr("198.51.100.5/32 peer 198.51.100.6"))
        rec = Recorder(self.device)

        self.assertTrue(self.device.remove_address(addr("192.0.2.1/24")))
        self.assertNotIn(("192.0.2.1", 24, None), kernel_addresses(self.name))
        self.assertNotIn(("192.0.2.1", 24, None), device_addresses(self.device))
        self.assertEqual(rec.addresses_changed, 1)

        self.assertTrue(self.device.remove_address_from_string("2001:db8::1/64", None))
        self.assertNotIn(("2001:db8::1", 64, None), kernel_addresses(self.name))
        self.assertNotIn(("2001:db8::1", 64, None), device_addresses(self.device))
        self.assertEqual(rec.addresses_changed, 2)

        # With its peer, and without (whatever the peer, as `ip addr del`).
        self.assertTrue(self.device.remove_address_from_string("198.51.100.1", "198.51.100.2"))
        self.assertTrue(self.device.remove_address_from_string("198.51.100.5/32", None))
        self.assertEqual(global_addresses(kernel_addresses(self.name)), set())
        self.assertEqual(global_addresses(device_addresses(self.device)), set())
        iterate(0.2)
        self.assertEqual(rec.addresses_changed, 4)

    def test_remove_what_get_addresses_gives(self):
        self.device.add_address_from_string("192.0.2.1/24", None)
        self.device.add_address_from_string("198.51.100.1", "198.51.100.2")
        self.device.add_address_from_string("2001:db8::1/64", None)
        for a in self.device.get_addresses():
            self.assertTrue(self.device.remove_address(a))
            self.assertTrue(self.device.add_address_from_string(a.to_string(), None))
            self.assertTrue(self.device.remove_address_from_string(a.to_string(), None))
        self.assertEqual(kernel_addresses(self.name), set())
        self.assertEqual(device_addresses(self.device), set())

    def test_remove_absent_address(self):
        self.device.add_address(addr("192.0.2.1/24"))
        self.device.add_address(addr("198.51.100.1/32 peer 198.51.100.2"))
        rec = Recorder(self.device)
        for address in ("203.0.113.5/24", "2001:db8::5/64",
                        "192.0.2.1/25",                      # present, but with /24
                        "198.51.100.1/32 peer 198.51.100.3"):  # another peer
            with self.subTest(address=address):
                error = self.assertError(IOError.INVALID_ARGUMENT,
                                         self.device.remove_address, addr(address))
                self.assertIn(self.name, error.message)
                self.assertError(IOError.INVALID_ARGUMENT,
                                 self.device.remove_address_from_string, address, None)
        self.assertIn(("192.0.2.1", 24, None), kernel_addresses(self.name))
        iterate(0.1)
        self.assertEqual(rec.addresses_changed, 0)

    def test_duplicate_address(self):
        self.device.add_address(addr("192.0.2.1/24"))
        self.device.add_address_from_string("2001:db8::1/64", None)
        rec = Recorder(self.device)
        self.assertError(IOError.EXISTS, self.device.add_address, addr("192.0.2.1/24"))
        self.assertError(IOError.EXISTS, self.device.add_address_from_string, "192.0.2.1/24", None)
        self.assertError(IOError.EXISTS, self.device.add_address, addr("2001:db8::1/64"))
        self.assertError(IOError.EXISTS,
                         self.device.add_address_from_string, "2001:db8::1/64", None)
        iterate(0.1)
        self.assertEqual(rec.addresses_changed, 0)

    def test_peer_of_the_wrong_family(self):
        for address, peer in (("192.0.2.1/32", "2001:db8::2"),
                              ("2001:db8::1/128", "192.0.2.2")):
            with self.subTest(address=address, peer=peer):
                error = self.assertError(IOError.INVALID_ARGUMENT,
                                         self.device.add_address_from_string, address, peer)
                self.assertIn("same family", error.message)
                self.assertError(IOError.INVALID_ARGUMENT,
                                 TunTap.Address.new_from_string, f"{address} peer {peer}")
        self.assertEqual(global_addresses(kernel_addresses(self.name)), set())

    def test_routes(self):
        self.device.add_address_from_string("192.0.2.1/24", None)
        self.device.add_address_from_string("2001:db8::1/64", None)
        self.device.set_up(True)
        routes = (
            (4, "198.51.100.0/24", None),
            (4, "203.0.113.0/24", "192.0.2.254"),
            (6, "2001:db8:100::/48", None),
            (6, "2001:db8:200::/48", "2001:db8::fe"),
        )
        for family, dst, gateway in routes:
            with self.subTest(dst=dst, gateway=gateway):
                destination = Gio.InetAddressMask.new_from_string(dst)
                via = inet(gateway) if gateway else None
                self.assertTrue(self.device.add_route(destination, via))
                self.assertIn((dst, gateway), kernel_routes(self.name, family))
                self.assertError(IOError.EXISTS, self.device.add_route, destination, via)
                self.assertError(IOError.EXISTS, self.device.add_route_from_string, dst, gateway)
        for family, dst, gateway in routes:
            with self.subTest(dst=dst, gateway=gateway):
                destination = Gio.InetAddressMask.new_from_string(dst)
                via = inet(gateway) if gateway else None
                self.assertTrue(self.device.remove_route(destination, via))
                self.assertNotIn((dst, gateway), kernel_routes(self.name, family))
                self.assertError(IOError.NOT_FOUND, self.device.remove_route, destination, via)
        # The same from strings.
        for family, dst, gateway in routes + ((4, "default", "192.0.2.254"),):
            with self.subTest(dst=dst, gateway=gateway):
                text = "0.0.0.0/0" if dst == "default" else dst
                self.assertTrue(self.device.add_route_from_string(text, gateway))
                self.assertIn((dst, gateway), kernel_routes(self.name, family))
                self.assertTrue(self.device.remove_route_from_string(text, gateway))
                self.assertNotIn((dst, gateway), kernel_routes(self.name, family))
                self.assertError(IOError.NOT_FOUND,
                                 self.device.remove_route_from_string, text, gateway)
        # The prefix routes of the addresses are the kernel's; untouched.
        self.assertIn(("192.0.2.0/24", None), kernel_routes(self.name, 4))
        self.assertIn(("2001:db8::/64", None), kernel_routes(self.name, 6))

    def test_route_errors(self):
        v4 = Gio.InetAddressMask.new_from_string("198.51.100.0/24")
        v6 = Gio.InetAddressMask.new_from_string("2001:db8:100::/48")
        # The link is down.
        self.assertError(IOError.NETWORK_UNREACHABLE, self.device.add_route, v4, None)
        self.assertError(IOError.NETWORK_UNREACHABLE, self.device.add_route, v6, None)
        self.assertError(IOError.NETWORK_UNREACHABLE,
                         self.device.add_route_from_string, "198.51.100.0/24", None)
        self.device.set_up(True)
        # A gateway of the other family.
        self.assertError(IOError.INVALID_ARGUMENT, self.device.add_route, v4, inet("2001:db8::1"))
        self.assertError(IOError.INVALID_ARGUMENT, self.device.add_route, v6, inet("192.0.2.1"))
        self.assertError(IOError.INVALID_ARGUMENT,
                         self.device.add_route_from_string, "2001:db8:100::/48", "192.0.2.1")
        # A gateway no address of the link reaches.
        self.assertError(IOError.NETWORK_UNREACHABLE,
                         self.device.add_route, v4, inet("192.0.2.254"))
        # Strings that do not parse: the device named, the form shown.
        for dst, gateway, says in (("198.51.100.1/24", None, "198.51.100.0/24"),
                                   ("default", None, "0.0.0.0/0"),
                                   ("198.51.100.0/33", None, "2001:db8:100::/48"),
                                   ("", None, "198.51.100.0/24"),
                                   ("198.51.100.0/24", "192.0.2.254/32", "192.0.2.254"),
                                   ("198.51.100.0/24", "bogus", "bogus")):
            with self.subTest(dst=dst, gateway=gateway):
                for call in (self.device.add_route_from_string,
                             self.device.remove_route_from_string):
                    error = self.assertError(IOError.INVALID_ARGUMENT, call, dst, gateway)
                    self.assertIn(self.name, error.message)
                    self.assertIn(says, error.message)
        self.assertEqual(kernel_routes(self.name, 4), set())

    def test_routes_are_never_added_by_the_library(self):
        self.device.set_up(True)
        self.device.set_mtu(1400)
        self.device.add_address(addr("198.51.100.1/32"))
        self.assertEqual(kernel_routes(self.name, 4), set())

    def test_notify_up_from_another_program(self):
        rec = Recorder(self.device)
        ip("link", "set", self.name, "up")
        self.assertTrue(wait_for(lambda: rec.values("up") == [True]), rec.notified)
        self.assertTrue(self.device.props.up)
        ip("link", "set", self.name, "down")
        self.assertTrue(wait_for(lambda: rec.values("up") == [True, False]), rec.notified)
        self.assertFalse(self.device.props.up)

    def test_notify_mtu_from_another_program(self):
        rec = Recorder(self.device)
        ip("link", "set", self.name, "mtu", "1300")
        self.assertTrue(wait_for(lambda: rec.values("mtu") == [1300]), rec.notified)
        self.assertEqual(self.device.props.mtu, 1300)
        self.assertEqual(self.device.get_mtu(), 1300)

    def test_notify_name_from_another_program(self):
        rec = Recorder(self.device)
        ifindex = self.device.props.ifindex
        new_name = f"py-renamed{ifindex}"
        ip("link", "set", self.name, "name", new_name)
        self.assertTrue(wait_for(lambda: rec.values("name") == [new_name]), rec.notified)
        self.assertEqual(self.device.props.name, new_name)
        self.assertEqual(self.device.get_name(), new_name)
        self.assertEqual(self.device.props.ifindex, ifindex)

        # The device follows the ifindex, not the old name.
        self.device.set_mtu(1400)
        self.device.add_address_from_string("192.0.2.1/24", None)
        self.device.set_up(True)
        link = kernel_link(new_name)
        self.assertEqual((link["mtu"], "UP" in link["flags"]), (1400, True))
        self.assertIn(("192.0.2.1", 24, None), kernel_addresses(new_name))
        self.assertIn(("192.0.2.1", 24, None), device_addresses(self.device))
        self.name = new_name

    def test_addresses_changed_from_another_program(self):
        rec = Recorder(self.device)
        ip("addr", "add", "192.0.2.1/24", "dev", self.name)
        self.assertTrue(wait_for(lambda: rec.addresses_changed >= 1))
        self.assertIn(("192.0.2.1", 24, None), device_addresses(self.device))
        ip("addr", "add", "2001:db8::1/64", "dev", self.name, "nodad")
        self.assertTrue(wait_for(lambda: rec.addresses_changed >= 2))
        self.assertIn(("2001:db8::1", 64, None), device_addresses(self.device))
        ip("addr", "add", "198.51.100.1", "peer", "198.51.100.2", "dev", self.name)
        self.assertTrue(wait_for(lambda: rec.addresses_changed >= 3))
        self.assertIn(("198.51.100.1", 32, "198.51.100.2"), device_addresses(self.device))
        ip("addr", "del", "192.0.2.1/24", "dev", self.name)
        self.assertTrue(wait_for(lambda: rec.addresses_changed >= 4))
        self.assertNotIn(("192.0.2.1", 24, None), device_addresses(self.device))
        self.assertEqual(device_addresses(self.device), kernel_addresses(self.name))
        iterate(0.2)
        self.assertEqual(rec.addresses_changed, 4, "one emission per change")

    def test_addresses_changed_only_on_change(self):
        ip("addr", "add", "192.0.2.1/24", "dev", self.name,
           "valid_lft", "1000", "preferred_lft", "1000")
        self.assertTrue(wait_for(
            lambda: ("192.0.2.1", 24, None) in device_addresses(self.device)))
        iterate(0.1)
        rec = Recorder(self.device)
        # New lifetimes: the kernel sends RTM_NEWADDR, nothing we show changed.
        ip("addr", "change", "192.0.2.1/24", "dev", self.name,
           "valid_lft", "2000", "preferred_lft", "1500")
        # A real change after it: had the first emitted, there would be two.
        ip("addr", "add", "203.0.113.1/24", "dev", self.name)
        self.assertTrue(wait_for(lambda: rec.addresses_changed >= 1))
        iterate(0.2)
        self.assertEqual(rec.addresses_changed, 1)
        # A flag is a change: past its preferred lifetime, it is deprecated.
        ip("addr", "change", "192.0.2.1/24", "dev", self.name,
           "valid_lft", "2000", "preferred_lft", "0")
        self.assertTrue(wait_for(lambda: rec.addresses_changed >= 2))
        (mine,) = [a for a in self.device.get_addresses() if a.to_string() == "192.0.2.1/24"]
        self.assertEqual(mine.get_flags(), TunTap.AddressFlags.DEPRECATED)
        iterate(0.2)
        self.assertEqual(rec.addresses_changed, 2)

    def test_only_its_own_link(self):
        other = TunTap.Device.new(None, TunTap.Mode.TUN)
        try:
            rec = Recorder(self.device)
            ip("link", "set", other.get_name(), "mtu", "1300")
            ip("link", "set", other.get_name(), "up")
            ip("addr", "add", "203.0.113.1/24", "dev", other.get_name())
            iterate(0.2)
            self.assertEqual((rec.notified, rec.addresses_changed), ([], 0))
        finally:
            other.close()

    def test_closed_when_deleted(self):
        rec = Recorder(self.device)
        ip("link", "del", self.name)
        self.assertTrue(wait_for(lambda: rec.closed), "no ::closed within 5 s")
        iterate(0.1)
        self.assertEqual(len(rec.closed), 1)
        error = rec.closed[0]
        self.assertIsNotNone(error)
        assert_io_error(self, error, IOError.NO_SUCH_DEVICE)
        self.assertIn(self.name, error.message)
        self.assertEqual(rec.values("closed"), [True])
        self.assertTrue(self.device.is_closed())

    def test_closed_when_deleted_after_rename(self):
        rec = Recorder(self.device)
        new_name = f"py-gone{self.device.props.ifindex}"
        ip("link", "set", self.name, "name", new_name)
        self.assertTrue(wait_for(lambda: self.device.props.name == new_name))
        ip("link", "del", new_name)
        self.assertTrue(wait_for(lambda: rec.closed), "no ::closed within 5 s")
        assert_io_error(self, rec.closed[0], IOError.NO_SUCH_DEVICE)
        self.assertIn(new_name, rec.closed[0].message)


class TunLink(Calls, LinkTestCase):
    MODE = TunTap.Mode.TUN
    MAX_MTU = 65535

    def test_no_hardware_address(self):
        self.assertIsNone(self.device.props.hardware_address)
        self.assertIsNone(self.device.get_hardware_address())
        self.assertNotIn("address", kernel_link(self.name))
        error = self.assertError(IOError.NOT_SUPPORTED,
                                 self.device.set_hardware_address, "02:00:00:00:00:01")
        self.assertIn(self.name, error.message)
        self.assertNotIn("address", kernel_link(self.name))


class TapLink(Calls, LinkTestCase):
    MODE = TunTap.Mode.TAP
    MAX_MTU = 65521

    def test_hardware_address(self):
        self.assertEqual(self.device.props.hardware_address, kernel_link(self.name)["address"])
        rec = Recorder(self.device)

        self.assertTrue(self.device.set_hardware_address("02:00:00:00:00:01"))
        self.assertEqual(kernel_link(self.name)["address"], "02:00:00:00:00:01")
        self.assertTrue(wait_for(
            lambda: rec.values("hardware-address") == ["02:00:00:00:00:01"]), rec.notified)
        self.assertEqual(self.device.get_hardware_address(), "02:00:00:00:00:01")

        # Upper case in, the kernel's lower case out; the property is
        # read-only (changing it can fail, so it takes a method).
        self.assertFalse(self.device.find_property("hardware-address").flags
                         & GObject.ParamFlags.WRITABLE)
        self.device.set_hardware_address("02:00:5E:00:53:0A")
        self.assertEqual(kernel_link(self.name)["address"], "02:00:5e:00:53:0a")
        self.assertTrue(wait_for(
            lambda: self.device.props.hardware_address == "02:00:5e:00:53:0a"), rec.notified)

        # Set by another program.
        ip("link", "set", self.name, "address", "02:00:00:00:00:07")
        self.assertTrue(wait_for(
            lambda: self.device.props.hardware_address == "02:00:00:00:00:07"), rec.notified)
        iterate(0.1)
        self.assertEqual(rec.values("hardware-address"),
                         ["02:00:00:00:00:01", "02:00:5e:00:53:0a", "02:00:00:00:00:07"])

    def test_malformed_hardware_address(self):
        self.device.set_hardware_address("02:00:00:00:00:01")
        for address in ("02:00:00:00:00", "02:00:00:00:00:01:02", "zz:00:00:00:00:01",
                        "02-00-00-00-00-01", "", "01:00:5e:00:00:01", "00:00:00:00:00:00",
                        "ff:ff:ff:ff:ff:ff"):
            with self.subTest(address=address):
                error = self.assertError(IOError.INVALID_ARGUMENT,
                                         self.device.set_hardware_address, address)
                self.assertIn(self.name, error.message)
        self.assertEqual(kernel_link(self.name)["address"], "02:00:00:00:00:01")
        self.assertEqual(self.device.props.hardware_address, "02:00:00:00:00:01")


if __name__ == "__main__":
    tuntaptest.main()
