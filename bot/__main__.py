"""`python -m bot`: the `djbot` script, for a checkout that is not installed."""

from bot.shell import main

main()
