"""Remedy features and not-investigated reasons, found by rules on a blank spaCy pipeline.

``extract(text)`` is the one entry point; the spaCy factory ``"remedy_features"`` and the scikit-learn transformer
``RemedyFeatures`` run the same component. The pattern table is ``patterns.py``; scoring is ``scoring.py``.
"""
from pipeline.features.extract import (
    COMPONENT_NAME,
    MAX_CHARS,
    ExtractionError,
    RemedyFeatures,
    build_nlp,
    extract,
    extract_many,
    extract_reasons,
    extract_remedies,
    get_nlp,
)

__all__ = [
    "COMPONENT_NAME", "MAX_CHARS", "ExtractionError", "RemedyFeatures", "build_nlp", "extract", "extract_many",
    "extract_reasons", "extract_remedies", "get_nlp",
]
