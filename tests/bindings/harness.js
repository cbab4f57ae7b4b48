// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Shared by the gjs tests: a few assertions, TAP output, a guard against
// running outside a private network namespace, and small helpers.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import System from 'system';

const tests = [];

/** Registers a test; fn runs synchronously and throws on failure. */
export function test(name, fn) {
    tests.push([name, fn]);
}

export function assert(condition, message = 'assertion failed') {
    if (!condition)
        throw new Error(message);
}

export function assertEqual(actual, expected, message = '') {
    if (actual !== expected) {
        throw new Error(`${message ? `${message}: ` : ''}expected ${JSON.stringify(expected)}, ` +
            `got ${JSON.stringify(actual)}`);
    }
}

export function assertMatch(text, regexp, message = '') {
    if (!regexp.test(text))
        throw new Error(`${message ? `${message}: ` : ''}${JSON.stringify(text)} does not match ${regexp}`);
}

/** Checks that error is a GLib.Error of G_IO_ERROR with code. */
export function assertIOError(error, code) {
    assert(error instanceof GLib.Error, `not a GLib.Error: ${error}`);
    assertEqual(error.domain, Gio.io_error_quark(), `domain of “${error.message}”`);
    assert(error.matches(Gio.io_error_quark(), code),
        `expected G_IO_ERROR code ${code}, got ${error.code}: ${error.message}`);
}

/** Calls fn, which must throw a G_IO_ERROR with code; returns the error. */
export function assertThrowsIOError(fn, code) {
    try {
        fn();
    } catch (e) {
        assertIOError(e, code);
        return e;
    }
    throw new Error(`expected G_IO_ERROR code ${code}, nothing was thrown`);
}

/**
 * Runs a command line synchronously; throws with its output if it fails.
 * The tools run here are not under test: the ASan run of the suite
 * preloads libasan into gjs, and iproute2's `ip route show` trips it, so
 * LD_PRELOAD is not passed on.
 */
export function sh(command) {
    const [, argv] = GLib.shell_parse_argv(command);
    const env = GLib.environ_unsetenv(GLib.get_environ(), 'LD_PRELOAD');
    const [, out, err, status] = GLib.spawn_sync(null, argv, env,
        GLib.SpawnFlags.SEARCH_PATH, null);
    const decoder = new TextDecoder();
    if (!GLib.spawn_check_wait_status(status))
        throw new Error(`${command}: ${decoder.decode(err)}`);
    return decoder.decode(out);
}

/**
 * This namespace's IP statistics, as {IcmpInCsumErrors: 0, ...}: ping does
 * not check checksums itself, the kernel counts them.
 */
export function snmp() {
    const decoder = new TextDecoder();
    const read = path => decoder.decode(GLib.file_get_contents(path)[1]);
    const counters = {};
    const lines = read('/proc/net/snmp').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
        const [proto, ...names] = lines[i].split(' ');
        const values = lines[i + 1].split(' ').slice(1);
        names.forEach((n, k) => (counters[proto.slice(0, -1) + n] = Number(values[k])));
    }
    for (const line of read('/proc/net/snmp6').split('\n')) {
        const [name, value] = line.split(/\s+/);
        if (name)
            counters[name] = Number(value);
    }
    return counters;
}

/**
 * Runs a main loop until the callback passed to start() is called or
 * seconds pass; returns false on timeout.
 */
export function runLoop(start, seconds) {
    const loop = new GLib.MainLoop(null, false);
    let timedOut = false;
    const source = GLib.timeout_add(GLib.PRIORITY_DEFAULT, seconds * 1000, () => {
        timedOut = true;
        loop.quit();
        return GLib.SOURCE_REMOVE;
    });
    start(() => loop.quit());
    loop.run();
    if (!timedOut)
        GLib.source_remove(source);
    return !timedOut;
}

/**
 * Refuses to run in the caller's network namespace: the tests add
 * addresses and delete links, which must only happen in one that
 * `unshare -n` made for this process.
 */
function ensurePrivateNetns() {
    let isPrivate = false;
    try {
        // The fourth field of /proc/self/stat, after the “(comm)” one.
        const [, stat] = GLib.file_get_contents('/proc/self/stat');
        const text = new TextDecoder().decode(stat);
        const ppid = text.slice(text.lastIndexOf(')') + 2).split(' ')[1];
        isPrivate = GLib.file_read_link('/proc/self/ns/net') !==
            GLib.file_read_link(`/proc/${ppid}/ns/net`);
    } catch (e) {
        isPrivate = false;
    }
    if (!isPrivate) {
        print('Bail out! not in a private network namespace; run under unshare -n');
        System.exit(99);
    }
    sh('ip link set lo up');
}

/** Runs the registered tests, writing TAP to stdout; exits 1 on failure. */
export function run({namespace = true} = {}) {
    if (namespace)
        ensurePrivateNetns();
    print(`1..${tests.length}`);
    let failed = 0;
    tests.forEach(([name, fn], i) => {
        try {
            fn();
            print(`ok ${i + 1} ${name}`);
        } catch (e) {
            failed++;
            print(`not ok ${i + 1} ${name}`);
            for (const line of `${e.message ?? e}\n${e.stack ?? ''}`.trim().split('\n'))
                print(`# ${line}`);
        }
    });
    if (failed > 0)
        System.exit(1);
}
