"""Demo and benchmark species: the real catalogue shipped in demo_data/ with its taxonomy (catalogue.py), and
synthetic bulk records in the shape of a real checklist (synthetic.py)."""

from .catalogue import load_organisms
from .synthetic import delete_synthetic_organisms, synthetic_organisms

__all__ = ["delete_synthetic_organisms", "load_organisms", "synthetic_organisms"]
