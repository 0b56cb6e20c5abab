"""Sanctions-list benchmark: diff two generations of a 15 MB OFAC SDN list.

Writes a synthetic SDN XML list in the real schema (sdnList / publshInformation /
sdnEntry with programs, aliases, addresses, ids, nationality, dates of birth, vessel info;
namespace http://tempuri.org/sdnList.xsd) of ~15,000 entries (~15 MB), and a second
generation with a few hundred additions, removals, alias changes and program changes. Both
are served on a loopback server; each poll runs in its own child process through the real
pipeline (fetch → stream-parse → diff against the snapshot in SQLite → Documents → store):
the first is the baseline, the second the diff. Prints each poll's time, the documents it
made and its peak RSS (ru_maxrss of the child: imports included). Targets (issue #11):
the diff of a 15 MB list in ≤ 5 s and ≤ 200 MB.

    python bench/sanctions.py [--entries 15000] [--changes 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

SDN_URL = "https://www.treasury.gov/ofac/downloads/sdn.xml"
_PROGRAMS = [
    "SDGT",
    "DPRK",
    "DPRK2",
    "DPRK3",
    "DPRK4",
    "IRAN",
    "SYRIA",
    "CUBA",
    "VENEZUELA",
    "RUSSIA-EO14024",
    "UKRAINE-EO13662",
    "NPWMD",
    "SDNTK",
    "GLOMAG",
    "CYBER2",
]
_COUNTRIES = [
    "Korea, North",
    "Iran",
    "Syria",
    "Russia",
    "China",
    "Venezuela",
    "Lebanon",
    "United Arab Emirates",
    "Cuba",
    "Turkey",
]
_CITIES = [
    "Pyongyang",
    "Tehran",
    "Damascus",
    "Moscow",
    "Dandong",
    "Caracas",
    "Beirut",
    "Dubai",
    "Havana",
    "Istanbul",
]
_SYLLABLES = [
    "KIM",
    "RI",
    "PAK",
    "CHOE",
    "JONG",
    "AL",
    "HASSAN",
    "PETROV",
    "IVANOV",
    "GARCIA",
    "SOL",
    "MIN",
    "HYOK",
    "YONG",
    "CHOL",
    "NAM",
    "SU",
    "AHMAD",
    "REZA",
    "VLADIMIR",
]


def _name(rng: random.Random, parts: int) -> str:
    return " ".join(rng.choice(_SYLLABLES) for _ in range(parts))


def _entry(uid: int, rng: random.Random, aliases: int = 0, extra_program: bool = False) -> str:
    """One sdnEntry; `aliases` and `extra_program` vary it between generations."""
    person = rng.random() < 0.55
    vessel = not person and rng.random() < 0.1
    sub = uid * 100
    lines = [f"  <sdnEntry>\n    <uid>{uid}</uid>"]
    if person:
        lines.append(f"    <firstName>{_name(rng, 2).title()}</firstName>")
        lines.append(f"    <lastName>{_name(rng, 1)}</lastName>")
        if rng.random() < 0.4:
            lines.append(f"    <title>{escape(_name(rng, 2).title())} Official</title>")
    else:
        suffix = "" if vessel else " TRADING CO LTD"
        lines.append(f"    <lastName>{_name(rng, 2)}{suffix}</lastName>")
    kind = "Individual" if person else ("Vessel" if vessel else "Entity")
    lines.append(f"    <sdnType>{kind}</sdnType>")
    if rng.random() < 0.3:
        lines.append(f"    <remarks>Linked To: {_name(rng, 2)} COMPANY.</remarks>")
    # The added program is one no entry has yet, so every program change is a change.
    programs = rng.sample(_PROGRAMS, rng.randint(1, 2)) + (["HK-EO13936"] if extra_program else [])
    lines.append("    <programList>")
    lines += [f"      <program>{p}</program>" for p in dict.fromkeys(programs)]
    lines.append("    </programList>")

    def item_list(tag: str, item: str, rows: list[list[tuple[str, str]]]) -> None:
        nonlocal sub
        lines.append(f"    <{tag}>")
        for row in rows:
            sub += 1
            lines.append(f"      <{item}>\n        <uid>{sub}</uid>")
            lines.extend(f"        <{k}>{escape(v)}</{k}>" for k, v in row)
            lines.append(f"      </{item}>")
        lines.append(f"    </{tag}>")

    country = rng.choice(_COUNTRIES)
    item_list(
        "idList",
        "id",
        [
            [
                ("idType", "Passport" if person else "Registration Number"),
                ("idNumber", str(rng.randint(10**8, 10**9))),
                ("idCountry", country),
            ]
            for _ in range(1 if rng.random() < 0.75 else 2)
        ],
    )
    item_list(
        "akaList",
        "aka",
        [
            [
                ("type", "a.k.a."),
                ("category", rng.choice(["strong", "weak"])),
                ("lastName", _name(rng, 2)),
            ]
            for _ in range(rng.randint(0, 2) + aliases)
        ],
    )
    item_list(
        "addressList",
        "address",
        [
            [
                ("address1", f"{rng.randint(1, 999)} {_name(rng, 1).title()} Street"),
                ("city", rng.choice(_CITIES)),
                ("country", country),
            ]
            for _ in range(1)
        ],
    )
    if person:
        item_list("nationalityList", "nationality", [[("country", country), ("mainEntry", "true")]])
        item_list(
            "dateOfBirthList",
            "dateOfBirthItem",
            [
                [
                    ("dateOfBirth", f"{rng.randint(1, 28):02d} Jan {rng.randint(1940, 1990)}"),
                    ("mainEntry", "true"),
                ]
            ],
        )
    if vessel:
        lines.append(
            f"    <vesselInfo>\n      <callSign>{_name(rng, 1)[:4]}{uid % 100}</callSign>\n"
            f"      <vesselType>Crude Oil Tanker</vesselType>\n"
            f"      <vesselFlag>{country}</vesselFlag>\n"
            f"      <grossRegisteredTonnage>{rng.randint(1000, 90000)}</grossRegisteredTonnage>"
            "\n    </vesselInfo>"
        )
    lines.append("  </sdnEntry>")
    return "\n".join(lines)


def generation(uids: list[int], date: str, aliases: set[int], programs: set[int]) -> bytes:
    """A whole sdn.xml: every entry derived from its uid, so both generations agree."""
    body = [
        '<?xml version="1.0" standalone="yes"?>',
        '<sdnList xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns="http://tempuri.org/sdnList.xsd">',
        f"  <publshInformation>\n    <Publish_Date>{date}</Publish_Date>\n"
        f"    <Record_Count>{len(uids)}</Record_Count>\n  </publshInformation>",
    ]
    for uid in uids:
        rng = random.Random(uid)
        body.append(_entry(uid, rng, aliases=int(uid in aliases), extra_program=uid in programs))
    body.append("</sdnList>\n")
    return "\n".join(body).encode("utf-8")


def _child(database_url: str, base_url: str) -> None:
    """One poll of the list through the real pipeline; prints a JSON line of figures."""
    import asyncio
    import resource
    import time

    from monitor.fetch import Fetcher
    from monitor.fixture_server import RewriteTransport
    from monitor.pipeline import PollContext, run_source
    from monitor.settings import Settings
    from monitor.sources.sanctions import SanctionsOptions
    from monitor.store import Store

    settings = Settings(database_url=database_url, host_delay=0.0, fetch_deadline=60.0)
    store = Store.open(database_url)
    options = SanctionsOptions(id="ofac-sdn", url=SDN_URL)

    async def run() -> dict[str, object]:
        async with Fetcher(settings, transport=RewriteTransport(base_url)) as fetcher:
            started = time.perf_counter()
            result = await run_source(options, PollContext(fetcher=fetcher, store=store))
            seconds = time.perf_counter() - started
        kinds: dict[str, int] = {}
        for change in result.changes:
            kinds[change.document.kind or "?"] = kinds.get(change.document.kind or "?", 0) + 1
        return {
            "status": result.status,
            "error": result.error,
            "entries": result.items,
            "seconds": round(seconds, 2),
            "documents": kinds,
            "note": result.note,
        }

    figures = asyncio.run(run())
    store.close()
    # VmHWM: ru_maxrss would carry the forking parent's size across exec on Linux.
    hwm = [line for line in Path("/proc/self/status").read_text().splitlines() if "VmHWM" in line]
    peak_kb = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures["peak_rss_mb"] = round(peak_kb / 1024, 1)
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=15_000)
    parser.add_argument("--changes", type=int, default=200, help="of each kind")
    parser.add_argument("--keep", type=Path, help="write the two lists to this folder")
    parser.add_argument(
        "--child", nargs=2, metavar=("DATABASE_URL", "BASE_URL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    from monitor.fixture_server import FixtureServer, Route, production_path

    n, k = args.entries, args.changes
    first = list(range(10_000, 10_000 + n))
    rng = random.Random(11)
    removed = set(rng.sample(first, k))
    unchanged = [u for u in first if u not in removed]
    aliases = set(rng.sample(unchanged, k))
    programs = set(rng.sample([u for u in unchanged if u not in aliases], k))
    second = [u for u in first if u not in removed] + list(range(10_000 + n, 10_000 + n + k))
    gen1 = generation(first, "02/22/2018", set(), set())
    gen2 = generation(second, "02/23/2018", aliases, programs)
    print(f"generation 1: {n} entries, {len(gen1) / 1e6:.1f} MB")
    print(
        f"generation 2: {len(second)} entries, {len(gen2) / 1e6:.1f} MB "
        f"(+{k} designations, -{k} delistings, {k} alias and {k} program amendments)"
    )
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        (args.keep / "sdn-1.xml").write_bytes(gen1)
        (args.keep / "sdn-2.xml").write_bytes(gen2)
    path = production_path(SDN_URL)
    with tempfile.TemporaryDirectory(prefix="bench-sanctions-") as tmp, FixtureServer() as server:
        database_url = f"sqlite:///{tmp}/bench.db"
        for label, body in (("baseline (gen 1)", gen1), ("diff (gen 1 → gen 2)", gen2)):
            server.routes[path] = Route(body=body, content_type="text/xml")
            out = subprocess.run(
                [sys.executable, __file__, "--child", database_url, server.base_url],
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{label:22} {figures['seconds']:6.2f} s  "
                f"peak RSS {figures['peak_rss_mb']:6.1f} MB"
                f"  {figures['status']}  documents {figures['documents']}"
                f"{'  ' + figures['note'] if figures['note'] else ''}"
                f"{'  ' + str(figures['error']) if figures['error'] else ''}"
            )
    print("targets: diff ≤ 5 s and ≤ 200 MB")


if __name__ == "__main__":
    main()
