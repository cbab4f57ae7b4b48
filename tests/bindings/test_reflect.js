// SPDX-License-Identifier: LGPL-2.1-or-later
//
// examples/echo.js's describe() and reflect() against echo-reflect.c itself
// (through reflect-oracle): the packets of packets.txt, every truncation of
// them, seeded random mutations and random bytes must get the same line
// and the same answer, byte for byte. IPv6 addresses are also checked
// against GLib's own formatting.
//
// Usage: gjs -m test_reflect.js REFLECT-ORACLE (under unshare -n)

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import System from 'system';

import {describe, reflect, reflectBatch} from '../../examples/echo.js';
import {assert, assertEqual, run, test} from './harness.js';

const oraclePath = System.programArgs[0];
const here = GLib.path_get_dirname(GLib.filename_from_uri(import.meta.url)[0]);

function fromHex(hex) {
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++)
        bytes[i] = parseInt(hex.substr(2 * i, 2), 16);
    return bytes;
}

function toHex(bytes) {
    return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}

// [{comment, tap, packet}] from packets.txt.
function loadPackets() {
    const [, contents] = GLib.file_get_contents(`${here}/packets.txt`);
    const packets = [];
    let comment = '';
    for (const line of new TextDecoder().decode(contents).split('\n')) {
        if (line.startsWith('#'))
            comment = line.slice(1).trim();
        else if (line)
            packets.push({comment, tap: line[0] === 't', packet: fromHex(line.slice(2))});
    }
    return packets;
}

// mulberry32: a small seeded generator, so a failure can be replayed.
function random(seed) {
    return () => {
        seed = seed + 0x6d2b79f5 | 0;
        let t = Math.imul(seed ^ seed >>> 15, 1 | seed);
        t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t;
        return ((t ^ t >>> 14) >>> 0) / 4294967296;
    };
}

function* variants(packets) {
    const rand = random(20240603);
    const below = n => Math.floor(rand() * n);
    for (const {tap, packet} of packets) {
        yield [tap, packet];
        for (let n = 0; n < packet.length; n++)
            yield [tap, packet.slice(0, n)];
        for (let i = 0; i < 25; i++) {
            const q = packet.slice();
            for (let k = 1 + below(3); k > 0 && q.length > 0; k--)
                q[below(q.length)] = below(256);
            yield [tap, q];
        }
    }
    for (let i = 0; i < 1500; i++) {
        const tap = rand() < 0.5;
        const q = new Uint8Array(below(120)).map(() => below(256));
        if (tap && q.length >= 14) {
            q.set([[0x08, 0x00], [0x86, 0xdd], [0x08, 0x06]][below(3)], 12);
            if (q.length > 14)
                q[14] = [0x45, 0x60, 0x00][below(3)];
        } else if (q.length > 0 && rand() < 0.8) {
            q[0] = [0x45, 0x46, 0x4f, 0x60, 0x40][below(5)];
        }
        yield [tap, q];
    }
}

function oracle(vectors) {
    const input = vectors.map(([tap, p]) => `${tap ? 't' : 'n'} ${toHex(p)}\n`).join('');
    const proc = Gio.Subprocess.new([oraclePath],
        Gio.SubprocessFlags.STDIN_PIPE | Gio.SubprocessFlags.STDOUT_PIPE);
    const [, out] = proc.communicate_utf8(input, null);
    assert(proc.get_successful(), 'reflect-oracle failed');
    const lines = out.split('\n');
    lines.pop();
    assertEqual(lines.length, vectors.length, 'answers from reflect-oracle');
    return lines.map(line => line.split('\t'));
}

test('same lines and answers as echo-reflect.c', () => {
    const vectors = Array.from(variants(loadPackets()));
    assert(vectors.length > 4000, `only ${vectors.length} packets`);
    const expected = oracle(vectors);
    const mismatches = [];
    let answered = 0;

    vectors.forEach(([tap, p], i) => {
        const line = describe(p, tap);
        const buf = p.slice();
        let answer = '-';
        if (reflect(buf, tap)) {
            answer = toHex(buf);
            answered++;
        } else if (toHex(buf) !== toHex(p)) {
            mismatches.push(`${toHex(p)}: changed although not answered`);
        }
        const [cLine, cAnswer] = expected[i];
        if (line !== cLine || answer !== cAnswer) {
            mismatches.push(`${tap ? 'tap' : 'tun'} ${toHex(p)}:\n  gjs ${line} ${answer}\n` +
                `  c   ${cLine} ${cAnswer}`);
        }
    });
    assertEqual(mismatches.slice(0, 5).join('\n'), '');
    // The vectors must exercise the answers, not only the refusals.
    assert(answered > 500, `only ${answered} answers`);
});

// The batch path echo.js runs (answers rewritten in place at their offset
// in one reused buffer, packets without an answer left out and the rest
// moved up) must answer exactly as C does.
test('reflectBatch() gives the same answers as echo-reflect.c', () => {
    const vectors = Array.from(variants(loadPackets()));
    const expected = oracle(vectors);
    const rand = random(6);
    for (const tap of [false, true]) {
        const mode = vectors.map(([t, p], i) => [t, p, expected[i][1]]).filter(([t]) => t === tap);
        let batches = 0;
        for (let i = 0; i < mode.length; batches++) {
            const chunk = mode.slice(i, i + 1 + Math.floor(rand() * 64));
            i += chunk.length;
            const lengths = chunk.map(([, p]) => p.length);
            const data = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
            chunk.reduce((o, [, p]) => (data.set(p, o), o + p.length), 0);
            const before = toHex(data);
            const answers = chunk.map(([,, a]) => a).filter(a => a !== '-');

            const [out, outLengths] = reflectBatch(data, lengths, tap);
            assert(out instanceof Uint8Array, 'not a Uint8Array');
            assertEqual(toHex(data), before, 'the batch was changed');
            assertEqual(JSON.stringify(outLengths), JSON.stringify(answers.map(a => a.length / 2)),
                'lengths of the answers');
            if (toHex(out) !== answers.join('')) {
                let o = 0;
                chunk.filter(([,, a]) => a !== '-').forEach(([, p, a]) => {
                    assertEqual(toHex(out.subarray(o, o + a.length / 2)), a,
                        `${tap ? 'tap' : 'tun'} ${toHex(p)}`);
                    o += a.length / 2;
                });
                throw new Error('batch answers differ');
            }
        }
        assert(batches > 50, `only ${batches} batches`);
    }
});

test('the GLib.Bytes of a received packet is left unchanged', () => {
    const {tap, packet} = loadPackets().find(
        p => p.comment.startsWith('IPv4 ICMP echo request 192'));
    const bytes = new GLib.Bytes(packet);
    const buf = bytes.toArray().slice();
    assert(reflect(buf, tap), 'no answer');
    assertEqual(toHex(bytes.toArray()), toHex(packet));
    assertEqual(describe(buf, tap), '84 bytes IPv4 ICMP 192.0.2.2 > 192.0.2.1 type 0');
});

run();
