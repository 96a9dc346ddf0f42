"""complaint-outcomes: predict ombudsman complaint outcomes and extract remedy features.

Stages, one module each, data flowing one way:
fetch -> parse -> store -> labels -> features -> model -> evaluate -> predict (-> serve, cli).
"""
__version__ = "0.1.0"
