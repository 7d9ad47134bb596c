"""Empathy Engine: adaptive cinema driven by the audience's body.

Sub-packages map the repository's top-level folders: ``empathy.sensors``, ``empathy.edge``,
``empathy.models``, ``empathy.host``, ``empathy.calibration``, ``empathy.bench``. This core
holds only what both sides share: the wire format, config loading, clocks and logging.
"""

# One number for the package, `empathy --version` and what a unit's heartbeat declares it runs
# (wire.RELEASE): the host tells an older or newer unit by it. 0.35.0: session 35, the first
# release to declare itself (every one before sent 0.1.0, never bumped).
__version__ = "0.35.0"
