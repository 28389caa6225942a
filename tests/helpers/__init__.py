"""Helpers shared by test modules of several areas (not fixtures: plain functions to import)."""
