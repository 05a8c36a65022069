"""Commands for the staff app: accounts, training-data export and merge, retention, schema.

    python -m fagchat.staff.cli create-user anna            # asks for the password twice
    echo "$PW" | python -m fagchat.staff.cli create-user anna --password-stdin
    python -m fagchat.staff.cli set-password anna            # reset; also lifts a lockout
    python -m fagchat.staff.cli create-user anna --admin     # may train and approve models
    python -m fagchat.staff.cli set-admin anna [--off]       # give (or take) the admin flag
    python -m fagchat.staff.cli export-nlu --out reviewed.yml
    python -m fagchat.staff.cli merge-nlu data/nlu.yml [--from reviewed.yml]
    python -m fagchat.staff.cli purge                        # retention purge now
    python -m fagchat.staff.cli reindex                      # rebuild the summary tables
    python -m fagchat.staff.cli migrate                      # = python -m fagchat.staff migrate

Every command uses the settings (FAGCHAT_DB_URL, ...) like the app does.
"""

import argparse
import getpass
import re
import sys
from pathlib import Path
from typing import List, Optional

from sqlalchemy.exc import IntegrityError

from fagchat.logs import configure_logging
from fagchat.staff import db, db_accounts, db_migrations, indexer, nlu, retention
from fagchat.staff.auth import hash_password
from fagchat.staff.config import StaffConfig
from fagchat.staff.engine import connect

MIN_PASSWORD = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Adgangskode: ")
        if getpass.getpass("Gentag adgangskoden: ") != password:
            raise SystemExit("The passwords differ.")
    if len(password) < MIN_PASSWORD:
        raise SystemExit(f"The password must have at least {MIN_PASSWORD} characters.")
    return password


def _username(raw: str) -> str:
    name = raw.strip().lower()
    if not _USERNAME.match(name):
        raise SystemExit("User names are 2-64 characters: a-z, 0-9, '.', '_' or '-'.")
    return name


def create_user(args: argparse.Namespace, config: StaffConfig) -> int:
    """Add a staff account."""
    name, password = _username(args.username), _password(args)
    engine = connect(config.db_url, config.query_timeout_ms)
    try:
        with engine.begin() as conn:
            db_accounts.create_user(conn, name, hash_password(password), config.clock(), admin=args.admin)
            db_accounts.add_audit(conn, config.clock(), "cli", "user.create", target=name, detail=_role(args.admin))
    except IntegrityError:
        raise SystemExit(f"User {name!r} exists already (use set-password).") from None
    print(f"Created staff user {name!r}.")
    return 0


def _role(admin: bool) -> str:
    return "admin" if admin else ""


def set_admin(args: argparse.Namespace, config: StaffConfig) -> int:
    """Give an account the admin flag (train, approve and roll back models), or take it."""
    name, admin = _username(args.username), not args.off
    engine = connect(config.db_url, config.query_timeout_ms)
    with engine.begin() as conn:
        if not db_accounts.set_admin(conn, name, admin):
            raise SystemExit(f"No user {name!r}.")
        db_accounts.add_audit(conn, config.clock(), "cli", "user.admin", target=name, detail="on" if admin else "off")
    print(f"{name!r} is {'now' if admin else 'no longer'} an admin.")
    return 0


def set_password(args: argparse.Namespace, config: StaffConfig) -> int:
    """Give an account a new password, end its logins and lift a lockout."""
    name, password = _username(args.username), _password(args)
    engine = connect(config.db_url, config.query_timeout_ms)
    with engine.begin() as conn:
        if not db_accounts.set_password(conn, name, hash_password(password)):
            raise SystemExit(f"No user {name!r}.")
        db_accounts.delete_sessions(conn, username=name)
        db_accounts.clear_login_failures(conn, name)
        db_accounts.add_audit(conn, config.clock(), "cli", "user.password", target=name)
    print(f"New password set for {name!r}.")
    return 0


def _decisions(config: StaffConfig) -> List[tuple]:
    engine = connect(config.db_url, config.query_timeout_ms)
    with engine.begin() as conn:
        return [(r.decision, r.example) for r in db.decided_examples(conn, 100000)]


