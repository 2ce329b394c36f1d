"""Platform adapters: thin edges that verify, decode, render and send."""
