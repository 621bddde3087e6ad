"""The console's sync beside the peers, against one sandbox (run by hand; prints its figures).

  .venv/bin/python tests/bench/peers.py [--contacts 100000] [--rounds 2] [--peers fetch,meltano,singer,sdk,salesforce]

Each peer is installed, unmodified, in a virtual environment of its own (under
$XDG_CACHE_HOME/connector-console/peers, made on first use from the package registry):

- meltano: MeltanoLabs' tap-hubspot (Singer SDK), extract only: discovery, then the contacts stream;
- singer:  singer-io's tap-hubspot, extract only: discovery, then the contacts stream;
- sdk:     HubSpot's own Python SDK, `crm.contacts.get_all` of the same properties;
- fetch:   the floor, a bare `requests` loop over the list endpoint that only fetches and parses (target: the
           console's time at most 2.2 times this);
- salesforce: the Salesforce row, against a Salesforce sandbox of its own: the console's sync of the same number
           of contacts from a Salesforce org beside singer's tap-salesforce (tests/bench/salesforce_peer.py).

The taps hard-code https://api.hubapi.com; a `sitecustomize` shim on `requests` (on their PYTHONPATH
only) sends those requests to the sandbox instead. One sandbox process (limits off) serves every run;
runs are interleaved round by round, so a slower moment of the machine falls on all of them. Each run is
a process of its own, timed from start to exit (imports included), its peak RSS read from the kernel;
a peer's records are counted from its output (distinct ids) and must be all the contacts. The console runs a full
backfill (extract, map, load into SQLite, raw and normalized events) as `sync_throughput.py` does.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.sync_throughput import TOKEN, measure, start_sandbox  # noqa: E402
from tests.bench.verdict import judged  # noqa: E402

PACKAGES = {"meltano": ["meltano-tap-hubspot"], "singer": ["tap-hubspot"], "sdk": ["hubspot-api-client==12.0.0"],
            "tap-salesforce": ["tap-salesforce==2.8.1"]}
SHIM = '''"""Points clients that hard-code https://api.hubapi.com at the sandbox (PEER_HUBSPOT_URL)."""
import os

import requests

_TARGET, _HOST = os.environ.get("PEER_HUBSPOT_URL"), "https://api.hubapi.com"
if _TARGET:
    _send = requests.Session.send

    def send(self, request, **kwargs):
        if request.url.startswith(_HOST):
            request.url = _TARGET + request.url[len(_HOST):]
        return _send(self, request, **kwargs)

    requests.Session.send = send
'''
SDK_SCRIPT = '''import os, sys
from hubspot import HubSpot
api = HubSpot(access_token=os.environ["PEER_TOKEN"], host=os.environ["PEER_HUBSPOT_URL"])
rows = api.crm.contacts.get_all(properties=sys.argv[1].split(","))
print(len(rows))
'''
# The floor: a bare requests loop that pages the list endpoint for the same properties and parses each reply,
# nothing else (no mapping, no storage). Nothing can sync faster than it fetches.
FETCH_SCRIPT = '''import os, sys
import requests
url, token, props = os.environ["PEER_HUBSPOT_URL"], os.environ["PEER_TOKEN"], sys.argv[1]
session, after, ids = requests.Session(), None, set()
session.headers["Authorization"] = f"Bearer {token}"
while True:
    params = {"limit": 100, "properties": props, **({"after": after} if after else {})}
    body = session.get(f"{url}/crm/v3/objects/contacts", params=params, timeout=30).json()
    ids.update(r["id"] for r in body["results"])
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    if not after:
        break
