/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A Vala program against tuntap-glib-1.0.vapi: construction and its
 * errors, a packet refused, the closed signal. Runs under unshare -n (a
 * network namespace of its own); prints TAP.
 */

int main (string[] args) {
    int failures = 0;
    int n = 0;

    /* A name Linux would refuse: the constructor throws. */
    try {
        new TunTap.Device ("vala-sixteen-byt", TunTap.Mode.TUN);
        stdout.printf ("not ok %d a 16-byte name was accepted\n", ++n);
        failures++;
    } catch (IOError.INVALID_ARGUMENT e) {
        stdout.printf ("ok %d a 16-byte name throws INVALID_ARGUMENT\n# %s\n", ++n, e.message);
    } catch (Error e) {
        stdout.printf ("not ok %d a 16-byte name: %s\n", ++n, e.message);
        failures++;
    }

    TunTap.Device device;
    try {
        device = new TunTap.Device ("vala%d", TunTap.Mode.TUN);
    } catch (Error e) {
        stdout.printf ("Bail out! %s\n", e.message);
        return 1;
    }
    if (device.name.has_prefix ("vala") && device.get_mode () == TunTap.Mode.TUN) {
        stdout.printf ("ok %d created %s\n", ++n, device.name);
    } else {
        stdout.printf ("not ok %d created %s\n", ++n, device.name);
        failures++;
    }

    /* A truncated IPv4 header: the library refuses it. */
    uint8[] truncated = { 0x45, 0, 0, 20, 0, 0 };
    try {
        device.send (truncated);
        stdout.printf ("not ok %d a truncated IPv4 header was sent\n", ++n);
        failures++;
    } catch (IOError.INVALID_DATA e) {
        stdout.printf ("ok %d a truncated IPv4 header throws INVALID_DATA\n# %s\n", ++n, e.message);
    } catch (Error e) {
        stdout.printf ("not ok %d a truncated IPv4 header: %s\n", ++n, e.message);
        failures++;
    }

    /* The closed signal, with a null error after close (). */
    int closed = 0;
    bool had_error = true;
    device.closed.connect ((error) => {
        closed++;
        had_error = error != null;
    });
    device.close ();
    if (closed == 1 && !had_error && device.is_closed ()) {
        stdout.printf ("ok %d closed is emitted once, with a null error\n", ++n);
    } else {
        stdout.printf ("not ok %d closed: %d times, error %s\n", ++n, closed, had_error.to_string ());
        failures++;
    }

    stdout.printf ("1..%d\n", n);
    return failures == 0 ? 0 : 1;
}
