"""``python -m vangnet.cli``: the same command line as the ``vangnet`` script."""

from vangnet.cli import main

main()
