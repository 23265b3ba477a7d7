"""Tests of bgremover.jobs."""
