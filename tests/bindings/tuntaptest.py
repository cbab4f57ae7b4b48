# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the Python tests: TAP output for unittest, a guard against
# running outside a private network namespace, and small helpers.

import importlib.util
import os
import subprocess
import sys
import traceback
import unittest

import gi

gi.require_version("Gio", "2.0")
gi.require_version("TunTap", "1.0")
from gi.repository import GLib, Gio, GObject, TunTap  # noqa: E402

__all__ = ["GLib", "Gio", "TunTap", "assert_io_error", "ensure_private_netns",
           "ip", "load_example", "main", "run_loop", "run_until", "snmp"]

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")


def ensure_private_netns():
    """Refuses to run in the caller's network namespace: the tests add
    addresses and delete links, which must only happen in one that
    `unshare -n` made for this process."""
    try:
        private = (os.readlink("/proc/self/ns/net")
                   != os.readlink(f"/proc/{os.getppid()}/ns/net"))
    except OSError:
        private = False
    if not private:
        print("Bail out! not in a private network namespace; run under unshare -n",
              flush=True)
        sys.exit(99)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


# The environment for the tools the tests run, which are not under test:
# the ASan run of the suite preloads libasan into the interpreter, and
# iproute2's `ip route show` trips it (strncpy-param-overlap in
# print_route).
_TOOL_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def ip(*args):
    """Runs `ip ARGS`; raises with ip's message if it fails."""
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, env=_TOOL_ENV)
    if proc.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def snmp():
    """This namespace's IP statistics, as {"IcmpInCsumErrors": 0, ...}:
    ping does not check checksums itself, the kernel counts them."""
    counters = {}
    with open("/proc/net/snmp") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        proto, *names = names.split()
        counters.update({proto[:-1] + n: int(v) for n, v in zip(names, values.split()[1:])})
    with open("/proc/net/snmp6") as f:
        counters.update({n: int(v) for n, v in (line.split() for line in f if line.strip())})
    return counters


def load_example(name="echo"):
    """Imports examples/NAME.py as a module (its main() does not run)."""
    spec = importlib.util.spec_from_file_location(
        f"{name}_example", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_io_error(test, error, code):
    """Checks that a GLib.Error is G_IO_ERROR with @code."""
    test.assertIsInstance(error, GLib.Error)
    test.assertEqual(error.domain, GLib.quark_to_string(Gio.io_error_quark()))
    test.assertTrue(error.matches(Gio.io_error_quark(), code),
                    f"expected {code.value_nick}, got code {error.code}: {error.message}")


def run_loop(loop, seconds):
    """Runs @loop until it quits; returns False if @seconds passed first."""
    timed_out = []

    def on_timeout():
        timed_out.append(True)
        loop.quit()
        return GLib.SOURCE_REMOVE

    source = GLib.timeout_add(int(seconds * 1000), on_timeout)
    loop.run()
    if not timed_out:
        GLib.source_remove(source)
    return not timed_out


def run_until(done, seconds=5):
    """Iterates the default context until done() or the time is up;
    returns done()."""
    context = GLib.MainContext.default()
    deadline = GLib.get_monotonic_time() + int(seconds * 1e6)
    while not done() and GLib.get_monotonic_time() < deadline:
        context.iteration(False) or GLib.usleep(1000)
    return done()


class TapResult(unittest.TestResult):
    """Writes one TAP line per test, with failures as diagnostics. A test
    whose subTest()s failed is one "not ok" line with every failure."""

    def __init__(self):
        super().__init__()
        self.number = 0
        self._printed = False
        self._subtest_errors = []

    @staticmethod
    def _diagnostics(err, heading=None):
        if heading is not None:
            print(f"# {heading}")
        for line in "".join(traceback.format_exception(*err)).splitlines():
            print(f"# {line}")

    def _line(self, ok, test, directive="", err=None):
        self.number += 1
        self._printed = True
        print(f"{'ok' if ok else 'not ok'} {self.number} {test.id()}{directive}")
        if err is not None:
            self._diagnostics(err)
        sys.stdout.flush()

    def startTest(self, test):
        super().startTest(test)
        self._printed = False
        self._subtest_errors = []

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._subtest_errors.append((subtest, err))

    def stopTest(self, test):
        # Failed subtests make unittest skip addSuccess(): no line yet.
        if not self._printed and self._subtest_errors:
            self._line(False, test)
        for subtest, err in self._subtest_errors:
            self._diagnostics(err, f"in {subtest.id()}")
        sys.stdout.flush()
        super().stopTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test, err=err)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test, err=err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, f" # SKIP {reason}")

    # In TAP a TODO test is expected to fail: "not ok # TODO" is the
    # expected failure, and "ok # TODO" the unexpected pass that meson (and
    # unittest) count as a failure, time to drop @expectedFailure.
    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(False, test, " # TODO expected failure", err=err)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(True, test, " # TODO unexpected success")


def main(namespace=True):
    """Runs the tests of the __main__ module, writing TAP to stdout."""
    if namespace:
        ensure_private_netns()
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules["__main__"])
    print(f"1..{suite.countTestCases()}", flush=True)
    result = TapResult()
    suite.run(result)
    sys.exit(0 if result.wasSuccessful() else 1)
