"""Tests of bgremover.service."""
