#!/usr/bin/env python3
"""Count protocol message types in pgwire fixture files.

    fixture-stats.py [--markdown] [--update-readme README] [--require-coverage] FILE...

Prints one row per message kind: direction, type byte, total count and the
files that hold it.  Authentication requests ('R') are split by their request
code, untyped frontend packets by their code, and frontend 'p' messages by the
authentication request they answer (PasswordMessage, SASLInitialResponse,
SASLResponse), which the file shows in the preceding 'R' of the same
connection.

--update-readme rewrites the generated parts of pgwire-fixtures/README.md (the
comment at the top and the coverage table between the marker lines).
--require-coverage exits 1 if a protocol 3.0 message kind that can be
produced without Kerberos/SSPI is missing.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import defaultdict

FRONTEND = {
    "B": "Bind", "C": "Close", "d": "CopyData", "c": "CopyDone", "f": "CopyFail",
    "D": "Describe", "E": "Execute", "H": "Flush", "F": "FunctionCall",
    "P": "Parse", "Q": "Query", "S": "Sync", "X": "Terminate",
    # 'p' is named from context, see frontend_p_name()
}
BACKEND = {
    "K": "BackendKeyData", "2": "BindComplete", "3": "CloseComplete", "C": "CommandComplete",
    "d": "CopyData", "c": "CopyDone", "G": "CopyInResponse", "H": "CopyOutResponse",
    "W": "CopyBothResponse", "D": "DataRow", "I": "EmptyQueryResponse", "E": "ErrorResponse",
    "V": "FunctionCallResponse", "v": "NegotiateProtocolVersion", "n": "NoData",
    "N": "NoticeResponse", "A": "NotificationResponse", "t": "ParameterDescription",
    "S": "ParameterStatus", "1": "ParseComplete", "s": "PortalSuspended",
    "Z": "ReadyForQuery", "T": "RowDescription",
}
AUTH = {
    0: "AuthenticationOk", 2: "AuthenticationKerberosV5", 3: "AuthenticationCleartextPassword",
    5: "AuthenticationMD5Password", 7: "AuthenticationGSS", 8: "AuthenticationGSSContinue",
    9: "AuthenticationSSPI", 10: "AuthenticationSASL", 11: "AuthenticationSASLContinue",
    12: "AuthenticationSASLFinal",
}
UNTYPED = {80877103: "SSLRequest", 80877104: "GSSENCRequest", 80877102: "CancelRequest"}

# Kinds that need Kerberos/GSSAPI or Windows SSPI (or are obsolete) and cannot
# be recorded against a plain local server.
UNRECORDABLE = {
    ("B", "AuthenticationKerberosV5"), ("B", "AuthenticationGSS"),
    ("B", "AuthenticationGSSContinue"), ("B", "AuthenticationSSPI"), ("F", "GSSResponse"),
}


def expected_kinds() -> list[tuple[str, str, str]]:
    """(direction, type byte, name) for every protocol 3.0 message kind."""
    kinds = [("F", "-", "StartupMessage"), ("F", "-", "StartupMessage 3.2"), ("F", "-", "SSLRequest"),
             ("F", "-", "GSSENCRequest"), ("F", "-", "CancelRequest")]
    kinds += [("F", t, n) for t, n in FRONTEND.items()]
    kinds += [("F", "p", n) for n in ("PasswordMessage", "SASLInitialResponse", "SASLResponse", "GSSResponse")]
    kinds += [("B", "R", n) for n in AUTH.values()]
    kinds += [("B", t, n) for t, n in BACKEND.items()]
    kinds += [("B", "-", "SSL/GSSENC answer (single byte)")]
    return kinds


def frontend_p_name(last_auth: int | None) -> str:
    return {3: "PasswordMessage", 5: "PasswordMessage", 10: "SASLInitialResponse",
            11: "SASLResponse", 7: "GSSResponse", 8: "GSSResponse"}.get(last_auth, "PasswordMessage (p)")


def classify(path: str):
    """Yield (direction, type byte, name) for each frame of a fixture file."""
    last_auth: dict[int, int | None] = defaultdict(lambda: None)
    connection = 0
    with open(path, encoding="ascii") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("#"):
                m = re.fullmatch(r"# connection (\d+)", line)
                if m:
                    connection = int(m.group(1))
                continue
            if len(line) < 3:
                continue
            tag, data = line[0], bytes.fromhex(line[2:])
            if tag == "b":
                yield "B", "-", "SSL/GSSENC answer (single byte)"
            elif tag == "f":
                code = int.from_bytes(data[4:8], "big")
                if code in UNTYPED:
                    yield "F", "-", UNTYPED[code]
                elif code == 3 << 16:
                    yield "F", "-", "StartupMessage"
                else:
                    yield "F", "-", f"StartupMessage {code >> 16}.{code & 0xFFFF}"
            elif tag == "F":
                t = chr(data[0])
                if t == "p":
                    yield "F", "p", frontend_p_name(last_auth[connection])
                else:
                    yield "F", t, FRONTEND.get(t, f"unknown {t!r}")
            elif tag == "B":
                t = chr(data[0])
                if t == "R":
                    code = int.from_bytes(data[5:9], "big")
                    last_auth[connection] = code
                    yield "B", "R", AUTH.get(code, f"Authentication code {code}")
                else:
                    yield "B", t, BACKEND.get(t, f"unknown {t!r}")


def gather(paths: list[str]):
    counts: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in paths:
        name = os.path.basename(path)
        for kind in classify(path):
            counts[kind][name] += 1
    return counts


def order_key(kind: tuple[str, str, str]):
    order = {k: i for i, k in enumerate(expected_kinds())}
    return (0 if kind[0] == "F" else 1, order.get(kind, 10_000), kind[2])


def table(counts, paths: list[str]) -> str:
    files = [os.path.basename(p) for p in paths]
    kinds = sorted(set(counts) | set(expected_kinds()), key=order_key)
    rows = ["| Direction | Type | Message | Count | Fixture files (count) |",
            "| --- | --- | --- | ---: | --- |"]
    for kind in kinds:
        direction, t, name = kind
        per_file = counts.get(kind, {})
        total = sum(per_file.values())
        if total == 0:
            where = "not recorded (needs Kerberos/GSSAPI or SSPI)" if (direction, name) in UNRECORDABLE else "**missing**"
        elif len(per_file) == len(files) and len(files) > 3:
            where = f"all {len(files)} files"
        else:
            where = ", ".join(f"{f.removesuffix('.pgw')} ({per_file[f]})" for f in files if f in per_file)
        shown_type = "untyped" if t == "-" and direction == "F" else ("1 byte" if t == "-" else f"`{t}`")
        rows.append(f"| {'frontend' if direction == 'F' else 'backend'} | {shown_type} | {name} | {total} | {where} |")
    return "\n".join(rows)


def per_file_comment(counts, paths: list[str]) -> str:
    lines = ["<!--", "Which fixture holds which message kinds (generated by tools/fixture-stats.py):"]
    for path in paths:
        f = os.path.basename(path)
        front = sorted({k[2] for k, c in counts.items() if k[0] == "F" and f in c})
        back = sorted({k[2] for k, c in counts.items() if k[0] == "B" and f in c})
        lines.append(f"  {f}")
        lines.append(f"    frontend: {', '.join(front)}")
        lines.append(f"    backend:  {', '.join(back)}")
    lines.append("-->")
    return "\n".join(lines)


def missing(counts) -> list[tuple[str, str, str]]:
    return [k for k in expected_kinds() if k not in counts and (k[0], k[2]) not in UNRECORDABLE]


def update_readme(readme: str, comment: str, tbl: str) -> None:
    with open(readme, encoding="utf-8") as fh:
        text = fh.read()
    # The generated comment is the first thing in the file.
    if text.startswith("<!--"):
        end = text.index("-->") + 3
        text = text[end:].lstrip("\n")
    text = comment + "\n\n" + text
    begin, end = "<!-- coverage:begin -->", "<!-- coverage:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{tbl}\n{end}{tail}"
    else:
        text += f"\n{begin}\n{tbl}\n{end}\n"
    with open(readme, "w", encoding="utf-8") as fh:
        fh.write(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--update-readme", metavar="README")
    ap.add_argument("--require-coverage", action="store_true")
    args = ap.parse_args()
    paths = sorted(args.files)
    counts = gather(paths)
    tbl = table(counts, paths)
    print(tbl)
    gaps = missing(counts)
    if gaps:
        print("\nmissing: " + ", ".join(f"{d} {n}" for d, _, n in gaps))
    if args.update_readme:
        update_readme(args.update_readme, per_file_comment(counts, paths), tbl)
    return 1 if (gaps and args.require_coverage) else 0


if __name__ == "__main__":
    sys.exit(main())
