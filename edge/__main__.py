"""``python -m edge``: the edge command line."""

from edge.cli import main

main()
