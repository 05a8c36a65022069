"""Backups that restore: `make backup` and `make restore` (docs/operations.md).

    python -m fagchat.run.backup create                    # FAGCHAT_DB_URL -> FAGCHAT_BACKUP_DIR
    python -m fagchat.run.backup list
    python -m fagchat.run.backup restore [NAME|FOLDER] [--force] [--db-url URL]   # default: newest

What is backed up is the one database FAGCHAT_DB_URL names, because it holds everything
Fagchat keeps: Rasa's conversations (`events`, redacted before storing) and every table of
the staff app (accounts, logins, review decisions, audit log, summaries, schema version).
Left out on purpose: FAGCHAT_VAR_DIR/locks.db and Redis (conversation locks, held for
seconds and expiring on their own), models/cache/embeddings.sqlite (a cache), the trained
model (`make train` makes it again from the repository) and logs.

One backup is one folder named by its UTC time, written as `.partial-…` and renamed when
complete, with the copy (fagchat/run/dumps.py) and manifest.json: when, from where (no
password), the staff schema version, the rows per table, each file's size and sha256.
After a successful backup only the newest FAGCHAT_BACKUP_KEEP are kept. A restore checks the
hashes first, refuses a backup newer than the code or a target holding rows (unless
--force), and afterwards compares the target's rows per table with the manifest. It lives
with the launcher and `services` as one of the commands an operator runs next to the
processes. Output and logs name tables and counts, never stored text.
"""

import argparse
import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from fagchat import settings
from fagchat.logs import configure_logging
from fagchat.run import dumps
from fagchat.run.dumps import BackupError
from fagchat.staff import db_migrations

