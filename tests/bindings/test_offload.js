// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Offloads from gjs (issue 11): one property. Device A (offload on) in this
// test's namespace, device B (offload on or off) created with netns_fd in a
// second namespace (that of an `unshare -n sleep` child), and a relay in
// gjs: packets-received on one side, send_many() on the other. A TCP
// stream from a client here to a server in B's namespace (both small
// Python programs, the stream's endpoints) arrives intact (SHA-256), B's
// kernel counts no checksum error, and the counters show super-packets
// split (and, into an offloading B, coalesced). Runs under `unshare -n`,
// as `gjs -m test_offload.js`.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import TunTap from 'gi://TunTap?version=1.0';

import {test, assert, assertEqual, run, runLoop} from './harness.js';

const MIB = 8;
const PYTHON = '/usr/bin/python3';
const SINK = GLib.build_filenamev([GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]), 'tcp-sink.py']);
const CLIENT = `
import hashlib, socket
rng, sent = hashlib.sha256(b"seed"), hashlib.sha256()
with socket.create_connection(("192.0.2.2", 5001)) as c:
    for _ in range(${MIB} * 16):
        block = b"".join(rng.digest() for _ in range(2048))
        rng.update(block[:32])
        sent.update(block)
        c.sendall(block)
print(sent.hexdigest(), flush=True)
`;

function spawn(argv) {
    return Gio.Subprocess.new(argv, Gio.SubprocessFlags.STDOUT_PIPE);
}

function readLine(proc) {
    const stream = new Gio.DataInputStream({base_stream: proc.get_stdout_pipe()});
    const [line] = stream.read_line_utf8(null);
    return line;
}

function relay(to, errors) {
    return (from, packets, lengths) => {
        try {
            to.send_many(packets.toArray(), lengths);
        } catch (e) {
            if (!e.matches(Gio.io_error_quark(), Gio.IOErrorEnum.WOULD_BLOCK))
                errors.push(e.message);
        }
    };
}

function runRelay(bOffload) {
    const peer = Gio.Subprocess.new(['unshare', '-n', 'sleep', '60'], Gio.SubprocessFlags.NONE);
    const pid = peer.get_identifier();
    const ours = GLib.file_read_link('/proc/self/ns/net');
    // Until unshare(2) ran, the child is still in this namespace.
    while (GLib.file_read_link(`/proc/${pid}/ns/net`) === ours)
        GLib.usleep(1000);
    try {
        // The stream owns the fd; the device reads it only while it is made.
        const nsStream = Gio.File.new_for_path(`/proc/${pid}/ns/net`).read(null);
        const a = new TunTap.Device({name: 'jsofa', mode: TunTap.Mode.TUN, offload: true});
        a.init(null);
        const b = new TunTap.Device({name: 'jsofb', mode: TunTap.Mode.TUN,
            netns_fd: nsStream.get_fd(), offload: bOffload});
        b.init(null);
        nsStream.close(null);
        assert(a.offloads & TunTap.Offloads.TCP_SEGMENTATION, `offloads ${a.offloads}`);

        const errors = [];
        a.connect('packets-received', relay(b, errors));
        b.connect('packets-received', relay(a, errors));
        a.add_address_from_string('192.0.2.1', '192.0.2.2');
        a.set_up(true);
        b.add_address_from_string('192.0.2.2', '192.0.2.1');
        b.set_up(true);

        const server = spawn(['nsenter', '-t', `${pid}`, '-n', PYTHON, SINK]);
        const serverOut = new Gio.DataInputStream({base_stream: server.get_stdout_pipe()});
        assertEqual(serverOut.read_line_utf8(null)[0], 'listening');
        const client = spawn([PYTHON, '-c', CLIENT]);
        let serverDone = false;
        const finished = runLoop(quit => {
            server.wait_async(null, () => {
                serverDone = true;
                quit();
            });
        }, 60);
        assert(finished && serverDone, 'the transfer did not finish in 60 s');
        const [received, digest, csumErrors] = serverOut.read_line_utf8(null)[0].split(' ');
        client.wait(null);
        const sent = readLine(client);

        assertEqual(Number(received), MIB * 1024 * 1024, 'bytes received');
        assertEqual(digest, sent, 'SHA-256');
        assertEqual(Number(csumErrors), 0, 'TcpInCsumErrors in B');
        assertEqual(JSON.stringify(errors), '[]');
        const [superPackets, split, malformed] = a.get_offload_counters();
        assert(superPackets > 0, `${superPackets} super-packets`);
        assert(split > 2 * superPackets, `${split} packets from ${superPackets}`);
        assertEqual(malformed, 0);
        const coalesced = b.get_offload_counters()[3];
        assert(bOffload ? coalesced > 0 : coalesced === 0, `${coalesced} coalesced`);
        a.close();
        b.close();
    } finally {
        peer.force_exit();
        peer.wait(null);
    }
}

test('relay from gjs into a plain device: split in C, intact, checksums valid', () => {
    runRelay(false);
});

test('relay from gjs into an offloading device: coalesced, intact', () => {
    runRelay(true);
});

run();
