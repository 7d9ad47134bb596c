"""Shipped .tflite models, their model cards, and the scripts that rebuild them."""

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