logger = logging.getLogger("fagchat.backup")
FORMAT = 1
MANIFEST = "manifest.json"
NAME = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
FILES = {"sqlite": "fagchat.sqlite3", "postgresql": "fagchat.pgdump"}
LEFT_OUT = [
    "FAGCHAT_VAR_DIR/locks.db and Redis: conversation locks, held for seconds, expire on their own",
    "models/cache/embeddings.sqlite: a cache of sentence vectors, rebuilt when missing",
    "models/*.tar.gz: the trained model, made again by `make train` from the repository",
]
STALE_PARTIAL = 24 * 3600  # seconds after which a crashed backup's folder is removed


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backups(folder: Path) -> List[Path]:
    """The complete backups in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if NAME.match(p.name) and (p / MANIFEST).is_file())


def create(url: str, folder: Path, keep: int, clock: Callable[[], float] = time.time) -> Path:
    """Back up the database of `url` into a new folder in `folder`; keep the newest `keep`.

    Returns:
        The new backup's folder.
    """
    kind, now = dumps.backend(url), clock()
    # The backups hold what the database holds: readable by Fagchat's user only.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    taken = {p.name for p in folder.iterdir()}
    name = next(n for n in (name, *(f"{name}-{i}" for i in range(2, 1000))) if n not in taken)
    partial = folder / f".partial-{name}"
    partial.mkdir(mode=0o700)
    try:
        copy = partial / FILES[kind]
        dump = dumps.dump_sqlite if kind == "sqlite" else dumps.dump_postgres
        tables, version = dump(url, copy)
        copy.chmod(0o600)
        manifest = {
            "fagchat_backup": FORMAT,
            "created_at": dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="seconds"),
            "backend": kind,
            "source": dumps.hidden_url(url),
            "schema_version": version,
            "code_schema_version": db_migrations.LATEST,
            "files": [{"name": copy.name, "bytes": copy.stat().st_size, "sha256": sha256(copy)}],
            "tables": tables,
            "left_out": LEFT_OUT,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        partial.rename(folder / name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    logger.info(
        "backup.created name=%s backend=%s bytes=%d tables=%d rows=%d",
        name,
        kind,
        manifest["files"][0]["bytes"],
        len(tables),
        sum(tables.values()),
    )
    prune(folder, keep, now)
    return folder / name


def prune(folder: Path, keep: int, now: float) -> List[Path]:
    """Delete all but the newest `keep` backups (0: keep all) and crashed partial ones."""
    gone = backups(folder)[:-keep] if keep > 0 else []
    gone += [p for p in folder.glob(".partial-*") if now - p.stat().st_mtime > STALE_PARTIAL]
    for path in gone:
        shutil.rmtree(path)
        logger.info("backup.deleted name=%s", path.name)
    return gone


def verify(backup: Path) -> Dict[str, Any]:
    """The manifest of `backup` once every file matches its size and SHA-256."""
    try:
        manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupError(f"{backup}: no readable {MANIFEST} ({type(error).__name__}).") from None
    if manifest.get("fagchat_backup") != FORMAT:
        raise BackupError(f"{backup}: not a Fagchat backup of format {FORMAT}.")
    for entry in manifest["files"]:
        path = backup / entry["name"]
        if not path.is_file() or path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
            raise BackupError(
                f"Sikkerhedskopien er beskadiget: {entry['name']} passer ikke med manifestet; intet er gendannet.\n"
                f"The backup is damaged: {entry['name']} does not match its size and SHA-256 in the manifest; "
                f"nothing was restored."
            )
    return manifest


def restore(backup: Path, url: str, force: bool = False) -> Dict[str, Any]:
    """Restore `backup` into the database of `url`; return its manifest.

    Raises:
        BackupError: the backup is damaged, of another database kind or newer than the
            code, or the target holds rows and `force` is off; the target is unchanged.
    """
    manifest = verify(backup)
    kind = dumps.backend(url)
    if manifest["backend"] != kind:
        raise BackupError(f"The backup is of a {manifest['backend']} database; the target is {kind}: nothing restored.")
    version = manifest.get("schema_version")
    if version is not None and version > db_migrations.LATEST:
        raise BackupError(
            f"The backup's staff schema is version {version}, newer than this Fagchat ({db_migrations.LATEST}): "
            "restore it with the release that made it. Nothing restored."
        )
    filled = dumps.filled_tables(url)
    if filled and not force:
        raise BackupError(
            f"Målet indeholder allerede data ({', '.join(filled)}); intet er ændret. Brug --force for at erstatte det.\n"
            f"The target already holds rows in {len(filled)} table(s) ({', '.join(filled)}); nothing was changed. "
            "Use --force to replace its contents."
        )
    file = backup / manifest["files"][0]["name"]
    if kind == "sqlite":
        dumps.restore_sqlite(file, url)
    else:
        dumps.restore_postgres(file, url, list(manifest["tables"]))
    found, _ = dumps.read_contents(url)
    if found != manifest["tables"]:
        differ = sorted(n for n in {*found, *manifest["tables"]} if found.get(n) != manifest["tables"].get(n))
        raise BackupError(f"Restored, but the rows per table differ from the manifest in: {', '.join(differ)}.")
    logger.info(
        "backup.restored name=%s backend=%s tables=%d rows=%d replaced=%s",
        backup.name,
        kind,
        len(found),
        sum(found.values()),
        bool(filled),
    )
    return manifest


def _pick(arg: Optional[str], folder: Path) -> Path:
    """The backup a restore means: a folder, a name in FAGCHAT_BACKUP_DIR, or the newest."""
    if arg:
        path = Path(arg) if Path(arg).is_dir() else folder / arg
        if not path.is_dir():
            raise BackupError(f"No backup {arg!r} (neither a folder nor a name in {folder}).")
        return path
    found = backups(folder)
    if not found:
        raise BackupError(f"No backups in {folder}.")
    return found[-1]


def main(argv: Optional[List[str]] = None) -> int:
    """Command line: create, list or restore."""
    configure_logging()
    env = settings.current()
    parser = argparse.ArgumentParser(prog="python -m fagchat.run.backup", description=__doc__.split("\n")[0])
    parser.add_argument("--db-url", default=env.str("FAGCHAT_DB_URL"), help="database (default: FAGCHAT_DB_URL)")
    parser.add_argument("--dir", type=Path, default=env.path("FAGCHAT_BACKUP_DIR"), help="FAGCHAT_BACKUP_DIR")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("create", help="back up now, then keep the newest FAGCHAT_BACKUP_KEEP")
    sub.add_parser("list", help="the backups, oldest first")
    cmd = sub.add_parser("restore", help="restore a backup (default: the newest)")
    cmd.add_argument("backup", nargs="?", help="a backup folder, or its name in FAGCHAT_BACKUP_DIR")
    cmd.add_argument("--force", action="store_true", help="replace a target that holds rows")
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            path = create(args.db_url, args.dir, env.int("FAGCHAT_BACKUP_KEEP"))
            print(f"Sikkerhedskopi lavet / Backup made: {_summary(path, verify(path))}")
        elif args.command == "list":
            for path in backups(args.dir):
                print(_summary(path, json.loads((path / MANIFEST).read_text(encoding="utf-8"))))
        else:
            path = _pick(args.backup, args.dir)
            manifest = restore(path, args.db_url, args.force)
            target = dumps.hidden_url(args.db_url)
            print(
                f"Gendannet: {path.name} er lagt ind i {target}; rækkerne pr. tabel passer med manifestet.\n"
                f"Restored: {_summary(path, manifest)}\n  into {target}; the rows per table match the manifest.\n"
                "Start Fagchat (make run): the staff app brings the tables to its own schema version at start."
            )
    except BackupError as error:
        logger.error("backup.failed command=%s", args.command)
        print(str(error), file=sys.stderr)
        return 1
    return 0


def _summary(path: Path, manifest: Dict[str, Any]) -> str:
    tables = manifest["tables"]
    size = sum(f["bytes"] for f in manifest["files"])
    return (
        f"{path}  ({manifest['created_at']}, {manifest['backend']}, staff schema {manifest['schema_version']}, "
        f"{len(tables)} tables, {sum(tables.values())} rows, {size} bytes)"
    )


if __name__ == "__main__":
    sys.exit(main())
