"""A throwaway PostgreSQL cluster for the benchmarks (scripts/lib/postgres.sh), shared by
bench.py and lists_migration.py."""

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

PG_SCRIPT = Path(__file__).resolve().parent.parent / "scripts/lib/postgres.sh"


class Postgres:
    """A throwaway cluster (scripts/lib/postgres.sh) in its own temp folder."""

    def __init__(self):
        # Its own folder: as root, postgres.sh hands the folder to the postgres user, which must be
        # able to reach it (a folder inside our 0700 work folder would not be).
        self.dir = Path(tempfile.mkdtemp(prefix="listo-bench-pg-"))
        self.url = None

    def start(self):
        out = subprocess.run(["bash", str(PG_SCRIPT), "start", str(self.dir)], check=True,
                             stdout=subprocess.PIPE, text=True)
        self.url = out.stdout.strip().splitlines()[-1]
        bindir = subprocess.run(["bash", "-c", f". {PG_SCRIPT} && pg_bin_dir"], check=True,
                                stdout=subprocess.PIPE, text=True).stdout.strip()
        self.psql = str(Path(bindir) / "psql")
        names = ["server_version", "synchronous_commit", "fsync", "wal_sync_method", "shared_buffers",
                 "max_connections"]
        self.settings = dict(zip(names, [self.show(n) for n in names]))
        print(f"bench: PostgreSQL {self.settings['server_version']} at {self.url}; "
              f"SHOW synchronous_commit = {self.settings['synchronous_commit']}, "
              f"fsync = {self.settings['fsync']}", flush=True)
        if self.settings["synchronous_commit"] != "on" or self.settings["fsync"] != "on":
            raise SystemExit("bench: PostgreSQL must run with synchronous_commit and fsync on")
        return self.url

    def sql(self, command, url=None):
        out = subprocess.run([self.psql, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url or self.url, "-c", command],
                             check=True, stdout=subprocess.PIPE, text=True)
        return out.stdout.strip()

    def script(self, text, url=None):
        """Runs an SQL script through psql (each statement its own transaction unless it says BEGIN)."""
        subprocess.run([self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url or self.url, "-f", "-"],
                       input=text, check=True, stdout=subprocess.DEVNULL, text=True)

    def show(self, name):
        return self.sql(f"SHOW {name}")

    def settle(self):
        """After the bulk seed: statistics and a checkpoint now, not in the middle of a scenario.
        Autovacuum would analyze the fresh tables within its first minute anyway (plans change when
        it does), and the checkpoint would write the seed's dirty pages during whatever runs then."""
        started = time.monotonic()
        self.sql("VACUUM ANALYZE")
        self.sql("CHECKPOINT")
        print(f"bench: VACUUM ANALYZE and CHECKPOINT after seeding took {time.monotonic() - started:.1f} s", flush=True)

    def pss_mb(self):
        """Proportional set size of the postmaster and all its children (shared memory counted once)."""
        try:
            root = int((self.dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        pids = [root]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == root:
                    pids.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                pass
        kb = 0
        for pid in pids:
            try:
                kb += int(re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M).group(1))
            except (OSError, AttributeError):
                pass
        return kb / 1024

    def stop(self):
        try:
            subprocess.run(["bash", str(PG_SCRIPT), "stop", str(self.dir)], check=False)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
