"""`python -m bot.cli`: the same command line as the `djbot` script."""

from bot.shell import main

main()
