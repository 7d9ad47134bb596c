"""Playback: decode segments, grade through OpenColorIO, output gaplessly via GStreamer."""
