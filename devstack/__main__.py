"""`python -m devstack`: start the local bridge, print READY, run the demo, stay up until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import typer
from rich.console import Console

from devstack.demo import pair_second_till, run_demo
from devstack.processes import StartupFailed
from devstack.stack import Stack, StackConfig

console = Console(highlight=False, soft_wrap=True)
cli = typer.Typer(add_completion=False)


class Stop(Exception):
    """Raised by SIGINT/SIGTERM to unwind start-up or the wait."""


def _stop(*_: Any) -> None:
    raise Stop


@cli.command()
def main(demo: bool = typer.Option(True, help="Post a demo order once the stack is up."),
         exit_after_demo: bool = typer.Option(False, help="Stop the stack after the demo (for CI).")) -> None:
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    config = StackConfig.from_env()
    stack = Stack(config)
    code = 0
    try:
        console.print(f"starting: AWS emulator :{config.aws_port}, API :{config.api_port}, edge :{config.edge_port}")
        stack.start()
        path = config.var_dir / "demo.json"
        print(f"READY {path}", flush=True)
        if demo:
            ok = run_demo(stack_demo(path), lambda line: console.print(f"  [green]✓[/] {line}"))
            pair_second_till(stack_demo(path), lambda line: console.print(f"  [green]✓[/] {line}"),
                             config.var_dir / "edge2" / "edge.toml")
            console.print("demo complete" if ok else "[red]demo webhooks arrived out of order[/]")
            code = 0 if ok else 1
        if not exit_after_demo:
            console.print("the bridge is up; Ctrl-C stops it")
            threading.Event().wait()
    except Stop:
        console.print("stopping")
    except (StartupFailed, TimeoutError, RuntimeError) as exc:
        console.print(f"[red]failed:[/] {exc}")
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    sys.exit(code)


def stack_demo(path: Any) -> dict[str, Any]:
    import json

    return json.loads(path.read_text())


if __name__ == "__main__":
    cli()
