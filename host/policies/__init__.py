"""One module per branch-choosing policy; the protocol and registry are in host/policy.py."""
