// SPDX-License-Identifier: LGPL-2.1-or-later
// Where the API reference's links into other namespaces point: gi-docgen
// writes them as data-namespace/data-link, and main.js joins the base URL
// given here with the link when the page loads.
baseURLs = [
    ['GLib', 'https://docs.gtk.org/glib/'],
    ['GObject', 'https://docs.gtk.org/gobject/'],
    ['Gio', 'https://docs.gtk.org/gio/'],
];
