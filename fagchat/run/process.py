"""Run one Fagchat process in the foreground, the way its systemd unit does (deploy/systemd/).

    python -m fagchat.run.process rasa --write-endpoints   # ExecStartPre: check, write the endpoints file
    python -m fagchat.run.process rasa                     # ExecStart: become the Rasa server
    python -m fagchat.run.process rasa --wait-ready        # ExecStartPost: return once it answers
    python -m fagchat.run.process rasa --print             # show the command line, start nothing
    python -m fagchat.run.process rasa --port 5006 ...     # a templated unit: fagchat-rasa@5006.service

Settings come from the environment (under systemd: EnvironmentFile=/etc/fagchat/fagchat.env).
The command line is `launcher.command()` and the environment `launcher.service_env()`, the ones
`make run` uses, so a unit cannot start something else than the launcher. The process is
replaced by the server (exec): systemd then watches, stops and restarts the server itself.
"""

import argparse
import os
import shlex
import sys
import time
from typing import Dict, List, Optional

from fagchat.run import launcher
from fagchat.run.serve import PORT_SETTINGS


def environment(name: str, port: Optional[int]) -> Dict[str, str]:
    """This process's environment, with the port of a templated unit's instance on top."""
    env = dict(os.environ)
    if port is not None:
        env[PORT_SETTINGS[name]] = str(port)
    return env


def write_endpoints(env: Dict[str, str]) -> int:
    """Check the Rasa settings and the model, then write the endpoints file (before Rasa loads for a minute)."""
    launcher.rasa_workers(env)
    model = launcher.model_path(env)
    if not model.exists():
        raise SystemExit(f"No trained model at {model}: run `make train` in the checkout (or set FAGCHAT_MODEL).")
    print(f"endpoints file: {launcher.write_endpoints(env)}", flush=True)
    return 0


def wait_ready(name: str, env: Dict[str, str], timeout: float) -> int:
    """Poll the process's health URL until it answers 200; fail after `timeout` seconds."""
    url = launcher.health_url(name, env)
    deadline = time.monotonic() + timeout
    while not launcher.is_up(url):
        if time.monotonic() > deadline:
            print(f"{name} did not answer {url} within {timeout:.0f} s", file=sys.stderr)
            return 1
        time.sleep(0.5)
    print(f"{name} ready at {url}", flush=True)
    return 0


def run(name: str, env: Dict[str, str]) -> int:
    """Replace this process by the service's server (never returns)."""
    argv = launcher.command(name, env)
    os.chdir(launcher.ROOT)
    os.execve(argv[0], argv, launcher.service_env(name, env))
    return 1  # not reached: execve returns only by raising


def main(argv: Optional[List[str]] = None) -> int:
    """Parse the arguments and do one of the four things."""
    parser = argparse.ArgumentParser(prog="python -m fagchat.run.process", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=launcher.SERVICES)
    parser.add_argument("--port", type=int, help="listen on this port instead of the setting's (templated units)")
    step = parser.add_mutually_exclusive_group()
    step.add_argument("--write-endpoints", action="store_true", help="rasa only: check settings, write endpoints")
    step.add_argument("--wait-ready", action="store_true", help="wait until the process answers its health URL")
    step.add_argument("--print", action="store_true", help="print the command line instead of running it")
    parser.add_argument("--timeout", type=float, default=300, help="seconds --wait-ready waits (default 300)")
    args = parser.parse_args(argv)
    env = environment(args.name, args.port)
    if args.write_endpoints:
        if args.name != "rasa":
            parser.error("--write-endpoints is for rasa only")
        return write_endpoints(env)
    if args.wait_ready:
        return wait_ready(args.name, env, args.timeout)
    if args.print:
        print(shlex.join(launcher.command(args.name, env)))
        return 0
    return run(args.name, env)


if __name__ == "__main__":
    sys.exit(main())