def export_nlu(args: argparse.Namespace, config: StaffConfig) -> int:
    """Write the reviewed messages as Rasa NLU YAML."""
    text = nlu.export_yaml(_decisions(config), config.today())
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def merge_nlu(args: argparse.Namespace, config: StaffConfig) -> int:
    """Merge reviewed examples into an NLU file without duplicates."""
    pairs = nlu.read_export(Path(args.source)) if args.source else _decisions(config)
    report = nlu.merge(Path(args.nlu), pairs, config.intents())
    for intent, n in sorted(report.added.items()):
        print(f"  + {n:3d}  {intent}")
    for _example, there, wanted in report.conflicts:
        print(f"  conflict: an example for {wanted!r} is already under {there!r}; skipped")
    for intent in report.unknown:
        print(f"  unknown intent {intent!r} (not in domain.yml); skipped")
    print(
        f"Added {report.total} example(s) to {args.nlu}; {report.duplicates} already there, "
        f"{len(report.conflicts)} conflict(s). Next: make train"
    )
    engine = connect(config.db_url, config.query_timeout_ms)
    with engine.begin() as conn:
        db_accounts.add_audit(
            conn, config.clock(), "cli", "nlu.merge", target=str(args.nlu), detail=f"added={report.total}"
        )
    return 0


def purge(args: argparse.Namespace, config: StaffConfig) -> int:
    """Run the retention purge now."""
    engine = connect(config.db_url, config.query_timeout_ms)
    count = retention.purge(engine, config.retention_days, config.clock, actor="cli")
    print(f"Deleted {count} conversation(s) idle for more than {config.retention_days} days.")
    return 0


def reindex(args: argparse.Namespace, config: StaffConfig) -> int:
    """Rebuild the summary tables from Rasa's events."""
    engine = connect(config.db_url, config.query_timeout_ms)
    count = indexer.reindex(engine, indexer.day_function(config.tz))
    print(f"Indexed {count} event(s).")
    return 0


def migrate(args: argparse.Namespace, config: StaffConfig) -> int:
    """Bring the staff tables to this release's schema (the app also does it at start)."""
    try:
        before, after = db_migrations.migrate(config.db_url)
    except db_migrations.SchemaTooNew as error:
        raise SystemExit(str(error)) from None
    if before == after:
        print(f"Staff schema already at version {after}: nothing to do. / Skemaet er allerede version {after}.")
    else:
        was = "no staff tables" if before is None else f"version {before}"
        print(f"Staff schema: {was} -> version {after}. / Personaletabellerne er nu version {after}.")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="python -m fagchat.staff.cli", description=__doc__.split("\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    for name, func in (("create-user", create_user), ("set-password", set_password)):
        cmd = sub.add_parser(name, help=func.__doc__)
        cmd.add_argument("username")
        cmd.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        cmd.set_defaults(func=func, admin=False)
    sub.choices["create-user"].add_argument("--admin", action="store_true", help="may train and approve models")
    cmd = sub.add_parser("set-admin", help=set_admin.__doc__)
    cmd.add_argument("username")
    cmd.add_argument("--off", action="store_true", help="take the flag away")
    cmd.set_defaults(func=set_admin)
    cmd = sub.add_parser("export-nlu", help=export_nlu.__doc__)
    cmd.add_argument("--out", help="file to write (default: stdout)")
    cmd.set_defaults(func=export_nlu)
    cmd = sub.add_parser("merge-nlu", help=merge_nlu.__doc__)
    cmd.add_argument("nlu", help="the NLU file to merge into, e.g. data/nlu.yml")
    cmd.add_argument("--from", dest="source", help="an exported YAML file (default: the database)")
    cmd.set_defaults(func=merge_nlu)
    for name, func in (("purge", purge), ("reindex", reindex), ("migrate", migrate)):
        sub.add_parser(name, help=func.__doc__).set_defaults(func=func)
    return top


def main(argv: Optional[List[str]] = None, config: Optional[StaffConfig] = None) -> int:
    """Run one command; `config` lets tests use their own database."""
    configure_logging()
    args = parser().parse_args(argv)
    return args.func(args, config or StaffConfig.from_settings())


if __name__ == "__main__":
    sys.exit(main())
