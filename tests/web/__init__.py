"""Tests of bgremover.web."""
