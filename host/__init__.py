"""The host: receive packets, fuse the audience, decide branches, play graded video."""
