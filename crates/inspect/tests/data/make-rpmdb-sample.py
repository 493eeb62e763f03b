#!/usr/bin/env python3
"""Build rpmdb-sample.sqlite: an rpm 4.16+ sqlite database (same schema as rpm's sqlite
backend) holding three synthesised rpm headers, written by the real SQLite library.
page_size 1024 so the large header spills to overflow pages. Deterministic."""
import os, sqlite3, struct, sys

def header(tags):
    # tags: list of (tag, type, value); STRING=6, INT32=4, BIN=7
    index, data = b"", b""
    for tag, typ, val in tags:
        if typ == 4:
            while len(data) % 4: data += b"\0"
            off = len(data); data += struct.pack(">i", val); count = 1
        elif typ == 7:
            off = len(data); data += val; count = len(val)
        else:
            off = len(data); data += val.encode() + b"\0"; count = 1
        index += struct.pack(">IIiI", tag, typ, off, count)
    return struct.pack(">II", len(tags), len(data)) + index + data

pkgs = [
    [(1000, 6, "bash"), (1001, 6, "5.1.8"), (1002, 6, "9.el9"), (1022, 6, "x86_64")],
    [(1000, 6, "kernel-core"), (1001, 6, "5.14.0"), (1002, 6, "362.8.1.el9_3"), (1003, 4, 0), (1022, 6, "x86_64"),
     (1004, 6, "The Linux kernel " + "x" * 3000)],
    [(1000, 6, "cloud-init"), (1003, 4, 2), (1001, 6, "23.1.1"), (1002, 6, "11.el9"), (1022, 6, "noarch")],
]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rpmdb-sample.sqlite")
if os.path.exists(out): os.remove(out)
db = sqlite3.connect(out)
db.execute("PRAGMA page_size=1024")
db.execute("PRAGMA journal_mode=DELETE")
db.execute("CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)")
db.execute("CREATE TABLE 'Name' (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))")
for i, p in enumerate(pkgs, 1):
    db.execute("INSERT INTO Packages VALUES (?, ?)", (i, header(p)))
    db.execute("INSERT INTO Name VALUES (?, ?, 0)", (p[0][2], i))
db.commit(); db.execute("VACUUM"); db.close()
print(out, os.path.getsize(out))
