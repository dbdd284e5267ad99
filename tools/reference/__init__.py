"""Generators for the synthetic reference data under data/reference (labelled synthetic)."""
