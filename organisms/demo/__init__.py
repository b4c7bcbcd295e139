"""Demo and benchmark species: the real catalogue shipped in demo_data/ with its taxonomy (catalogue.py), and
synthetic bulk records (synthetic.py)."""

from .catalogue import load_organisms
from .synthetic import SYNTHETIC_LINEAGES, synthetic_organisms

__all__ = ["SYNTHETIC_LINEAGES", "load_organisms", "synthetic_organisms"]
