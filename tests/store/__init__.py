"""Tests of bgremover.store."""
