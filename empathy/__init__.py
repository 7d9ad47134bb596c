"""Empathy Engine: adaptive cinema driven by the audience's body.

Sub-packages map the repository's top-level folders: ``empathy.sensors``, ``empathy.edge``,
``empathy.models``, ``empathy.host``, ``empathy.calibration``, ``empathy.bench``. This core
holds only what both sides share: the wire format, config loading, clocks and logging.
"""

__version__ = "0.1.0"
