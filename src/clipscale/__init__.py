"""clipscale: reproducible scaling laws for contrastive language-image (CLIP) models.

Stages (data flows one way): zoo / compute -> data -> train -> evaluate -> laws -> study -> report.
"""
__version__ = "0.1.0"
