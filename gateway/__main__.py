"""`python -m gateway` is the `guardgate` command."""

from gateway.cli import main

main()