print(len(ids))
'''
# The properties the console's default contacts mapping reads (the SDK is asked for the same).
PROPERTIES = "email,firstname,lastname,phone,company,lifecyclestage,hs_lead_status,hubspot_owner_id,createdate," \
             "lastmodifieddate,hs_analytics_source"


def venvs_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "connector-console" / "peers"


def ensure_venv(name: str) -> Path:
    """The peer's own virtual environment, installed once."""
    home = venvs_home() / name
    python = home / "bin" / "python"
    marker = home / ".installed"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES[name]], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        marker.write_text(" ".join(PACKAGES[name]))
    return home


TIMEOUT = 180.0  # seconds a peer may take before it is stopped and reported as not finishing


def timed(args: list[str], env: dict, stdout) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code; None when stopped at TIMEOUT) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    timer = threading.Timer(TIMEOUT, proc.kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    code = None if proc.returncode == -9 else proc.returncode
    return time.perf_counter() - started, usage.ru_maxrss / 1024, code


class Tap:
    """A Singer tap: discovered once, then run with only the contacts stream selected."""

    def __init__(self, name: str, home: Path, url: str, folder: Path, catalog_flag: str) -> None:
        self.name, self.home, self.folder, self.catalog_flag = name, home, folder, catalog_flag
        self.env = {**os.environ, "PYTHONPATH": str(folder / "shim"), "PEER_HUBSPOT_URL": url}
        self.config = folder / f"{name}-config.json"
        self.config.write_text(json.dumps({"access_token": TOKEN, "api_key": TOKEN, "start_date": "2000-01-01T00:00:00Z"}))
        self.catalog = folder / f"{name}-catalog.json"
        found = subprocess.run([str(home / "bin" / "tap-hubspot"), "--config", str(self.config), "--discover"],
                               env=self.env, capture_output=True, text=True)
        if found.returncode != 0:
            raise RuntimeError(f"{name} discovery failed against the sandbox:\n{found.stderr[-2000:]}")
        catalog = json.loads(found.stdout)
        for stream in catalog["streams"]:
            chosen = stream["tap_stream_id"] == "contacts"
            for entry in stream.get("metadata", []):
                if entry["breadcrumb"] == [] or chosen:
                    entry["metadata"]["selected"] = chosen
        self.catalog.write_text(json.dumps(catalog))

    def run(self) -> dict:
        out = self.folder / f"{self.name}.out"
        with open(out, "wb") as fh:
            seconds, peak, code = timed([str(self.home / "bin" / "tap-hubspot"), "--config", str(self.config),
                                         self.catalog_flag, str(self.catalog)], self.env, fh)
        records, ids = 0, set()
        with open(out, "rb") as fh:
            for line in fh:
                if b'"RECORD"' in line:
                    message = json.loads(line)
                    if message.get("type") == "RECORD":
                        record = message["record"]
                        records += 1
                        ids.add(str(record.get("id") or record.get("vid") or record.get("hs_object_id")))
        out.unlink()
        return {"seconds": seconds, "peak_mb": peak, "records": len(ids), "emitted": records, "ok": code == 0,
                "stopped": code is None}


class Sdk:
    def __init__(self, home: Path, url: str, folder: Path) -> None:
        self.home, self.script = home, folder / "sdk_get_all.py"
        self.script.write_text(SDK_SCRIPT)
        self.env = {**os.environ, "PEER_HUBSPOT_URL": url, "PEER_TOKEN": TOKEN}
        self.name = "sdk"

    def run(self) -> dict:
        out = self.script.with_suffix(".out")
        with open(out, "wb") as fh:
            seconds, peak, code = timed([str(self.home / "bin" / "python"), str(self.script), PROPERTIES], self.env, fh)
        text = out.read_text().strip()
        out.unlink()
        return {"seconds": seconds, "peak_mb": peak, "records": int(text or 0) if code == 0 else 0, "ok": code == 0,
                "stopped": code is None}


class FetchOnly(Sdk):
    """The floor, in the console's own interpreter (requests only)."""

    def __init__(self, url: str, folder: Path) -> None:
        self.home, self.script = Path(sys.executable).parent.parent, folder / "fetch_only.py"
        self.script.write_text(FETCH_SCRIPT)
        self.env = {**os.environ, "PEER_HUBSPOT_URL": url, "PEER_TOKEN": TOKEN}
        self.name = "fetch"


class Console:
    name = "console"

    def __init__(self, contacts: int, url: str) -> None:
        self.contacts, self.url = contacts, url

    def run(self) -> dict:
        r = measure(self.contacts, "sqlite", self.url)
        return {"seconds": r["process_seconds"], "peak_mb": r["peak_mb"], "records": r["seen"], "ok": True,
                "sync_seconds": r["seconds"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--peers", default="fetch,meltano,singer,sdk")
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    args = parser.parse_args()
    globals()["TIMEOUT"] = args.timeout
    names = [p for p in args.peers.split(",") if p and p != "salesforce"]
    homes = {name: ensure_venv(name) for name in names if name != "fetch"}
    proc, url = start_sandbox(args.contacts, limits=False, spread_ties=True)  # MeltanoLabs' tap loops on 10k+ ties
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "shim").mkdir()
            (folder / "shim" / "sitecustomize.py").write_text(SHIM)
            runners: list = []
            for name in names:
                if name == "fetch":
                    runners.append(FetchOnly(url, folder))
                elif name == "sdk":
                    runners.append(Sdk(homes[name], url, folder))
                else:  # singer-io's tap takes its catalog as --properties (an older Singer convention)
                    runners.append(Tap(name, homes[name], url, folder, "--catalog" if name == "meltano" else "--properties"))
            runners.append(Console(args.contacts, url))
            results: dict[str, list[dict]] = {r.name: [] for r in runners}
            for round_ in range(args.rounds):
                order = runners if round_ % 2 == 0 else list(reversed(runners))
                for runner in order:
                    results[runner.name].append(runner.run())
    finally:
        proc.terminate()
        proc.wait()
    console = statistics.median(r["seconds"] for r in results["console"])
    print(f"{args.contacts:,} contacts, {args.rounds} interleaved rounds, one sandbox process, limits off; "
          "median wall time of the whole process:")
    ok = True
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        complete = all(r["ok"] and r["records"] == args.contacts for r in runs)
        ok = ok and complete
        extra = (f"; the sync itself {statistics.median(r['sync_seconds'] for r in runs):.1f} s"
                 if name == "console" else "")
        if any(r.get("stopped") for r in runs):
            print(f"  {name:8} did not finish in {TIMEOUT:.0f} s ({runs[0]['records']:,} contacts read, "
                  f"{runs[0].get('emitted', 0):,} emitted)")
            ok = False
            continue
        emitted = runs[0].get("emitted", runs[0]["records"])
        repeats = f" (+{emitted - runs[0]['records']:,} emitted twice)" if emitted > runs[0]["records"] else ""
        print(f"  {name:8} {seconds:6.1f} s  {args.contacts / seconds:7,.0f} records/s  peak "
              f"{max(r['peak_mb'] for r in runs):4.0f} MB  {runs[0]['records']:,} contacts{repeats}"
              f"{'' if complete else ' (INCOMPLETE)'}  console time / peer time {console / seconds:4.2f}{extra}")
    targets = []
    for peer, at_most in (("fetch", 2.2), ("meltano", 1.0)):  # issue 34: <= 2.2x the floor, <= meltano's time
        if peer in results and not any(r.get("stopped") for r in results[peer]):
            ratio = console / statistics.median(r["seconds"] for r in results[peer])
            targets.append(ratio <= at_most)
            print(f"  target: console time <= {at_most} x {peer}'s: {ratio:.2f}, {'met' if ratio <= at_most else 'missed'}")
    if "salesforce" in args.peers.split(","):
        row = subprocess.run([sys.executable, str(ROOT / "tests/bench/salesforce_peer.py"), "--contacts", str(args.contacts),
                              "--rounds", str(args.rounds)], cwd=ROOT, capture_output=True, text=True)
        print("\n".join(line for line in row.stdout.splitlines() if line.startswith(("[salesforce]", "  "))))
        ok = ok and row.returncode == 0
    return 0 if judged(ok, all(targets), "" if ok else "(a run did not read every contact)") else 1


if __name__ == "__main__":
    sys.exit(main())
